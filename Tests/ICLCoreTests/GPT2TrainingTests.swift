import XCTest
@testable import ICLCore

/// Training smoke test of the GPT-2-style reference on the real prompt sampler.
final class GPT2TrainingTests: XCTestCase {
    /// A small task and model so 100 steps fit in a debug build: M1 = 4 IDR and M2 = 4 IDI patterns in
    /// d_X = 8, d_Y = 2 (d = 10), l = 8; W = 16, L = 2, H = 2; B = 32; AdamW at lr 3e-3 with 5 warm-up steps.
    /// The hinge loss starts at ≈ 1 (F ≈ 0) and must fall clearly: mean of the last 20 steps < 0.8 × the first
    /// 20 (measured: ≈ 0.35 ×).
    func testHingeLossDecreases() throws {
        var c = Config()
        c.M1 = 4; c.M2 = 4; c.dX = 8; c.dY = 2; c.M1ood = 2; c.lTrain = 8; c.batch = 32; c.seed = 3
        try c.validate()
        let shape = GPT2Shape(width: 16, layers: 2, heads: 2, d: c.d, maxTokens: c.lTrain + 1)
        try shape.validate()
        let steps = 100
        let optimizer = GPT2Optimizer(lr: 3e-3, warmup: 5, steps: steps)
        try optimizer.validate()
        var w = GPT2Weights<Float>.initial(shape: shape, seed: c.seed)
        var state = GPT2AdamState<Float>(shape: shape)
        let spec = PromptSpec.training(c, bank: PatternBank(config: c))
        var losses: [Float] = []
        for step in 0..<steps {
            let batch = PromptSampler.sample(spec, step: step, batch: c.batch)
            let r = GPT2Reference.trainStep(weights: &w, state: &state, prompts: batch.prompts, labels: batch.labels,
                                            batch: c.batch, length: c.lTrain, step: step, optimizer: optimizer)
            XCTAssertTrue(r.hinge.loss.isFinite, "step \(step)")
            losses.append(r.hinge.loss)
        }
        let first = losses.prefix(20).reduce(0, +) / 20, last = losses.suffix(20).reduce(0, +) / 20
        XCTAssertEqual(first, 1, accuracy: 0.1, "an untrained model has F ≈ 0, so a hinge loss ≈ 1")
        XCTAssertLessThan(last, 0.8 * first, "loss: first 20 steps \(first), last 20 steps \(last)")
    }
}
