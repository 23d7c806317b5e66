import Foundation
import XCTest
@testable import ICLCore

/// Hand-checked cases for the E3 baselines (logistic regression, linear/Gaussian SVM, k-NN) and their
/// prompt-level evaluation.
final class BaselineTests: XCTestCase {
    private let all: [PromptClassifier] = BaselineEvaluation.paperSet

    /// Points as rows → flat [l·n].
    private func flat(_ rows: [[Double]]) -> [Double] { rows.flatMap { $0 } }

    /// Two clusters: +1 around (2, 0), −1 around (−2, 0).
    private let separable: [[Double]] = [[2, 0], [2.5, 0.5], [1.8, -0.4], [-2, 0], [-2.3, 0.6], [-1.7, -0.5]]
    private let separableY: [Double] = [1, 1, 1, -1, -1, -1]

    func testSeparableAllFiveClassifyClearQueries() {
        XCTAssertEqual(all.map(\.name), ["logistic (λ=0.01)", "SVM linear (C=1)", "SVM Gaussian (C=1, γ=0.5)", "1-NN", "3-NN"])
        for c in all {
            XCTAssertEqual(c.predict(xs: flat(separable), ys: separableY, n: 2, query: [2.1, 0.1]), 1, c.name)
            XCTAssertEqual(c.predict(xs: flat(separable), ys: separableY, n: 2, query: [-2.1, -0.1]), -1, c.name)
        }
    }

    func testOneFlippedPoint() {
        // A −1 point inside the +1 cluster: the fitted models still put a query beyond the cluster on the
        // majority side (not too far: a Gaussian SVM's f tends to its bias b far from all points), while
        // 1-NN copies the flipped label next to it.
        let xs = flat(separable + [[2.2, 0.5]]), ys = separableY + [-1]
        for c in all.prefix(3) {
            XCTAssertEqual(c.predict(xs: xs, ys: ys, n: 2, query: [3.5, 0]), 1, c.name)
            XCTAssertEqual(c.predict(xs: xs, ys: ys, n: 2, query: [-3.5, 0]), -1, c.name)
        }
        XCTAssertEqual(NearestNeighbours(k: 1).predict(xs: xs, ys: ys, n: 2, query: [2.2, 0.55]), -1)
        XCTAssertEqual(NearestNeighbours(k: 3).predict(xs: xs, ys: ys, n: 2, query: [2.2, 0.55]), 1)
    }

    func testNearestNeighbourTies() {
        // Equidistant points: the lower index wins, whichever its label.
        let xs = flat([[1, 0], [-1, 0]])
        XCTAssertEqual(NearestNeighbours(k: 1).predict(xs: xs, ys: [-1, 1], n: 2, query: [0, 0]), -1)
        XCTAssertEqual(NearestNeighbours(k: 1).predict(xs: xs, ys: [1, -1], n: 2, query: [0, 0]), 1)
        // 3-NN, 2–1 vote: the nearest is −1 but the two next are +1.
        let xs3 = flat([[0.1, 0], [0.3, 0], [-0.35, 0], [5, 5]])
        XCTAssertEqual(NearestNeighbours(k: 3).predict(xs: xs3, ys: [-1, 1, 1, -1], n: 2, query: [0, 0]), 1)
        XCTAssertEqual(NearestNeighbours(k: 1).predict(xs: xs3, ys: [-1, 1, 1, -1], n: 2, query: [0, 0]), -1)
        // Even k, 1–1 vote: the nearest neighbour's label.
        XCTAssertEqual(NearestNeighbours(k: 2).predict(xs: xs3, ys: [-1, 1, 1, -1], n: 2, query: [0, 0]), -1)
        // k larger than l: everyone votes (two +1 against one −1).
        XCTAssertEqual(NearestNeighbours(k: 7).predict(xs: flat([[0, 0], [1, 0], [2, 0]]), ys: [-1, 1, 1], n: 2, query: [0, 0]), 1)
    }

