/// The patterns of PAPER.md §1: IDR μ_j (norm β), IDI ν_k (unit), ODR μ′_j = (S1/2)(μ_{2j} + μ_{2j+1}),
/// ODI ν′ (an orthonormal basis of span{ν}), and the label vector q. All rows are length d_X (q: d_Y),
/// stored row-major as flat arrays.
public struct PatternBank: Equatable, Sendable {
    public let dX: Int
    public let dY: Int
    /// [M1, dX]
    public let idr: [Float]
    /// [M2, dX]
    public let idi: [Float]
    /// [M1ood, dX]
    public let odr: [Float]
    /// [M2, dX]
    public let odi: [Float]
    /// [dY], unit norm
    public let q: [Float]
    public let M1: Int, M2: Int, M1ood: Int

    public init(config c: Config) {
        dX = c.dX; dY = c.dY; M1 = c.M1; M2 = c.M2; M1ood = c.M1ood
        // Orthonormal rows of R^dX: identity, or Gram–Schmidt on a seeded Gaussian matrix (in Double).
        let rows: [[Double]]
        if c.basis == "identity" {
            rows = (0..<c.dX).map { i in (0..<c.dX).map { $0 == i ? 1.0 : 0.0 } }
        } else {
            var g = GaussianSequence(seed: c.seed, stream: .basis)
            rows = PatternBank.orthonormalize((0..<c.dX).map { _ in g.next(c.dX) })
        }
        let mu = (0..<c.M1).map { rows[$0].map { $0 * Double(c.beta) } }
        let nu = (0..<c.M2).map { rows[c.M1 + $0] }
        // ODI: ν′_k = Σ_j Q[k][j] ν_j with Q a random orthogonal M2×M2 matrix.
        var gm = GaussianSequence(seed: c.seed, stream: .oodIrrelevantMix)
        let mix = PatternBank.orthonormalize((0..<c.M2).map { _ in gm.next(c.M2) })
        let nuOOD = (0..<c.M2).map { k in
            (0..<c.dX).map { t in (0..<c.M2).reduce(0.0) { $0 + mix[k][$1] * nu[$1][t] } }
        }
        let muOOD = (0..<c.M1ood).map { j in
            (0..<c.dX).map { t in Double(c.S1) / 2 * (mu[2 * j][t] + mu[2 * j + 1][t]) }
        }
        var gq = GaussianSequence(seed: c.seed, stream: .labelVector)
        let qRaw = gq.next(c.dY)
        let qNorm = qRaw.reduce(0) { $0 + $1 * $1 }.squareRoot()
        idr = mu.flatMap { $0.map(Float.init) }
        idi = nu.flatMap { $0.map(Float.init) }
        odr = muOOD.flatMap { $0.map(Float.init) }
        odi = nuOOD.flatMap { $0.map(Float.init) }
        q = qRaw.map { Float($0 / qNorm) }
    }

    /// Modified Gram–Schmidt; rows in, orthonormal rows out.
    static func orthonormalize(_ input: [[Double]]) -> [[Double]] {
        var out: [[Double]] = []
        for var v in input {
            for u in out {
                let dot = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
                for i in v.indices { v[i] -= dot * u[i] }
            }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            out.append(v.map { $0 / n })
        }
        return out
    }

    /// μ̄, the mean of the IDR patterns [dX].
    public var idrMean: [Float] {
        (0..<dX).map { t in (0..<M1).reduce(Float(0)) { $0 + idr[$1 * dX + t] } / Float(M1) }
    }
}
