/// The one-layer model's parameters Ψ = (W_Q, W_K, W_V, W_O, a), row-major flat arrays.
/// W_Q, W_K, W_V: [d, d]; W_O: [m, d]; a: [m] (fixed during training).
public struct ModelWeights<T: RefReal>: Equatable {
    public var d: Int
    public var m: Int
    public var WQ: [T]
    public var WK: [T]
    public var WV: [T]
    public var WO: [T]
    public var a: [T]

    public init(d: Int, m: Int, WQ: [T], WK: [T], WV: [T], WO: [T], a: [T]) {
        precondition(WQ.count == d * d && WK.count == d * d && WV.count == d * d)
        precondition(WO.count == m * d && a.count == m)
        self.d = d; self.m = m
        self.WQ = WQ; self.WK = WK; self.WV = WV; self.WO = WO; self.a = a
    }

    /// PAPER.md §2 initialisation: W_Q = W_K = W_V = δI, W_O ~ N(0, ξ²), a = +1/√m for the first
    /// ⌈m/2⌉ neurons and −1/√m for the rest.
    public static func initial(_ c: Config) -> ModelWeights<T> {
        let d = c.d, m = c.m
        var eye = [T](repeating: 0, count: d * d)
        for i in 0..<d { eye[i * d + i] = T(c.delta) }
        var g = GaussianSequence(seed: c.seed, stream: .initWeights)
        let WO = g.next(m * d).map { T(Float($0) * c.xi) }
        let s = T(1 / Float(m).squareRoot())
        let a = (0..<m).map { $0 < (m + 1) / 2 ? s : -s }
        return ModelWeights(d: d, m: m, WQ: eye, WK: eye, WV: eye, WO: WO, a: a)
    }

    /// W_Q | W_K | W_V | W_O in one array: the device's parameter layout.
    public var packed: [T] {
        var out = WQ
        out.reserveCapacity(3 * d * d + m * d)
        out.append(contentsOf: WK)
        out.append(contentsOf: WV)
        out.append(contentsOf: WO)
        return out
    }

    /// Weights from the device layout W_Q | W_K | W_V | W_O.
    public init(packed p: [T], d: Int, m: Int, a: [T]) {
        let dd = d * d
        let WQ = Array(p[0..<dd]), WK = Array(p[dd..<(2 * dd)]), WV = Array(p[(2 * dd)..<(3 * dd)])
        let WO = Array(p[(3 * dd)...])
        self.init(d: d, m: m, WQ: WQ, WK: WK, WV: WV, WO: WO, a: a)
    }

    /// The same weights in another precision.
    public func converted<U: RefReal>(to: U.Type = U.self) -> ModelWeights<U> {
        ModelWeights<U>(d: d, m: m, WQ: WQ.map { U($0) }, WK: WK.map { U($0) }, WV: WV.map { U($0) },
                        WO: WO.map { U($0) }, a: a.map { U($0) })
    }
}

/// Gradients of the loss with respect to the trained weights (a is fixed).
public struct WeightGradients<T: RefReal>: Equatable {
    public var WQ: [T]
    public var WK: [T]
    public var WV: [T]
    public var WO: [T]

    public init(WQ: [T], WK: [T], WV: [T], WO: [T]) {
        self.WQ = WQ; self.WK = WK; self.WV = WV; self.WO = WO
    }

    /// The gradients in the device's parameter layout (W_Q | W_K | W_V | W_O).
    public var packed: [T] { WQ + WK + WV + WO }

    /// The same gradients in another precision.
    public func converted<U: RefReal>(to: U.Type = U.self) -> WeightGradients<U> {
        WeightGradients<U>(WQ: WQ.map { U($0) }, WK: WK.map { U($0) }, WV: WV.map { U($0) }, WO: WO.map { U($0) })
    }
}
