import XCTest
@testable import ICLCore

final class ReferenceGradientTests: XCTestCase {
    /// The tiny model of the gradient check: d = 9, m = 5, B = 4, l = 3.
    private func tinyConfig(attendQuery: Bool) -> Config {
        var c = Config()
        c.M1 = 4; c.M2 = 3; c.dX = 7; c.dY = 2; c.M1ood = 2; c.lTrain = 3; c.m = 5; c.batch = 4
        c.attendQuery = attendQuery
        return c
    }

    /// Non-trivial random weights: W_Q, W_K, W_V ~ N(0, 0.5²), W_O ~ N(0, 1), a = ±1/√m as at init.
    private func randomWeights(_ c: Config, seed: UInt64) -> ModelWeights<Double> {
        var g = GaussianSequence(seed: seed, stream: .initWeights)
        let d = c.d, m = c.m
        let base = ModelWeights<Double>.initial(c)
        return ModelWeights(d: d, m: m, WQ: g.next(d * d).map { 0.5 * $0 }, WK: g.next(d * d).map { 0.5 * $0 },
                            WV: g.next(d * d).map { 0.5 * $0 }, WO: g.next(m * d), a: base.a)
    }

    private struct Problem {
        var c: Config
        var w: ModelWeights<Double>
        var prompts: [Double]
        var labels: [Double]
    }

    private func problem(attendQuery: Bool, weightSeed: UInt64, step: Int) -> Problem {
        let c = tinyConfig(attendQuery: attendQuery)
        XCTAssertNoThrow(try c.validate())
        let spec = PromptSpec.training(c, bank: PatternBank(config: c))
        let pb = PromptSampler.sample(spec, step: step, batch: c.batch)
        return Problem(c: c, w: randomWeights(c, seed: weightSeed),
                       prompts: pb.prompts.map(Double.init), labels: pb.labels.map(Double.init))
    }

    private func loss(_ p: Problem, _ w: ModelWeights<Double>) -> Double {
        let F = ReferenceModel.outputs(w, prompts: p.prompts, batch: p.c.batch, length: p.c.lTrain,
                                       attendQuery: p.c.attendQuery)
        return ReferenceHinge.evaluate(F: F, labels: p.labels).loss
    }

    /// Central differences against `trace(...).gradients` for every entry of W_Q, W_K, W_V, W_O.
    private func checkGradients(attendQuery: Bool, weightSeed: UInt64, step: Int, expectInactivePrompt: Bool,
                                file: StaticString = #filePath, line: UInt = #line) {
        let p = problem(attendQuery: attendQuery, weightSeed: weightSeed, step: step)
        let t = ReferenceModel.trace(p.w, prompts: p.prompts, labels: p.labels, batch: p.c.batch,
                                     length: p.c.lTrain, attendQuery: p.c.attendQuery)
        // Precondition: the point is away from every kink, so central differences are valid.
        let margins = zip(t.mlp.F, p.labels).map { $0 * $1 }
        let marginGap = margins.map { abs(1 - $0) }.min()!
        let reluGap = t.mlp.g.map(abs).min()!
        XCTAssertGreaterThan(marginGap, 1e-3, "a hinge margin sits within 1e-3 of 1: pick other seeds", file: file, line: line)
        XCTAssertGreaterThan(reluGap, 1e-3, "a ReLU input sits within 1e-3 of 0: pick other seeds", file: file, line: line)
        // ... and exercises both branches of the hinge and of the ReLU.
        let active = margins.filter { $0 < 1 }.count
        XCTAssertGreaterThan(active, 0, file: file, line: line)
        if expectInactivePrompt { XCTAssertLessThan(active, p.c.batch, file: file, line: line) }
        XCTAssertTrue(t.mlp.g.contains { $0 > 0 } && t.mlp.g.contains { $0 < 0 }, file: file, line: line)
        XCTAssertEqual(t.hinge.loss, loss(p, p.w), accuracy: 1e-14, file: file, line: line)

        let g = t.gradients
        let h = 1e-6, rtol = 1e-5, atol = 1e-8
        var checked = 0, worst = 0.0
        func check(_ name: String, _ analytic: [Double], _ kp: WritableKeyPath<ModelWeights<Double>, [Double]>) {
            XCTAssertEqual(analytic.count, p.w[keyPath: kp].count, file: file, line: line)
            XCTAssertGreaterThan(analytic.map(abs).max()!, 1e-3, "\(name) gradient is trivially zero", file: file, line: line)
            for i in analytic.indices {
                var plus = p.w, minus = p.w
                plus[keyPath: kp][i] += h
                minus[keyPath: kp][i] -= h
                let numeric = (loss(p, plus) - loss(p, minus)) / (2 * h)
                let err = abs(numeric - analytic[i])
                worst = max(worst, err / (atol + rtol * abs(numeric)))
                XCTAssertLessThanOrEqual(err, atol + rtol * abs(numeric),
                                         "\(name)[\(i)]: analytic \(analytic[i]), numeric \(numeric)", file: file, line: line)
                checked += 1
            }
        }
        check("W_Q", g.WQ, \.WQ)
        check("W_K", g.WK, \.WK)
        check("W_V", g.WV, \.WV)
        check("W_O", g.WO, \.WO)
        let d = p.c.d, m = p.c.m
        XCTAssertEqual(checked, 3 * d * d + m * d, file: file, line: line)
        XCTAssertLessThan(worst, 1, file: file, line: line)
    }

