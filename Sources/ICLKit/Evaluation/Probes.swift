import Foundation
import ICLCore

/// Mechanism probes (PAPER.md §5, experiments E6 and E7), measured on the host from the weights and
/// fresh prompts through the CPU reference.
public struct MechanismProbe: Sendable {
    /// Mean over prompts of the summed attention on context columns that share the query's relevant
    /// pattern, and on the others (E6). The two add up to 1.
    public var sameAttention: Double
    /// Mean summed attention on the context columns that do not share the query's relevant pattern (E6).
    public var otherAttention: Double
    /// Mean ‖W_Q p_q‖ and ‖W_K p_i‖, and the means of their projections onto the column's own relevant
    /// pattern, [μ/β; 0]ᵀ W p (E6).
    public var queryNorm: Double
    /// Mean ‖W_K p_i‖ over context columns (E6).
    public var keyNorm: Double
    /// Mean projection of W_Q p_q onto the query's relevant pattern (E6).
    public var queryProjection: Double
    /// Mean projection of W_K p_i onto each column's own relevant pattern (E6).
    public var keyProjection: Double
    /// Per neuron (row of W_O W_V): magnitude and angle (radians) of the first d_X coordinates to μ̄, and of
    /// the last d_Y coordinates to q (E7).
    public var featureMagnitude: [Double]
    /// Per neuron [m]: angle (radians) of the first d_X coordinates to μ̄ (E7).
    public var featureAngle: [Double]
    /// Per neuron [m]: magnitude of the last d_Y coordinates (E7).
    public var labelMagnitude: [Double]
    /// Per neuron [m]: angle (radians) of the last d_Y coordinates to q (E7).
    public var labelAngle: [Double]
    /// The fixed output weights a_i, for reading the label angles (≈ 0 for a_i > 0, ≈ π for a_i < 0).
    public var a: [Double]

    /// A JSON-ready record of the probes, keyed in snake_case (without `a`).
    public var record: [String: Any] {
        ["same_attention": sameAttention, "other_attention": otherAttention, "query_norm": queryNorm,
         "key_norm": keyNorm, "query_projection": queryProjection, "key_projection": keyProjection,
         "feature_magnitude": featureMagnitude, "feature_angle": featureAngle,
         "label_magnitude": labelMagnitude, "label_angle": labelAngle]
    }
}

/// Mechanism probes of the one-layer model, on the host through the CPU reference.
public enum Probes {
    /// The relevant pattern of the column starting at x[col]: the largest |x · μ_j| over the `count` rows of
    /// `relevant` [count, dX] (the irrelevant part is orthogonal to every μ).
    static func relevantPattern(_ x: [Double], _ col: Int, dX: Int, relevant: [Double], count nR: Int) -> Int {
        var best = 0, bestDot = -Double.infinity
        for j in 0..<nR {
            var dot = 0.0
            for t in 0..<dX { dot += x[col + t] * relevant[j * dX + t] }
            if abs(dot) > bestDot { bestDot = abs(dot); best = j }
        }
        return best
    }

    /// Probes `w` on `prompts` fresh prompts of `spec` (drawn at step 0 of the spec's stream).
    public static func measure(_ w: ModelWeights<Float>, config: Config, bank: PatternBank, spec: PromptSpec,
                               prompts count: Int = 256) -> MechanismProbe {
        let d = w.d, dX = config.dX, l = spec.length
        let L = config.attendQuery ? l + 1 : l
        let batch = PromptSampler.sample(spec, step: 0, batch: count)
        let wd: ModelWeights<Double> = w.converted()
        let att = ReferenceAttention.forward(prompts: batch.prompts.map(Double.init), batch: count, length: l, d: d,
                                             attended: L, WQ: wd.WQ, WK: wd.WK)
        let nR = spec.nRelevant
        let beta = Double(config.beta)
        // A column's relevant pattern: the largest |x · μ_j| (the irrelevant part is orthogonal to all μ).
        let x = batch.prompts.map(Double.init), relevant = spec.relevant.map(Double.init)
        func pattern(_ col: Int) -> Int { relevantPattern(x, col, dX: dX, relevant: relevant, count: nR) }
        func apply(_ W: [Double], _ col: Int) -> [Double] {
            var out = [Double](repeating: 0, count: d)
            for i in 0..<d {
                var acc = 0.0
                for j in 0..<d { acc += W[i * d + j] * x[col + j] }
                out[i] = acc
            }
            return out
        }
        func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        func projection(_ v: [Double], _ j: Int) -> Double {
            var dot = 0.0
            for t in 0..<dX { dot += v[t] * relevant[j * dX + t] }
            return dot / (beta * beta)
        }
        var same = 0.0, qn = 0.0, kn = 0.0, qp = 0.0, kp = 0.0
        var keys = 0
        for b in 0..<count {
            let base = b * (l + 1) * d, q = base + l * d
            let pq = pattern(q)
            let u = apply(wd.WQ, q)
            qn += norm(u)
            qp += projection(u, pq)
            for s in 0..<L {
                let col = base + s * d
                let ps = pattern(col)
                if ps == pq { same += att.attn[b * L + s] }
                if s < l {
                    let k = apply(wd.WK, col)
                    kn += norm(k)
                    kp += projection(k, ps)
                    keys += 1
                }
            }
        }
        // Rows of W_O W_V, split into the feature (first d_X) and label (last d_Y) parts.
        let mean = bank.idrMean.map(Double.init), q = bank.q.map(Double.init)
        func angle(_ v: ArraySlice<Double>, _ ref: [Double]) -> Double {
            let dot = zip(v, ref).reduce(0.0) { $0 + $1.0 * $1.1 }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot() * norm(ref)
            return n > 0 ? acos(max(-1, min(1, dot / n))) : .pi / 2
        }
        var fm: [Double] = [], fa: [Double] = [], lm: [Double] = [], la: [Double] = []
        for n in 0..<w.m {
            var row = [Double](repeating: 0, count: d)
            for j in 0..<d {
                var acc = 0.0
                for k in 0..<d { acc += wd.WO[n * d + k] * wd.WV[k * d + j] }
                row[j] = acc
            }
            let feature = row[0..<dX], label = row[dX..<d]
            fm.append(feature.reduce(0) { $0 + $1 * $1 }.squareRoot())
            fa.append(angle(feature, mean))
            lm.append(label.reduce(0) { $0 + $1 * $1 }.squareRoot())
            la.append(angle(label, q))
        }
        let n = Double(count)
        return MechanismProbe(sameAttention: same / n, otherAttention: 1 - same / n, queryNorm: qn / n,
                              keyNorm: kn / Double(max(keys, 1)), queryProjection: qp / n,
                              keyProjection: kp / Double(max(keys, 1)), featureMagnitude: fm, featureAngle: fa,
                              labelMagnitude: lm, labelAngle: la, a: wd.a)
    }
}
