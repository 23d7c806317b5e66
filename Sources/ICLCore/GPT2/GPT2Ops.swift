/// CPU reference: the GPT-2-style model's ops, each a forward and a backward on flat row-major arrays.
/// These are the units the OpenCL kernels are checked against one by one. Backward functions return
/// gradients summed over every row (batch × tokens) for parameters and per row for inputs.
public enum GPT2Ops {
    // MARK: Matmul (linear layer)

    /// dX [n, i], dW [o, i], db [o].
    public struct MatmulBackward<T: RefReal> {
        public var dx: [T]
        public var dWeight: [T]
        public var dBias: [T]
    }

    /// Y[r, k] = Σ_j X[r, j] W[k, j] + b[k], i.e. Y = X Wᵀ + b.  x: [n, i]; weight: [o, i]; bias: [o] → [n, o].
    public static func matmul<T: RefReal>(_ x: [T], rows n: Int, inputs i: Int, outputs o: Int,
                                          weight: [T], bias: [T]) -> [T] {
        precondition(x.count == n * i && weight.count == o * i && bias.count == o)
        var y = [T](repeating: 0, count: n * o)
        x.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                y.withUnsafeMutableBufferPointer { y in
                    for r in 0..<n {
                        for k in 0..<o {
                            var acc = bias[k]
                            for j in 0..<i { acc += x[r * i + j] * w[k * i + j] }
                            y[r * o + k] = acc
                        }
                    }
                }
            }
        }
        return y
    }

    /// dX = dY W,  dW = dYᵀ X,  db = Σ_rows dY.  dy: [n, o].
    public static func matmulBackward<T: RefReal>(_ x: [T], rows n: Int, inputs i: Int, outputs o: Int,
                                                  weight: [T], dy: [T]) -> MatmulBackward<T> {
        precondition(x.count == n * i && weight.count == o * i && dy.count == n * o)
        var dx = [T](repeating: 0, count: n * i), dW = [T](repeating: 0, count: o * i)
        var db = [T](repeating: 0, count: o)
        x.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                dy.withUnsafeBufferPointer { dy in
                    dx.withUnsafeMutableBufferPointer { dx in
                        dW.withUnsafeMutableBufferPointer { dW in
                            for r in 0..<n {
                                for k in 0..<o {
                                    let g = dy[r * o + k]
                                    db[k] += g
                                    for j in 0..<i {
                                        dx[r * i + j] += g * w[k * i + j]    // dX[r] += dY[r, k] W[k]
                                        dW[k * i + j] += g * x[r * i + j]    // dW[k] += dY[r, k] X[r]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return MatmulBackward(dx: dx, dWeight: dW, dBias: db)
    }

    // MARK: LayerNorm

    /// y [n, w]; mean, rstd [n] (rstd = 1/√(var + eps), biased variance).
    public struct LayerNormForward<T: RefReal> {
        public var y: [T]
        public var mean: [T]
        public var rstd: [T]
    }

    /// dX [n, w]; dγ, dβ [w].
    public struct LayerNormBackward<T: RefReal> {
        public var dx: [T]
        public var dGain: [T]
        public var dBias: [T]
    }

    /// LayerNorm's ε.
    public static let layerNormEps = 1e-5

    /// y = γ ⊙ (x − mean)·rstd + β per row.  x: [n, w]; gain, bias: [w].
    public static func layerNorm<T: RefReal>(_ x: [T], rows n: Int, width w: Int, gain: [T], bias: [T]) -> LayerNormForward<T> {
        precondition(x.count == n * w && gain.count == w && bias.count == w)
        var out = LayerNormForward<T>(y: .init(repeating: 0, count: n * w), mean: .init(repeating: 0, count: n),
                                      rstd: .init(repeating: 0, count: n))
        let eps = T(layerNormEps)
        for r in 0..<n {
            var mean: T = 0
            for j in 0..<w { mean += x[r * w + j] }
            mean /= T(w)
            var variance: T = 0
            for j in 0..<w { let c = x[r * w + j] - mean; variance += c * c }
            variance /= T(w)
            let rstd = 1 / (variance + eps).squareRoot()
            out.mean[r] = mean
            out.rstd[r] = rstd
            for j in 0..<w { out.y[r * w + j] = gain[j] * ((x[r * w + j] - mean) * rstd) + bias[j] }
        }
        return out
    }

    /// With x̂ = (x − mean)·rstd and g = dy ⊙ γ:  dx = rstd (g − mean(g) − x̂ mean(g ⊙ x̂)),
    /// dγ = Σ_rows dy ⊙ x̂,  dβ = Σ_rows dy.  dy: [n, w].
    public static func layerNormBackward<T: RefReal>(_ x: [T], rows n: Int, width w: Int, gain: [T],
                                                     forward f: LayerNormForward<T>, dy: [T]) -> LayerNormBackward<T> {
        precondition(x.count == n * w && dy.count == n * w)
        var out = LayerNormBackward<T>(dx: .init(repeating: 0, count: n * w), dGain: .init(repeating: 0, count: w),
                                       dBias: .init(repeating: 0, count: w))
        for r in 0..<n {
            let mean = f.mean[r], rstd = f.rstd[r]
            var gMean: T = 0, gxMean: T = 0
            for j in 0..<w {
                let xhat = (x[r * w + j] - mean) * rstd
                let g = dy[r * w + j] * gain[j]
                gMean += g
                gxMean += g * xhat
                out.dGain[j] += dy[r * w + j] * xhat
                out.dBias[j] += dy[r * w + j]
            }
            gMean /= T(w)
            gxMean /= T(w)
            for j in 0..<w {
                let xhat = (x[r * w + j] - mean) * rstd
                out.dx[r * w + j] = rstd * (dy[r * w + j] * gain[j] - gMean - xhat * gxMean)
            }
        }
        return out
    }

    // MARK: GELU (tanh approximation, as GPT-2)

    /// tanh(u) = sign(u)(1 − e^{−2|u|})/(1 + e^{−2|u|}), from `exponential` alone (no overflow).
    @inline(__always)
    static func tanh<T: RefReal>(_ u: T) -> T {
        let e = T.exponential(-2 * abs(u))
        let t = (1 - e) / (1 + e)
        return u < 0 ? -t : t
    }

    static let geluC = 0.7978845608028654      // √(2/π)
    static let geluA = 0.044715

    /// y = ½ x (1 + tanh(√(2/π)(x + 0.044715 x³))), elementwise.
    public static func gelu<T: RefReal>(_ x: [T]) -> [T] {
        let c = T(geluC), a = T(geluA)
        return x.map { v in
            let t = tanh(c * (v + a * v * v * v))
            return T(0.5) * v * (1 + t)
        }
    }

    /// dx = dy · [½(1 + tanh u) + ½ x (1 − tanh² u) √(2/π)(1 + 3·0.044715 x²)],  u = √(2/π)(x + 0.044715 x³).
    public static func geluBackward<T: RefReal>(_ x: [T], dy: [T]) -> [T] {
        precondition(x.count == dy.count)
        let c = T(geluC), a = T(geluA), half = T(0.5)
        var dx = [T](repeating: 0, count: x.count)
        for k in x.indices {
            let v = x[k]
            let t = tanh(c * (v + a * v * v * v))
            let slope = half * (1 + t) + half * v * (1 - t * t) * c * (1 + 3 * a * v * v)
            dx[k] = dy[k] * slope
        }
        return dx
    }

    // MARK: Causal multi-head self-attention

    /// out [B, T, W] (heads side by side, head h in columns h·D..<(h+1)·D); probs [B, H, T, T]: softmax
    /// weight of token t on token u, zero for u > t.
    public struct AttentionForward<T: RefReal> {
        public var out: [T]
        public var probs: [T]
    }

    /// qkv: [B, T, 3W], per token q | k | v, each W = H·D wide (D = head dim).  For each prompt, head h and
    /// token t:  s_u = (q_t · k_u)/√D for u ≤ t,  p = softmax(s),  out_t = Σ_{u≤t} p_u v_u.
    public static func causalAttention<T: RefReal>(_ qkv: [T], batch B: Int, tokens n: Int, width W: Int,
                                                   heads H: Int) -> AttentionForward<T> {
        precondition(W % H == 0 && qkv.count == B * n * 3 * W)
        let D = W / H, scale = 1 / T(D).squareRoot()
        var out = AttentionForward<T>(out: .init(repeating: 0, count: B * n * W),
                                      probs: .init(repeating: 0, count: B * H * n * n))
        var scores = [T](repeating: 0, count: n)
        for b in 0..<B {
            for h in 0..<H {
                for t in 0..<n {
                    let q = (b * n + t) * 3 * W + h * D            // q_t of head h
                    var top = -T.infinity
                    for u in 0...t {
                        let k = (b * n + u) * 3 * W + W + h * D    // k_u of head h
                        var acc: T = 0
                        for j in 0..<D { acc += qkv[q + j] * qkv[k + j] }
                        scores[u] = acc * scale
                        top = max(top, scores[u])
                    }
                    var total: T = 0
                    for u in 0...t { scores[u] = T.exponential(scores[u] - top); total += scores[u] }
                    let row = ((b * H + h) * n + t) * n
                    let o = (b * n + t) * W + h * D
                    for u in 0...t {
                        let p = scores[u] / total
                        out.probs[row + u] = p
                        let v = (b * n + u) * 3 * W + 2 * W + h * D
                        for j in 0..<D { out.out[o + j] += p * qkv[v + j] }
                    }
                }
            }
        }
        return out
    }

    /// dqkv [B, T, 3W] from dout [B, T, W]:  dp_u = dout_t · v_u,  dv_u += p_u dout_t,
    /// ds_u = p_u (dp_u − Σ_k p_k dp_k),  dq_t += Σ_u ds_u k_u /√D,  dk_u += ds_u q_t /√D.
    public static func causalAttentionBackward<T: RefReal>(_ qkv: [T], batch B: Int, tokens n: Int, width W: Int,
                                                           heads H: Int, forward f: AttentionForward<T>,
                                                           dout: [T]) -> [T] {
        precondition(W % H == 0 && qkv.count == B * n * 3 * W && dout.count == B * n * W)
        let D = W / H, scale = 1 / T(D).squareRoot()
        var dqkv = [T](repeating: 0, count: qkv.count)
        var dp = [T](repeating: 0, count: n)
        for b in 0..<B {
            for h in 0..<H {
                for t in 0..<n {
                    let q = (b * n + t) * 3 * W + h * D
                    let o = (b * n + t) * W + h * D
                    let row = ((b * H + h) * n + t) * n
                    var weighted: T = 0                            // Σ_k p_k dp_k
                    for u in 0...t {
                        let v = (b * n + u) * 3 * W + 2 * W + h * D
                        var acc: T = 0
                        for j in 0..<D {
                            acc += dout[o + j] * qkv[v + j]
                            dqkv[v + j] += f.probs[row + u] * dout[o + j]
                        }
                        dp[u] = acc
                        weighted += f.probs[row + u] * acc
                    }
                    for u in 0...t {
                        let ds = f.probs[row + u] * (dp[u] - weighted) * scale
                        let k = (b * n + u) * 3 * W + W + h * D
                        for j in 0..<D {
                            dqkv[q + j] += ds * qkv[k + j]
                            dqkv[k + j] += ds * qkv[q + j]
                        }
                    }
                }
            }
        }
        return dqkv
    }

    // MARK: Residual

    /// a + b elementwise. Its backward passes dy unchanged to both inputs.
    public static func residualAdd<T: RefReal>(_ a: [T], _ b: [T]) -> [T] {
        precondition(a.count == b.count)
        var y = a
        for k in y.indices { y[k] += b[k] }
        return y
    }

    // MARK: Read-in

    /// dW_in [W, d], db_in [W], dpos [maxTokens, W] (rows ≥ T zero).
    public struct ReadInBackward<T: RefReal> {
        public var dWeight: [T]
        public var dBias: [T]
        public var dPos: [T]
    }

    /// h_{b,t} = W_in p_{b,t} + b_in + pos_t.  prompts: [B, T, d] (T = l + 1 columns); weight: [W, d];
    /// bias: [W]; pos: [maxTokens, W] with T ≤ maxTokens → [B, T, W].
    public static func readIn<T: RefReal>(_ prompts: [T], batch B: Int, tokens n: Int, d: Int, width W: Int,
                                          weight: [T], bias: [T], pos: [T]) -> [T] {
        precondition(prompts.count == B * n * d && pos.count >= n * W)
        var h = matmul(prompts, rows: B * n, inputs: d, outputs: W, weight: weight, bias: bias)
        for r in 0..<(B * n) {
            let t = r % n
            for j in 0..<W { h[r * W + j] += pos[t * W + j] }
        }
        return h
    }

    /// dW_in = Σ dh pᵀ,  db_in = Σ dh,  dpos_t = Σ_b dh_{b,t}.  dh: [B, T, W].
    public static func readInBackward<T: RefReal>(_ prompts: [T], batch B: Int, tokens n: Int, d: Int, width W: Int,
                                                  maxTokens: Int, dh: [T]) -> ReadInBackward<T> {
        precondition(prompts.count == B * n * d && dh.count == B * n * W && n <= maxTokens)
        var out = ReadInBackward<T>(dWeight: .init(repeating: 0, count: W * d), dBias: .init(repeating: 0, count: W),
                                    dPos: .init(repeating: 0, count: maxTokens * W))
        for r in 0..<(B * n) {
            let t = r % n
            for k in 0..<W {
                let g = dh[r * W + k]
                out.dBias[k] += g
                out.dPos[t * W + k] += g
                for j in 0..<d { out.dWeight[k * d + j] += g * prompts[r * d + j] }
            }
        }
        return out
    }

    // MARK: Query token and read-out

    /// The last (query) token of every prompt: h [B, T, W] → [B, W].
    public static func queryToken<T: RefReal>(_ h: [T], batch B: Int, tokens n: Int, width W: Int) -> [T] {
        precondition(h.count == B * n * W)
        var out = [T](repeating: 0, count: B * W)
        for b in 0..<B {
            for j in 0..<W { out[b * W + j] = h[((b * n) + n - 1) * W + j] }
        }
        return out
    }

    /// Scatters dq [B, W] back to the query rows of a zero [B, T, W].
    public static func queryTokenBackward<T: RefReal>(_ dq: [T], batch B: Int, tokens n: Int, width W: Int) -> [T] {
        precondition(dq.count == B * W)
        var dh = [T](repeating: 0, count: B * n * W)
        for b in 0..<B {
            for j in 0..<W { dh[((b * n) + n - 1) * W + j] = dq[b * W + j] }
        }
        return dh
    }

    /// dx [B, W]; dw_out [W]; db_out [1].
    public struct ReadOutBackward<T: RefReal> {
        public var dx: [T]
        public var dWeight: [T]
        public var dBias: [T]
    }

    /// F_b = w_out · x_b + b_out.  x: [B, W] (the final LayerNorm of the query token); weight: [W]; bias: [1] → [B].
    public static func readOut<T: RefReal>(_ x: [T], batch B: Int, width W: Int, weight: [T], bias: [T]) -> [T] {
        matmul(x, rows: B, inputs: W, outputs: 1, weight: weight, bias: bias)
    }

    /// dx_b = dF_b w_out,  dw_out = Σ_b dF_b x_b,  db_out = Σ_b dF_b.  dF: [B].
    public static func readOutBackward<T: RefReal>(_ x: [T], batch B: Int, width W: Int, weight: [T],
                                                   dF: [T]) -> ReadOutBackward<T> {
        let g = matmulBackward(x, rows: B, inputs: W, outputs: 1, weight: weight, dy: dF)
        return ReadOutBackward(dx: g.dx, dWeight: g.dWeight, dBias: g.dBias)
    }
}