    func testGradientsMatchFiniteDifferences() {
        checkGradients(attendQuery: false, weightSeed: 3, step: 0, expectInactivePrompt: true)
        checkGradients(attendQuery: false, weightSeed: 2, step: 1, expectInactivePrompt: false)
    }

    func testGradientsMatchFiniteDifferencesAttendQuery() {
        checkGradients(attendQuery: true, weightSeed: 3, step: 0, expectInactivePrompt: true)
        checkGradients(attendQuery: true, weightSeed: 7, step: 1, expectInactivePrompt: false)
    }

    func testAttendQueryChangesTheModel() {
        let p = problem(attendQuery: false, weightSeed: 3, step: 0)
        let a = ReferenceModel.outputs(p.w, prompts: p.prompts, batch: 4, length: 3, attendQuery: false)
        let b = ReferenceModel.outputs(p.w, prompts: p.prompts, batch: 4, length: 3, attendQuery: true)
        XCTAssertNotEqual(a, b)
        let t = ReferenceModel.trace(p.w, prompts: p.prompts, labels: p.labels, batch: 4, length: 3, attendQuery: true)
        XCTAssertEqual(t.attention.attn.count, 4 * 4)
        XCTAssertEqual(t.mlp.F, b)
    }

    // MARK: Hand cases

    func testHingeHandValues() {
        let r = ReferenceHinge.evaluate(F: [2, 0.5, -1, 0] as [Double], labels: [1, 1, 1, -1])
        XCTAssertEqual(r.loss, (0 + 0.5 + 2 + 1) / 4, accuracy: 1e-15)
        XCTAssertEqual(r.dF, [0, -0.25, -0.25, 0.25])
        XCTAssertEqual(r.errors, 2)
        // Margin exactly 1: no loss, no gradient, correct.
        let e = ReferenceHinge.evaluate(F: [1, -1] as [Float], labels: [1, -1])
        XCTAssertEqual(e.loss, 0)
        XCTAssertEqual(e.dF, [0, 0])
        XCTAssertEqual(e.errors, 0)
    }