    func testDuplicatePoints() {
        let same = flat([[1, 1], [1, 1], [-1, -1], [-1.2, -1]]), sameY: [Double] = [1, 1, -1, -1]
        let opposite = flat([[1, 1], [1, 1], [-1, -1]]), oppositeY: [Double] = [1, -1, -1]
        for c in all {
            XCTAssertEqual(c.predict(xs: same, ys: sameY, n: 2, query: [1, 1]), 1, c.name)
            XCTAssertEqual(c.predict(xs: same, ys: sameY, n: 2, query: [-1, -1]), -1, c.name)
            for q in [[1.0, 1.0], [-1.0, -1.0], [0, 0], [3, -2]] {
                let p1 = c.predict(xs: opposite, ys: oppositeY, n: 2, query: q)
                let p2 = c.predict(xs: opposite, ys: oppositeY, n: 2, query: q)
                XCTAssertTrue(p1 == 1 || p1 == -1, c.name)
                XCTAssertEqual(p1, p2, c.name)
            }
            // Only the two contradicting points.
            let p = c.predict(xs: flat([[1, 1], [1, 1]]), ys: [1, -1], n: 2, query: [1, 1])
            XCTAssertTrue(p == 1 || p == -1, c.name)
        }
        XCTAssertEqual(NearestNeighbours(k: 1).predict(xs: opposite, ys: oppositeY, n: 2, query: [1, 1]), 1)  // lower index
        let lr = LogisticRegression().fit(xs: opposite, ys: oppositeY, n: 2)
        XCTAssertTrue((lr.w + [lr.b]).allSatisfy(\.isFinite))
        let svm = SVM(kernel: .linear).fit(xs: opposite, ys: oppositeY, n: 2)
        XCTAssertTrue((svm.alpha + [svm.b]).allSatisfy(\.isFinite))
        XCTAssertEqual(SVM(kernel: .linear).fit(xs: flat([[1, 1], [1, 1]]), ys: [1, -1], n: 2).alpha, [1, 1])  // both at C
    }

    func testSingleClassAndSinglePoint() {
        for c in all {
            for y in [1.0, -1.0] {
                XCTAssertEqual(c.predict(xs: flat(separable), ys: [Double](repeating: y, count: 6), n: 2, query: [-9, 4]), y, c.name)
                XCTAssertEqual(c.predict(xs: [0.3, -0.2], ys: [y], n: 2, query: [-5, 5]), y, c.name)  // l = 1
            }
        }
    }

    // MARK: logistic regression

    /// Gradient of (1/l) Σ log(1 + exp(−y(w·x + b))) + (λ/2)‖w‖², written out independently.
    private func logisticGradient(w: [Double], b: Double, xs: [Double], ys: [Double], n: Int, lambda: Double) -> [Double] {
        let l = ys.count
        var g = w.map { lambda * $0 } + [0]
        for i in 0..<l {
            var m = b
            for t in 0..<n { m += w[t] * xs[i * n + t] }
            m *= ys[i]
            let s = 1 / (1 + exp(m))                   // σ(−m)
            for t in 0..<n { g[t] -= ys[i] * s * xs[i * n + t] / Double(l) }
            g[n] -= ys[i] * s / Double(l)
        }
        return g
    }

    func testLogisticSeparableStaysFiniteWithZeroGradient() {
        let lambda = 0.01
        let fit = LogisticRegression(lambda: lambda).fit(xs: flat(separable), ys: separableY, n: 2)
        XCTAssertTrue((fit.w + [fit.b]).allSatisfy(\.isFinite))
        XCTAssertLessThan(fit.w.map { $0 * $0 }.reduce(0, +).squareRoot(), 100)
        let g = logisticGradient(w: fit.w, b: fit.b, xs: flat(separable), ys: separableY, n: 2, lambda: lambda)
        XCTAssertLessThan(g.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-6)
        XCTAssertLessThan(fit.steps, 100)
    }

