import Foundation

/// Soft-margin SVM with bias, solved in the dual
///     max_α Σ α_i − ½ Σ_ij α_i α_j y_i y_j K(x_i, x_j)   s.t.  0 ≤ α_i ≤ C,  Σ α_i y_i = 0
/// by SMO (Platt 1998) with the deterministic maximal-violating-pair rule (Keerthi et al. 2001; LIBSVM's
/// first-order working set): each step picks the pair that most violates the KKT conditions and solves
/// the two-variable problem analytically. It stops when the largest violation is below `tolerance`, or
/// after `maxPasses` · l² pair updates. Decision f(x) = Σ α_i y_i K(x_i, x) + b; predicts +1 when
/// f(x) ≥ 0. A single-class context predicts that class.
public struct SVM: PromptClassifier {
    public enum Kernel {
        case linear
        /// K(x, x′) = exp(−γ ‖x − x′‖²)
        case gaussian(gamma: Double)
    }

    public let kernel: Kernel
    public let C: Double
    public let tolerance: Double
    public let maxPasses: Int

    public var name: String {
        switch kernel {
        case .linear: return "SVM linear (C=\(formatParameter(C)))"
        case .gaussian(let g): return "SVM Gaussian (C=\(formatParameter(C)), γ=\(formatParameter(g)))"
        }
    }

    public init(kernel: Kernel, C: Double = 1.0, tolerance: Double = 1e-3, maxPasses: Int = 20) {
        precondition(C > 0 && tolerance > 0 && maxPasses >= 1, "SVM: need C > 0, tolerance > 0, maxPasses ≥ 1")
        self.kernel = kernel
        self.C = C
        self.tolerance = tolerance
        self.maxPasses = maxPasses
    }

    /// A fitted model: the training points, their labels, dual variables α [l], bias b and the number
    /// of pair updates taken.
    public struct Fit {
        public let kernel: Kernel
        public let xs: [Double]
        public let ys: [Double]
        public let n: Int
        public var alpha: [Double]
        public var b: Double
        public var updates: Int

        /// f(x) = Σ α_i y_i K(x_i, x) + b.
        public func decision(_ x: [Double]) -> Double {
            var f = b
            for i in 0..<ys.count where alpha[i] > 0 {
                f += alpha[i] * ys[i] * SVM.kernelValue(kernel, xs, i, x, n)
            }
            return f
        }
    }

    public func predict(xs: [Double], ys: [Double], n: Int, query: [Double]) -> Double {
        if let y = singleClass(ys) { return y }
        return fit(xs: xs, ys: ys, n: n).decision(query) >= 0 ? 1 : -1
    }

    /// Runs SMO on xs [l][n], ys [l] (labels ±1; both classes expected).
    public func fit(xs: [Double], ys: [Double], n: Int) -> Fit {
        let l = ys.count
        precondition(l >= 1 && xs.count == l * n, "SVM: bad shapes")
        let y = ys.map { $0 > 0 ? 1.0 : -1.0 }
        // Gram matrix K [l, l].
        var K = [Double](repeating: 0, count: l * l)
        for i in 0..<l {
            let xi = Array(xs[(i * n)..<((i + 1) * n)])
            for j in 0...i {
                let v = SVM.kernelValue(kernel, xs, j, xi, n)
                K[i * l + j] = v
                K[j * l + i] = v
            }
        }
        var alpha = [Double](repeating: 0, count: l)
        // F_t = Σ_s α_s y_s K_ts − y_t: the error f(x_t) − y_t without the bias. At α = 0, F = −y.
        var F = y.map { -$0 }
        var updates = 0
        let maxUpdates = maxPasses * max(l * l, 1)
        while true {
            // I_up: α_i may move so that y_i α_i grows; I_low: so that y_j α_j shrinks.
            // i = argmin_{I_up} F, j = argmax_{I_low} F (lowest index on ties).
            let (i, j) = workingPair(alpha, y, F)
            guard i >= 0, j >= 0, F[j] - F[i] >= tolerance, updates < maxUpdates else { break }
            // Move α_i += y_i t, α_j −= y_j t (keeps Σ α y fixed). The dual gains (F_j − F_i) t − ½ η t².
            var eta = K[i * l + i] + K[j * l + j] - 2 * K[i * l + j]
            if eta <= 1e-12 { eta = 1e-12 }       // duplicate points: step to the box edge
            let roomI = y[i] > 0 ? C - alpha[i] : alpha[i]
            let roomJ = y[j] > 0 ? alpha[j] : C - alpha[j]
            let t = min((F[j] - F[i]) / eta, roomI, roomJ)
            alpha[i] += y[i] * t
            alpha[j] -= y[j] * t
            // Snap to the box to avoid drift just outside it.
            alpha[i] = min(max(alpha[i], 0), C)
            alpha[j] = min(max(alpha[j], 0), C)
            for s in 0..<l { F[s] += t * (K[s * l + i] - K[s * l + j]) }
            updates += 1
        }
        return Fit(kernel: kernel, xs: xs, ys: y, n: n, alpha: alpha, b: bias(alpha, y, F), updates: updates)
    }

    /// The maximal violating pair (i, j), or −1 where a set is empty.
    private func workingPair(_ alpha: [Double], _ y: [Double], _ F: [Double]) -> (Int, Int) {
        var i = -1, j = -1
        for t in 0..<y.count {
            let up = y[t] > 0 ? alpha[t] < C : alpha[t] > 0
            let low = y[t] > 0 ? alpha[t] > 0 : alpha[t] < C
            if up && (i < 0 || F[t] < F[i]) { i = t }
            if low && (j < 0 || F[t] > F[j]) { j = t }
        }
        return (i, j)
    }

    /// b such that f(x_t) = y_t on the free support vectors (0 < α_t < C), averaged; with none free, the
    /// middle of the interval of b that the KKT conditions allow.
    private func bias(_ alpha: [Double], _ y: [Double], _ F: [Double]) -> Double {
        var sum = 0.0, count = 0
        var upMin = Double.infinity, lowMax = -Double.infinity
        for t in 0..<y.count {
            if alpha[t] > 0 && alpha[t] < C { sum -= F[t]; count += 1 }
            let up = y[t] > 0 ? alpha[t] < C : alpha[t] > 0
            let low = y[t] > 0 ? alpha[t] > 0 : alpha[t] < C
            if up { upMin = min(upMin, F[t]) }
            if low { lowMax = max(lowMax, F[t]) }
        }
        if count > 0 { return sum / Double(count) }
        if upMin.isFinite && lowMax.isFinite { return -(upMin + lowMax) / 2 }
        return 0
    }

    /// K(x_i, x) for row i of xs [l][n].
    static func kernelValue(_ kernel: Kernel, _ xs: [Double], _ i: Int, _ x: [Double], _ n: Int) -> Double {
        switch kernel {
        case .linear:
            var s = 0.0
            for t in 0..<n { s += xs[i * n + t] * x[t] }
            return s
        case .gaussian(let gamma):
            return exp(-gamma * squaredDistance(xs, i, x, n))
        }
    }
}
