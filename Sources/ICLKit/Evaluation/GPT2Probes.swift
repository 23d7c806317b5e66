import ICLCore

/// The GPT-2-style model's attention mechanism (PAPER.md §6, E8): for each block and head, the query token's
/// attention (mean over prompts) summed over the context tokens that share the query's relevant pattern.
/// Measured on the host through the CPU reference.
public struct GPT2AttentionProbe: Sendable {
    /// [layers][heads]: each head's summed attention on same-pattern contexts.
    public var headSameAttention: [[Double]]

    /// [layers]: the mean over heads. One head fully on same-pattern tokens and one at chance averages to
    /// ≈0.7, so a claim about "a layer's attention" is judged on both this and `bestHeadSameAttention`.
    public var sameAttention: [Double] { headSameAttention.map { $0.reduce(0, +) / Double(max(1, $0.count)) } }

    /// [layers]: the largest head's value.
    public var bestHeadSameAttention: [Double] { headSameAttention.map { $0.max() ?? .nan } }

    /// A JSON-ready record: `"layer_same_attention"` (mean over heads) and `"head_same_attention"`
    /// ([layers][heads]).
    public var record: [String: Any] { ["layer_same_attention": sameAttention, "head_same_attention": headSameAttention] }
}

/// Attention probes of the GPT-2-style model, on the host through GPT2Reference.
public enum GPT2Probes {
    /// Probes `w` on `count` fresh prompts of `spec` (drawn at step 0 of the spec's stream).
    public static func measure(_ w: GPT2Weights<Float>, spec: PromptSpec, prompts count: Int = 128) -> GPT2AttentionProbe {
        let l = spec.length, n = l + 1, d = spec.d, H = w.shape.heads
        let batch = PromptSampler.sample(spec, step: 0, batch: count)
        let trace = GPT2Reference.forward(w, prompts: batch.prompts, batch: count, length: l)
        let x = batch.prompts.map(Double.init), relevant = spec.relevant.map(Double.init)
        var same = [[Double]](repeating: [Double](repeating: 0, count: H), count: w.shape.layers)
        for b in 0..<count {
            let base = b * n * d
            let pq = Probes.relevantPattern(x, base + l * d, dX: spec.dX, relevant: relevant, count: spec.nRelevant)
            let shares = (0..<l).map {
                Probes.relevantPattern(x, base + $0 * d, dX: spec.dX, relevant: relevant, count: spec.nRelevant) == pq
            }
            for (k, block) in trace.blocks.enumerated() {
                for h in 0..<H {
                    let row = ((b * H + h) * n + l) * n      // probs[b, h, query, ·]
                    for s in 0..<l where shares[s] { same[k][h] += Double(block.attention.probs[row + s]) }
                }
            }
        }
        return GPT2AttentionProbe(headSameAttention: same.map { $0.map { $0 / Double(count) } })
    }
}