    func testLogisticHandDerivedOptimum() {
        // x = ±1 with y = ±1 (n = 1): by symmetry b = 0, and ∇ = −σ(−w) + λw = 0. Choosing
        // λ = σ(−2)/2 = 1/(2(1 + e²)) makes w = 2 the optimum.
        let lambda = 1 / (2 * (1 + exp(2.0)))
        let fit = LogisticRegression(lambda: lambda, tolerance: 1e-12).fit(xs: [1, -1], ys: [1, -1], n: 1)
        XCTAssertEqual(fit.w[0], 2, accuracy: 1e-9)
        XCTAssertEqual(fit.b, 0, accuracy: 1e-12)
        XCTAssertLessThan(fit.gradientNorm, 1e-12)
    }

    // MARK: SVM

    func testLinearSVMMarginConditions() {
        let xs = flat(separable), ys = separableY, tol = 1e-3
        let fit = SVM(kernel: .linear, C: 1000, tolerance: 1e-6).fit(xs: xs, ys: ys, n: 2)
        var sumAlphaY = 0.0
        for i in 0..<ys.count {
            let x = Array(xs[(2 * i)..<(2 * i + 2)])
            let margin = ys[i] * fit.decision(x)
            XCTAssertGreaterThanOrEqual(margin, 1 - tol, "point \(i)")
            if fit.alpha[i] > 1e-8 { XCTAssertEqual(margin, 1, accuracy: tol, "support vector \(i)") }
            XCTAssertGreaterThanOrEqual(fit.alpha[i], 0)
            XCTAssertLessThanOrEqual(fit.alpha[i], 1000)
            sumAlphaY += fit.alpha[i] * ys[i]
        }
        XCTAssertEqual(sumAlphaY, 0, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(fit.alpha.filter { $0 > 1e-8 }.count, 2)
    }

    func testLinearSVMHandSolvedPair() {
        // (1, 0) → +1 and (−1, 0) → −1: w = (1, 0), b = 0, α = (½, ½).
        let fit = SVM(kernel: .linear, C: 10, tolerance: 1e-9).fit(xs: [1, 0, -1, 0], ys: [1, -1], n: 2)
        XCTAssertEqual(fit.alpha[0], 0.5, accuracy: 1e-9)
        XCTAssertEqual(fit.alpha[1], 0.5, accuracy: 1e-9)
        XCTAssertEqual(fit.b, 0, accuracy: 1e-9)
        XCTAssertEqual(fit.decision([0.25, 3]), 0.25, accuracy: 1e-9)
    }

    func testGaussianSVMSolvesXORLinearCannot() {
        let xs = flat([[1, 1], [-1, -1], [1, -1], [-1, 1]]), ys: [Double] = [1, 1, -1, -1]
        let queries: [[Double]] = [[0.9, 1.1], [-1.1, -0.8], [1.2, -0.9], [-0.8, 1.0]]
        let gaussian = SVM(kernel: .gaussian(gamma: 0.5), C: 1)
        let linear = SVM(kernel: .linear, C: 1)
        var linearWrong = 0
        for (q, y) in zip(queries, ys) {
            XCTAssertEqual(gaussian.predict(xs: xs, ys: ys, n: 2, query: q), y)
            if linear.predict(xs: xs, ys: ys, n: 2, query: q) != y { linearWrong += 1 }
        }
        XCTAssertGreaterThanOrEqual(linearWrong, 1)
    }

    // MARK: prompts

    func testEvaluationOnDefaultPrompts() {
        let c = Config()
        let bank = PatternBank(config: c)
        let spec = PromptSpec.evaluation(c, bank: bank, domain: .inDomain, alpha: 0.8, length: 20)
        let rows = BaselineEvaluation.errors(all, spec: spec, prompts: 300)
        XCTAssertEqual(rows.map(\.name), all.map(\.name))
        for r in rows {
            XCTAssertEqual(r.prompts, 300)
            XCTAssertEqual(r.error, Double(r.errors) / 300)
            XCTAssertTrue(r.error >= 0 && r.error < 0.5, "\(r.name): \(r.error)")
        }
        XCTAssertLessThan(rows[3].error, 0.3)
        // Deterministic: the same prompts give the same counts.
        let again = BaselineEvaluation.errors([NearestNeighbours(k: 1)], spec: spec, prompts: 300)
        XCTAssertEqual(again[0].errors, rows[3].errors)
    }
}
