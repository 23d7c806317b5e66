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
        hostEvaluate(spec, prompts: count, chunk: 1024) { prompts, batch in
            ReferenceModel.outputs(weights, prompts: prompts, batch: batch, length: spec.length,
                                   attendQuery: config.attendQuery)
        }
    }
}
