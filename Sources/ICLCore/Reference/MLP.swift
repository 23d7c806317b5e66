/// CPU reference: the value projection and ReLU MLP read-out of the one-layer model.
///
///   h = W_V c,  g = W_O h,  F = Σ_i a_i ReLU(g_i)
public enum ReferenceMLP {
    /// h: [B, d]; g: [B, m]; F: [B].
    public struct Forward<T: RefReal> {
        public var h: [T]
        public var g: [T]
        public var F: [T]
    }

    /// dg: [B, m]; dh, dc: [B, d]; dWV: [d, d] and dWO: [m, d] summed over the batch.
    public struct Backward<T: RefReal> {
        public var dg: [T]
        public var dh: [T]
        public var dc: [T]
        public var dWV: [T]
        public var dWO: [T]
    }

    /// c: [B, d]; WV: [d, d]; WO: [m, d]; a: [m].
    public static func forward<T: RefReal>(c: [T], batch B: Int, d: Int, m: Int,
                                           WV: [T], WO: [T], a: [T]) -> Forward<T> {
        var out = Forward<T>(h: .init(repeating: 0, count: B * d), g: .init(repeating: 0, count: B * m),
                             F: .init(repeating: 0, count: B))
        for b in 0..<B {
            for i in 0..<d {
                var acc: T = 0
                for j in 0..<d { acc += WV[i * d + j] * c[b * d + j] }
                out.h[b * d + i] = acc
            }
            var F: T = 0
            for n in 0..<m {
                var acc: T = 0
                for j in 0..<d { acc += WO[n * d + j] * out.h[b * d + j] }
                out.g[b * m + n] = acc
                F += a[n] * max(acc, 0)
            }
            out.F[b] = F
        }
        return out
    }

    /// dF: [B], the loss gradient with respect to each output.
    public static func backward<T: RefReal>(c: [T], batch B: Int, d: Int, m: Int, WV: [T], WO: [T], a: [T],
                                            forward f: Forward<T>, dF: [T]) -> Backward<T> {
        var out = Backward<T>(dg: .init(repeating: 0, count: B * m), dh: .init(repeating: 0, count: B * d),
                              dc: .init(repeating: 0, count: B * d), dWV: .init(repeating: 0, count: d * d),
                              dWO: .init(repeating: 0, count: m * d))
        for b in 0..<B {
            for n in 0..<m {                  // dg_n = dF a_n [g_n > 0]
                out.dg[b * m + n] = f.g[b * m + n] > 0 ? dF[b] * a[n] : 0
            }
            for j in 0..<d {                  // dh = W_Oᵀ dg
                var acc: T = 0
                for n in 0..<m { acc += WO[n * d + j] * out.dg[b * m + n] }
                out.dh[b * d + j] = acc
            }
            for j in 0..<d {                  // dc = W_Vᵀ dh
                var acc: T = 0
                for i in 0..<d { acc += WV[i * d + j] * out.dh[b * d + i] }
                out.dc[b * d + j] = acc
            }
            for n in 0..<m {                  // dW_O += dg hᵀ
                for j in 0..<d { out.dWO[n * d + j] += out.dg[b * m + n] * f.h[b * d + j] }
            }
            for i in 0..<d {                  // dW_V += dh cᵀ
                for j in 0..<d { out.dWV[i * d + j] += out.dh[b * d + i] * c[b * d + j] }
            }
        }
        return out
    }
}
