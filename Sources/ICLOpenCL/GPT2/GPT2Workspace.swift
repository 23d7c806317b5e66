import ICLCore

/// Device buffers of the GPT-2-style model for up to `capacity` prompts of up to `shape.maxTokens` tokens:
/// every forward activation the backward pass needs, per block, and the gradients flowing back. Rows are
/// prompts × tokens (n = B·T), row-major as in `GPT2Trace`; a batch of B prompts of T tokens uses the first
/// B·T rows.
public final class GPT2Workspace {
    /// One block's saved forward activations (`GPT2BlockTrace`).
    public struct Block {
        /// LN1(h) [n, W] and its row statistics [n].
        public let ln1, ln1Mean, ln1Rstd: CLBuffer<Float>
        /// q | k | v [n, 3W].
        public let qkv: CLBuffer<Float>
        /// Attention probabilities [B, H, T, T] (laid out for the batch's T).
        public let probs: CLBuffer<Float>
        /// Attention output before the projection [n, W].
        public let attention: CLBuffer<Float>
        /// x = h + proj(attention) [n, W].
        public let x: CLBuffer<Float>
        /// LN2(x) [n, W] and its row statistics [n].
        public let ln2, ln2Mean, ln2Rstd: CLBuffer<Float>
        /// GELU'(fc) and GELU(fc) of the MLP pre-activation fc [n, 4W]: the forward keeps the slope rather than
        /// fc itself, which the backward needs only through it.
        public let geluSlope, gelu: CLBuffer<Float>
    }

    public let shape: GPT2Shape
    public let capacity: Int
    /// [B, T, d] and [B].
    public let prompts, labels: CLBuffer<Float>
    /// h[0] = read-in output, h[i + 1] = block i output. [n, W] each
    public let h: [CLBuffer<Float>]
    public let blocks: [Block]
    /// The read-out: LN_f at the query tokens [B, W], its statistics, F, the hinge's dF and per-prompt terms [B],
    /// and (mean loss, errors) [2].
    public let head: GPT2Program.HeadBuffers
    /// Backward: ∂loss/∂h of the current block boundary [n, W]; ∂loss/∂x [n, W]; the gradient into a
    /// LayerNorm's output [n, W]; into the attention output [n, W]; into q | k | v [n, 3W]; into the GELU
    /// pre-activation [n, 4W]; score gradients [B, H, T, T].
    public let dh, dx, dln, dAttention, dqkv, dfc, dScores: CLBuffer<Float>

    public init(context: CLContext, shape s: GPT2Shape, capacity B: Int) throws {
        shape = s
        capacity = B
        let n = B * s.maxTokens, W = s.width, M = s.mlpWidth
        let square = B * s.heads * s.maxTokens * s.maxTokens
        func buf(_ count: Int, _ label: String) throws -> CLBuffer<Float> {
            try context.buffer(Float.self, count: count, label: label)
        }
        prompts = try buf(n * s.d, "GPT-2 prompts [\(B), \(s.maxTokens), \(s.d)]")
        labels = try buf(B, "GPT-2 labels")
        h = try (0...s.layers).map { try buf(n * W, "GPT-2 h\($0) [\(n), \(W)]") }
        blocks = try (0..<s.layers).map { i in
            Block(ln1: try buf(n * W, "block\(i) ln1"), ln1Mean: try buf(n, "block\(i) ln1 mean"),
                  ln1Rstd: try buf(n, "block\(i) ln1 rstd"), qkv: try buf(3 * n * W, "block\(i) qkv"),
                  probs: try buf(square, "block\(i) attention probabilities"),
                  attention: try buf(n * W, "block\(i) attention"), x: try buf(n * W, "block\(i) x"),
                  ln2: try buf(n * W, "block\(i) ln2"), ln2Mean: try buf(n, "block\(i) ln2 mean"),
                  ln2Rstd: try buf(n, "block\(i) ln2 rstd"), geluSlope: try buf(n * M, "block\(i) GELU'(fc)"),
                  gelu: try buf(n * M, "block\(i) gelu"))
        }
        head = GPT2Program.HeadBuffers(labels: labels, lnfY: try buf(B * W, "lnf [\(B), \(W)]"),
                                       lnfMean: try buf(B, "lnf mean"), lnfRstd: try buf(B, "lnf rstd"),
                                       F: try buf(B, "F"), dF: try buf(B, "dF"), lossTerm: try buf(B, "loss terms"),
                                       errTerm: try buf(B, "error terms"), stats: try buf(2, "stats"))
        dh = try buf(n * W, "dh")
        dx = try buf(n * W, "dx")
        dln = try buf(n * W, "dln")
        dAttention = try buf(n * W, "dattention")
        dqkv = try buf(3 * n * W, "dqkv")
        dfc = try buf(n * M, "dfc")
        dScores = try buf(square, "dscores")
    }
}
