import ICLCore

/// The `opencl` backend of the GPT-2-style model: `GPT2Engine` (weights, gradients and AdamW moments
/// resident on the device, prompts sampled on the device) driven by the trainer's schedule.
public final class OpenCLGPT2Backend: GPT2Backend {
    public let config: Config
    public let engine: GPT2Engine
    let trainSpec: SpecBuffers
    let evalSpecs: SpecBufferCache
    /// Prompts per evaluation launch sequence.
    static let evalChunk = 1024

    public init(config: Config, bank: PatternBank, context: CLContext, variant: KernelVariant) throws {
        self.config = config
        engine = try GPT2Engine(context: context, shape: config.gpt2Shape, variant: variant,
                                capacity: max(config.batch, OpenCLGPT2Backend.evalChunk))
        trainSpec = try SpecBuffers(context: context, spec: PromptSpec.training(config, bank: bank))
        evalSpecs = SpecBufferCache(context: context)
        try engine.check(trainSpec.spec, batch: config.batch)
    }

    public var deviceDescription: String {
        let dev = engine.context.device
        return "opencl: " + dev.name + " (" + dev.kind.rawValue + ", " + dev.platformName + ", driver " + dev.driverVersion
            + "), " + engine.variant.rawValue + " kernels, GPT-2-style model"
    }

    public func load(weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>) throws { try engine.load(weights: weights, adam: adam) }
    public func readWeights() throws -> GPT2Weights<Float> { try engine.readWeights() }
    public func readAdam() throws -> GPT2AdamState<Float> { try engine.readAdam() }

    public func trainStep(step: Int) throws -> BatchStats {
        try engine.trainStep(spec: trainSpec, step: step, batch: config.batch, optimizer: config.gpt2Optimizer)
    }

    public func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats {
        try engine.evaluate(spec: evalSpecs.buffers(spec), prompts: count)
    }
}
