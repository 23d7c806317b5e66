import Foundation

/// L2-regularised logistic regression: minimises
///     L(w, b) = (1/l) Σ_i log(1 + exp(−y_i (w·x_i + b))) + (λ/2)‖w‖²   (the bias is not regularised)
/// by Newton's method (IRLS) with a backtracking line search, at most `iterations` steps, stopping
/// once ‖∇L‖₂ < `tolerance`. With λ > 0 and both classes present, L is strictly convex and coercive, so
/// the optimum is finite even on separable data. A single-class context predicts that class.
/// Prediction: +1 when w·x + b ≥ 0, else −1.
public struct LogisticRegression: PromptClassifier {
    public let lambda: Double
    public let iterations: Int
    public let tolerance: Double
    public var name: String { "logistic (λ=\(formatParameter(lambda)))" }

    public init(lambda: Double = 0.01, iterations: Int = 100, tolerance: Double = 1e-8) {
        precondition(lambda > 0, "logistic regression needs λ > 0")
        self.lambda = lambda
        self.iterations = iterations
        self.tolerance = tolerance
    }

    /// A fitted model: weights w [n], bias b, Newton steps taken and the final ‖∇L‖₂.
    public struct Fit {
        public var w: [Double]
        public var b: Double
        public var steps: Int
        public var gradientNorm: Double

        public func decision(_ x: [Double]) -> Double {
            var f = b
            for t in 0..<w.count { f += w[t] * x[t] }
            return f
        }
    }

    public func predict(xs: [Double], ys: [Double], n: Int, query: [Double]) -> Double {
        if let y = singleClass(ys) { return y }
        return fit(xs: xs, ys: ys, n: n).decision(query) >= 0 ? 1 : -1
    }

    /// Fits (w, b) on xs [l][n] and ys [l] (both classes expected; a single class drives b to ±∞ and
    /// stops at the iteration cap, which is why `predict` handles it first).
    public func fit(xs: [Double], ys: [Double], n: Int) -> Fit {
        let l = ys.count, p = n + 1               // θ = (w_0 … w_{n−1}, b)
        precondition(l >= 1 && xs.count == l * n, "logistic: bad shapes")
        var theta = [Double](repeating: 0, count: p)
        var g = [Double](repeating: 0, count: p)  // ∇L [p]
        var H = [Double](repeating: 0, count: p * p)  // ∇²L [p, p]
        var loss = objective(theta, xs, ys, n)
        var steps = 0
        var gnorm = gradientAndHessian(theta, xs, ys, n, &g, &H)
        while steps < iterations && gnorm >= tolerance {
            // Newton direction: H d = −g (H is positive definite).
            guard let dir = LogisticRegression.choleskySolve(H, g.map { -$0 }, p) else { break }
            var slope = 0.0
            for t in 0..<p { slope += g[t] * dir[t] }
            // Backtracking (Armijo) line search; full steps near the optimum.
            var step = 1.0, next = theta, nextLoss = loss, accepted = false
            for _ in 0..<60 {
                for t in 0..<p { next[t] = theta[t] + step * dir[t] }
                nextLoss = objective(next, xs, ys, n)
                if nextLoss <= loss + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            steps += 1
            if !accepted { break }                // no decrease left at double precision
            theta = next
            loss = nextLoss
            gnorm = gradientAndHessian(theta, xs, ys, n, &g, &H)
        }
        return Fit(w: Array(theta[0..<n]), b: theta[n], steps: steps, gradientNorm: gnorm)
    }

    /// L(θ) with a stable softplus.
    private func objective(_ theta: [Double], _ xs: [Double], _ ys: [Double], _ n: Int) -> Double {
        let l = ys.count
        var s = 0.0
        for i in 0..<l {
            var f = theta[n]
            for t in 0..<n { f += theta[t] * xs[i * n + t] }
            s += LogisticRegression.softplus(-ys[i] * f)
        }
        var reg = 0.0
        for t in 0..<n { reg += theta[t] * theta[t] }
        return s / Double(l) + 0.5 * lambda * reg
    }

    /// Fills g = ∇L and H = ∇²L at θ; returns ‖g‖₂.
    ///   with z_i = (x_i, 1), m_i = y_i θ·z_i, s_i = σ(−m_i):
    ///   g = −(1/l) Σ y_i s_i z_i + λ(w, 0),   H = (1/l) Σ s_i(1 − s_i) z_i z_iᵀ + λ diag(1, …, 1, 0)
    private func gradientAndHessian(_ theta: [Double], _ xs: [Double], _ ys: [Double], _ n: Int,
                                    _ g: inout [Double], _ H: inout [Double]) -> Double {
        let l = ys.count, p = n + 1, invL = 1.0 / Double(l)
        for t in 0..<p { g[t] = t < n ? lambda * theta[t] : 0 }
        for t in 0..<(p * p) { H[t] = 0 }
        for t in 0..<n { H[t * p + t] = lambda }
        var z = [Double](repeating: 1, count: p)
        for i in 0..<l {
            for t in 0..<n { z[t] = xs[i * n + t] }
            var f = 0.0
            for t in 0..<p { f += theta[t] * z[t] }
            let s = LogisticRegression.sigmoid(-ys[i] * f)
            let gi = -ys[i] * s * invL, hi = s * (1 - s) * invL
            for r in 0..<p {
                g[r] += gi * z[r]
                let hz = hi * z[r]
                for c in 0...r { H[r * p + c] += hz * z[c] }  // lower triangle; mirrored below
            }
        }
        for r in 0..<p { for c in 0..<r { H[c * p + r] = H[r * p + c] } }
        var norm = 0.0
        for t in 0..<p { norm += g[t] * g[t] }
        return norm.squareRoot()
    }

    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    /// log(1 + eˣ) without overflow.
    static func softplus(_ x: Double) -> Double {
        x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
    }

    /// Solves A x = rhs for symmetric positive-definite A [p, p] by Cholesky; nil if A is not
    /// numerically positive definite.
    static func choleskySolve(_ A: [Double], _ rhs: [Double], _ p: Int) -> [Double]? {
        var L = [Double](repeating: 0, count: p * p)   // A = L Lᵀ, L lower triangular
        for r in 0..<p {
            for c in 0...r {
                var s = A[r * p + c]
                for k in 0..<c { s -= L[r * p + k] * L[c * p + k] }
                if r == c {
                    guard s > 0 else { return nil }
                    L[r * p + r] = s.squareRoot()
                } else {
                    L[r * p + c] = s / L[c * p + c]
                }
            }
        }
        var x = rhs
        for r in 0..<p {                               // forward: L y = rhs
            for k in 0..<r { x[r] -= L[r * p + k] * x[k] }
            x[r] /= L[r * p + r]
        }
        for r in stride(from: p - 1, through: 0, by: -1) {  // backward: Lᵀ x = y
            for k in (r + 1)..<p { x[r] -= L[k * p + r] * x[k] }
            x[r] /= L[r * p + r]
        }
        return x
    }
}
