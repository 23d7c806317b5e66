/// CPU reference: batched softmax attention of the one-layer model (PAPER.md §2), one prompt at a time.
///
/// For a prompt P = [p_1 … p_l p_q] (columns of length d):
///   u = W_Q p_q,  v = W_Kᵀ u,  s_i = p_i · v = (W_K p_i)ᵀ (W_Q p_q),  attn = softmax(s),  c = Σ_i attn_i p_i
/// over the L = l context columns (L = l + 1 with `attendQuery`, the query attending to itself).
public enum ReferenceAttention {
    /// Forward outputs, all batched: u, v, c [B, d]; attn [B, L].
    public struct Forward<T: RefReal> {
        public var u: [T]
        public var v: [T]
        public var attn: [T]
        public var c: [T]
    }

    /// Backward outputs: dv, du [B, d] and the weight gradients dW_Q, dW_K [d, d] summed over the batch.
    public struct Backward<T: RefReal> {
        public var dv: [T]
        public var du: [T]
        public var dWQ: [T]
        public var dWK: [T]
    }

    /// prompts: [B, l+1, d]; WQ, WK: [d, d]; L: attended columns (l or l+1).
    public static func forward<T: RefReal>(prompts: [T], batch B: Int, length l: Int, d: Int, attended L: Int,
                                           WQ: [T], WK: [T]) -> Forward<T> {
        var out = Forward<T>(u: .init(repeating: 0, count: B * d), v: .init(repeating: 0, count: B * d),
                             attn: .init(repeating: 0, count: B * L), c: .init(repeating: 0, count: B * d))
        for b in 0..<B {
            let p = b * (l + 1) * d           // first column of prompt b
            let q = p + l * d                 // query column
            for i in 0..<d {                  // u = W_Q p_q
                var acc: T = 0
                for j in 0..<d { acc += WQ[i * d + j] * prompts[q + j] }
                out.u[b * d + i] = acc
            }
            for j in 0..<d {                  // v = W_Kᵀ u
                var acc: T = 0
                for i in 0..<d { acc += WK[i * d + j] * out.u[b * d + i] }
                out.v[b * d + j] = acc
            }
            var scores = [T](repeating: 0, count: L)
            for s in 0..<L {                  // s_i = p_i · v
                var acc: T = 0
                for j in 0..<d { acc += prompts[p + s * d + j] * out.v[b * d + j] }
                scores[s] = acc
            }
            let top = scores.max()!
            var total: T = 0
            for s in 0..<L { scores[s] = T.exponential(scores[s] - top); total += scores[s] }
            for s in 0..<L {
                let w = scores[s] / total
                out.attn[b * L + s] = w
                for j in 0..<d { out.c[b * d + j] += w * prompts[p + s * d + j] }
            }
        }
        return out
    }

    /// dc: [B, d], the loss gradient with respect to c.
    public static func backward<T: RefReal>(prompts: [T], batch B: Int, length l: Int, d: Int, attended L: Int,
                                            WQ: [T], WK: [T], forward f: Forward<T>, dc: [T]) -> Backward<T> {
        var out = Backward<T>(dv: .init(repeating: 0, count: B * d), du: .init(repeating: 0, count: B * d),
                              dWQ: .init(repeating: 0, count: d * d), dWK: .init(repeating: 0, count: d * d))
        for b in 0..<B {
            let p = b * (l + 1) * d, q = p + l * d
            // dattn_s = p_s · dc;  ds_s = attn_s (dattn_s − Σ_k attn_k dattn_k)
            var dattn = [T](repeating: 0, count: L)
            var mean: T = 0
            for s in 0..<L {
                var acc: T = 0
                for j in 0..<d { acc += prompts[p + s * d + j] * dc[b * d + j] }
                dattn[s] = acc
                mean += f.attn[b * L + s] * acc
            }
            for s in 0..<L {                  // dv = Σ_s ds_s p_s
                let ds = f.attn[b * L + s] * (dattn[s] - mean)
                for j in 0..<d { out.dv[b * d + j] += ds * prompts[p + s * d + j] }
            }
            for i in 0..<d {                  // du = W_K dv
                var acc: T = 0
                for j in 0..<d { acc += WK[i * d + j] * out.dv[b * d + j] }
                out.du[b * d + i] = acc
            }
            for i in 0..<d {                  // dW_K += u dvᵀ;  dW_Q += du p_qᵀ
                for j in 0..<d {
                    out.dWK[i * d + j] += f.u[b * d + i] * out.dv[b * d + j]
                    out.dWQ[i * d + j] += out.du[b * d + i] * prompts[q + j]
                }
            }
        }
        return out
    }
}