    func testAttentionHandCase() {
        // l = 2, d = 2, W_Q = W_K = I. Prompt 0: p1 = (1, 0), p2 = (0, 1), query (1, 0.5).
        // Prompt 1: p1 = (2, 0), p2 = (0, -1), query (0.5, 1).
        let prompts: [Double] = [1, 0, 0, 1, 1, 0.5,
                                 2, 0, 0, -1, 0.5, 1]
        let I: [Double] = [1, 0, 0, 1]
        let f = ReferenceAttention.forward(prompts: prompts, batch: 2, length: 2, d: 2, attended: 2, WQ: I, WK: I)
        XCTAssertEqual(f.u, [1, 0.5, 0.5, 1])
        XCTAssertEqual(f.v, [1, 0.5, 0.5, 1])
        // Scores: prompt 0 (1, 0.5); prompt 1 (1, −1).
        let a0 = exp(1.0) / (exp(1.0) + exp(0.5)), a1 = exp(1.0) / (exp(1.0) + exp(-1.0))
        let want: [Double] = [a0, 1 - a0, a1, 1 - a1]
        for i in 0..<4 { XCTAssertEqual(f.attn[i], want[i], accuracy: 1e-15) }
        let c: [Double] = [a0, 1 - a0, 2 * a1, -(1 - a1)]
        for i in 0..<4 { XCTAssertEqual(f.c[i], c[i], accuracy: 1e-15) }
        // With the query attended (L = 3): prompt 0's third score is ‖(1, 0.5)‖² = 1.25.
        let g = ReferenceAttention.forward(prompts: prompts, batch: 2, length: 2, d: 2, attended: 3, WQ: I, WK: I)
        let z0 = exp(1.0) + exp(0.5) + exp(1.25)
        XCTAssertEqual(g.attn[0], exp(1.0) / z0, accuracy: 1e-15)
        XCTAssertEqual(g.attn[1], exp(0.5) / z0, accuracy: 1e-15)
        XCTAssertEqual(g.attn[2], exp(1.25) / z0, accuracy: 1e-15)
        XCTAssertEqual(g.c[0], (exp(1.0) + exp(1.25)) / z0, accuracy: 1e-15)
        XCTAssertEqual(g.c[1], (exp(0.5) + 0.5 * exp(1.25)) / z0, accuracy: 1e-15)
        // Non-identity W_Q: u = W_Q p_q with W_Q = [[0, 1], [2, 0]] → u = (0.5, 2) for prompt 0.
        let h = ReferenceAttention.forward(prompts: prompts, batch: 1, length: 2, d: 2, attended: 2,
                                           WQ: [0, 1, 2, 0], WK: I)
        XCTAssertEqual(h.u, [0.5, 2])
        XCTAssertEqual(h.attn[0], exp(0.5) / (exp(0.5) + exp(2.0)), accuracy: 1e-15)
    }

    func testAttentionIsShiftStable() {
        // Large scores must not overflow: the softmax subtracts the max.
        let prompts: [Float] = [100, 0, 0, 100, 100, 99]
        let I: [Float] = [1, 0, 0, 1]
        let f = ReferenceAttention.forward(prompts: prompts, batch: 1, length: 2, d: 2, attended: 2, WQ: I, WK: I)
        XCTAssertTrue(f.attn.allSatisfy(\.isFinite))
        XCTAssertEqual(f.attn[0], 1 / (1 + expf(-100)), accuracy: 1e-6)
    }

    func testSGDMaskZeroesRowsExactly() {
        let c = tinyConfig(attendQuery: false)
        var w = randomWeights(c, seed: 5).converted(to: Float.self)
        let before = w
        var gs = GaussianSequence(seed: 9, stream: .initWeights)
        let d = c.d, m = c.m
        let grads = WeightGradients<Float>(WQ: gs.next(d * d).map(Float.init), WK: gs.next(d * d).map(Float.init),
                                           WV: gs.next(d * d).map(Float.init), WO: gs.next(m * d).map(Float.init))
        let mask: [Float] = [1, 0, 1, 0, 0]
        let lr: Float = 0.3
        ReferenceModel.sgdUpdate(&w, grads, lr: lr, mask: mask)
        for i in 0..<(d * d) {
            XCTAssertEqual(w.WQ[i], before.WQ[i] - lr * grads.WQ[i])
            XCTAssertEqual(w.WK[i], before.WK[i] - lr * grads.WK[i])
            XCTAssertEqual(w.WV[i], before.WV[i] - lr * grads.WV[i])
        }
        for n in 0..<m {
            for j in 0..<d {
                let k = n * d + j
                if mask[n] == 0 {
                    XCTAssertEqual(w.WO[k], 0, "masked W_O row \(n) must be exactly zero")   // ±0
                } else {
                    XCTAssertEqual(w.WO[k], before.WO[k] - lr * grads.WO[k])
                }
            }
        }
        XCTAssertEqual(w.a, before.a)
        XCTAssertNotEqual(w.WO, before.WO)
    }
}
