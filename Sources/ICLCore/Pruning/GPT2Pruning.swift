/// Neuron pruning of the GPT-2-style model: a neuron is one hidden unit j of a block's MLP (row j of fc,
/// entry j of its bias, column j of fc2). Its magnitude is ‖fc row j‖ · ‖fc2 column j‖, the scale of its
/// contribution to the residual stream. Each block loses ⌊R·4W⌋ neurons: the smallest (magnitude) or a
/// seeded random set. The shapes stay (the pruned units are zeroed, and so are their AdamW moments), so a
/// pruned checkpoint loads everywhere an unpruned one does.
public enum GPT2Pruning {
    /// [layers][4W] neuron magnitudes.
    public static func magnitudes(_ w: GPT2Weights<Float>) -> [[Float]] {
        let W = w.shape.width, H4 = w.shape.mlpWidth
        return w.blocks.map { b in
            (0..<H4).map { j in
                var inNorm: Double = 0, outNorm: Double = 0
                for i in 0..<W {
                    let a = Double(b.fcWeight[j * W + i]), o = Double(b.fc2Weight[i * H4 + j])
                    inNorm += a * a
                    outNorm += o * o
                }
                return Float((inNorm * outNorm).squareRoot())
            }
        }
    }

    /// The pruned neurons of each block, in increasing order (ranked by `Pruning.order`, the block as the random
    /// stream's group). Throws when the rate is outside [0, 1).
    public static func pruned(_ w: GPT2Weights<Float>, method: Pruning.Method, rate: Double, seed: UInt64) throws -> [[Int]] {
        let count = try Pruning.prunedCount(rate: rate, of: w.shape.mlpWidth)
        return magnitudes(w).enumerated().map { layer, mags in
            Pruning.order(magnitudes: mags, method: method, seed: seed, group: layer).prefix(count).sorted()
        }
    }

    /// The checkpoint with the given neurons of each block zeroed (weights and AdamW moments).
    public static func apply(_ c: GPT2Checkpoint, pruned: [[Int]]) -> GPT2Checkpoint {
        var out = c
        let W = c.weights.shape.width, H4 = c.weights.shape.mlpWidth
        // Zero through the packed layout, so the AdamW moments (same order) are zeroed in the same places.
        var offsets: [String: Int] = [:]
        var at = 0
        for t in GPT2Weights<Float>.layout(c.weights.shape) { offsets[t.name] = at; at += t.count }
        var w = c.weights.packed
        for (layer, neurons) in pruned.enumerated() {
            let fc = offsets["block\(layer).mlp.fc.weight"]!, fcBias = offsets["block\(layer).mlp.fc.bias"]!
            let fc2 = offsets["block\(layer).mlp.fc2.weight"]!
            for j in neurons {
                var indices = (0..<W).map { fc + j * W + $0 } + [fcBias + j]
                indices += (0..<W).map { fc2 + $0 * H4 + j }
                for k in indices { w[k] = 0; out.adam.m[k] = 0; out.adam.v[k] = 0 }
            }
        }
        out.weights = GPT2Weights(shape: c.weights.shape, packed: w)
        return out
    }
}
