/// The `cpu-reference` backend of the GPT-2-style model: GPT2Reference run as a trainer (AdamW on the
/// host). Slow and simple on purpose; the oracle for the OpenCL engine.
public final class GPT2CPUReferenceBackend: GPT2Backend {
    public let config: Config
    let trainingSpec: PromptSpec
    var weights: GPT2Weights<Float>
    var adam: GPT2AdamState<Float>

    public init(config: Config, bank: PatternBank) {
        self.config = config
        trainingSpec = PromptSpec.training(config, bank: bank)
        weights = GPT2Weights<Float>.initial(shape: config.gpt2Shape, seed: config.seed)
        adam = GPT2AdamState<Float>(shape: config.gpt2Shape)
    }

    public var deviceDescription: String { "cpu-reference (plain Swift, Float32), GPT-2-style model" }

    public func load(weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>) throws {
        self.weights = weights
        self.adam = adam
    }

    public func readWeights() throws -> GPT2Weights<Float> { weights }
    public func readAdam() throws -> GPT2AdamState<Float> { adam }

    public func trainStep(step: Int) throws -> BatchStats {
        let batch = PromptSampler.sample(trainingSpec, step: step, batch: config.batch)
        let r = GPT2Reference.trainStep(weights: &weights, state: &adam, prompts: batch.prompts, labels: batch.labels,
                                        batch: config.batch, length: config.lTrain, step: step,
                                        optimizer: config.gpt2Optimizer)
        return BatchStats(loss: r.hinge.loss, errors: r.hinge.errors, prompts: config.batch)
    }

    public func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats {
        guard spec.length + 1 <= weights.shape.maxTokens else {
            throw ConfigError("the GPT-2-style model has learned positions for prompts of l ≤ \(weights.shape.maxTokens - 1) (lTrain); l = \(spec.length) is longer.")
        }
        return hostEvaluate(spec, prompts: count, chunk: 256) { prompts, batch in
            GPT2Reference.outputs(weights, prompts: prompts, batch: batch, length: spec.length)
        }
    }
}
