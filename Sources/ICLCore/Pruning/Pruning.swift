/// Neuron pruning (PAPER.md §4): a neuron is a row of W_O. Magnitude pruning removes the R·m rows of
/// smallest norm (‖W_O row‖, or ‖row of W_O W_V‖ with `by: "wowv"`); random pruning removes R·m rows
/// uniformly. A pruned model drops its rows for real: W_O and a shrink, and the checkpoint records the
/// original indices of the rows that remain.
public enum Pruning {
    public enum Method: String, CaseIterable, Sendable { case magnitude, random }

    /// ‖W_O(i,·)‖₂ or ‖(W_O W_V)(i,·)‖₂ for every neuron i. [m]
    public static func magnitudes(_ w: ModelWeights<Float>, by: String) -> [Float] {
        (0..<w.m).map { n in
            var sum: Double = 0
            for j in 0..<w.d {
                var x = Double(w.WO[n * w.d + j])
                if by == "wowv" {
                    x = 0
                    for k in 0..<w.d { x += Double(w.WO[n * w.d + k]) * Double(w.WV[k * w.d + j]) }
                }
                sum += x * x
            }
            return Float(sum.squareRoot())
        }
    }

    /// ⌊rate·n⌋, the neurons a rate removes of n. Throws when the rate is outside [0, 1).
    public static func prunedCount(rate: Double, of n: Int) throws -> Int {
        guard rate >= 0 && rate < 1 else {
            throw ConfigError("pruning rate \(rate) is out of range: it must be in [0, 1).")
        }
        return Int((rate * Double(n)).rounded(.down))
    }

    /// The order in which neurons are pruned, first to last: by increasing magnitude (ties by index), or a seeded
    /// random permutation (Fisher–Yates on a Philox stream, `group` telling apart the groups of one model, e.g. its
    /// layers), so the same seed prunes the same neurons on every machine. Both models rank through this.
    public static func order(magnitudes mags: [Float], method: Method, seed: UInt64, group: Int = 0) -> [Int] {
        let n = mags.count
        switch method {
        case .magnitude:
            return (0..<n).sorted { mags[$0] != mags[$1] ? mags[$0] < mags[$1] : $0 < $1 }
        case .random:
            var idx = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) {
                let r = Philox.block(UInt32(i), UInt32(group), 0, RNGStream.randomPruning.rawValue, key: seed)
                idx.swapAt(i, Int(UInt64(r.0) % UInt64(i + 1)))
            }
            return idx
        }
    }

    /// The neurons to keep, in increasing order, after pruning ⌊rate·m⌋ of them.
    /// Throws when the rate is outside [0, 1) or would leave no neuron.
    public static func keep(_ w: ModelWeights<Float>, method: Method, rate: Double, by: String,
                            seed: UInt64) throws -> [Int] {
        let pruned = try prunedCount(rate: rate, of: w.m)
        guard pruned < w.m else {
            throw ConfigError("pruning rate \(rate) would remove all \(w.m) neurons; use a smaller rate.")
        }
        let mags = method == .magnitude ? magnitudes(w, by: by) : [Float](repeating: 0, count: w.m)
        return order(magnitudes: mags, method: method, seed: seed).dropFirst(pruned).sorted()
    }

    /// A compacted checkpoint holding only the `keep` rows of W_O and entries of a and mask.
    public static func compact(_ c: Checkpoint, keep: [Int]) -> Checkpoint {
        let w = c.weights, d = w.d
        let WO = keep.flatMap { Array(w.WO[($0 * d)..<(($0 + 1) * d)]) }
        let weights = ModelWeights(d: d, m: keep.count, WQ: w.WQ, WK: w.WK, WV: w.WV, WO: WO, a: keep.map { w.a[$0] })
        let original = c.keptNeurons ?? Array(0..<w.m)
        return Checkpoint(config: c.config, weights: weights, step: c.step, mask: keep.map { c.mask[$0] },
                          keptNeurons: keep.map { original[$0] }, device: c.device)
    }
}
