/// One batch of prompts. `prompts` is [B, l+1, d] row-major (query column last, its label slot zero),
/// `labels` is [B] with the query's exact label z ∈ {+1, −1}.
public struct PromptBatch: Equatable, Sendable {
    public var prompts: [Float]
    public var labels: [Float]
    public let batch: Int
    public let length: Int
    public let d: Int

    public init(prompts: [Float], labels: [Float], batch: Int, length: Int, d: Int) {
        self.prompts = prompts; self.labels = labels; self.batch = batch; self.length = length; self.d = d
    }
}

/// The Swift twin of `Kernels/sampler.cl`: prompt `b` of step `step` is a pure function of
/// (spec, step, b) through Philox, so host and device agree bit for bit.
///
/// Random words per prompt: block (0xFFFFFFFF, b, step, stream) picks the task (word 0) and whether
/// the query has pattern a or b (word 1, bit 0). Block (j, b, step, stream) draws column j: word 0 the
/// pattern category, word 1 the irrelevant pattern, word 2 κ, word 3 the "other" pattern (high bits)
/// and its random label (bit 0).
public enum PromptSampler {
    public static func sample(_ spec: PromptSpec, step: Int, batch: Int, firstPrompt: Int = 0) -> PromptBatch {
        let cols = spec.length + 1, d = spec.d
        var prompts = [Float](repeating: 0, count: batch * cols * d)
        var labels = [Float](repeating: 0, count: batch)
        for b in 0..<batch {
            labels[b] = fill(spec, step: step, prompt: firstPrompt + b, into: &prompts, at: b * cols * d)
        }
        return PromptBatch(prompts: prompts, labels: labels, batch: batch, length: spec.length, d: d)
    }

    /// Writes one prompt's (l+1)·d values at `offset` and returns the query label.
    static func fill(_ s: PromptSpec, step: Int, prompt: Int, into out: inout [Float], at offset: Int) -> Float {
        let key = s.seed, stream = s.stream
        let stepWord = UInt32(truncatingIfNeeded: step), promptWord = UInt32(truncatingIfNeeded: prompt)
        let head = Philox.block(0xFFFF_FFFF, promptWord, stepWord, stream, key: key)
        let task = s.tasks[Philox.below(head.0, s.tasks.count)]
        let queryIsA = (head.1 & 1) == 0
        let nR = s.nRelevant, nI = s.nIrrelevant
        for j in 0...s.length {
            let r = Philox.block(UInt32(j), promptWord, stepWord, stream, key: key)
            var pattern: Int
            var label: Float
            if j == s.length {
                pattern = queryIsA ? task.a : task.b
                label = 0
            } else {
                let u = Philox.unitFloat(r.0)
                if u < s.alpha * 0.5 {
                    pattern = task.a; label = 1
                } else if u < s.alpha || nR <= 2 {
                    // With only two relevant patterns there is no "other" one: fall back to b.
                    pattern = task.b; label = -1
                } else {
                    // The o-th relevant pattern other than a and b, with a fair random label.
                    var o = Philox.below(r.3, nR - 2)
                    pattern = -1
                    for p in 0..<nR where p != task.a && p != task.b {
                        if o == 0 { pattern = p; break }
                        o -= 1
                    }
                    label = (r.3 & 1) == 0 ? 1 : -1
                }
            }
            let k = Philox.below(r.1, nI)
            let kappa = s.K * (2 * Philox.unitFloat(r.2) - 1)
            let col = offset + j * s.d
            for t in 0..<s.dX {
                out[col + t] = s.relevant[pattern * s.dX + t] + kappa * s.irrelevant[k * s.dX + t]
            }
            for t in 0..<s.dY {
                out[col + s.dX + t] = label * s.q[t]
            }
        }
        return queryIsA ? 1 : -1
    }
}
