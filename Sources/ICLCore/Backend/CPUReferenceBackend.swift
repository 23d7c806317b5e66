/// The `cpu-reference` backend: the plain-Swift oracle run as a trainer. Slow and simple on purpose.
public final class CPUReferenceBackend: Backend {
    public let config: Config
    public let bank: PatternBank
    let trainingSpec: PromptSpec
    var weights: ModelWeights<Float>
    var mask: [Float]

    public init(config: Config, bank: PatternBank) {
        self.config = config
        self.bank = bank
        trainingSpec = PromptSpec.training(config, bank: bank)
        weights = ModelWeights<Float>.initial(config)
        mask = [Float](repeating: 1, count: config.m)
    }

    public var deviceDescription: String { "cpu-reference (plain Swift, Float32)" }

    public func load(weights: ModelWeights<Float>, mask: [Float]) throws {
        self.weights = weights
        self.mask = mask
    }

    public func readWeights() throws -> ModelWeights<Float> { weights }

    public func trainStep(step: Int) throws -> BatchStats {
        let batch = PromptSampler.sample(trainingSpec, step: step, batch: config.batch)
        let t = ReferenceModel.trace(weights, prompts: batch.prompts, labels: batch.labels, batch: config.batch,
                                     length: config.lTrain, attendQuery: config.attendQuery)
        ReferenceModel.sgdUpdate(&weights, t.gradients, lr: config.lr, mask: mask)
        return BatchStats(loss: t.hinge.loss, errors: t.hinge.errors, prompts: config.batch)
    }

    public func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats {
        var lossSum: Double = 0, errors = 0
        for chunk in chunks(of: count, size: 1024) {
            let batch = PromptSampler.sample(spec, step: 0, batch: chunk.count, firstPrompt: chunk.first)
            let F = ReferenceModel.outputs(weights, prompts: batch.prompts, batch: chunk.count, length: spec.length,
                                           attendQuery: config.attendQuery)
            let h = ReferenceHinge.evaluate(F: F, labels: batch.labels)
            lossSum += Double(h.loss) * Double(chunk.count)
            errors += h.errors
        }
        return BatchStats(loss: Float(lossSum / Double(max(count, 1))), errors: errors, prompts: count)
    }
}
