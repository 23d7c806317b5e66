import ICLCore

/// The `opencl` backend of either model: the resident weights (`State`: `OneLayerDeviceState` or `GPT2DeviceState`),
/// one `TrainingPipeline` that runs the steps (and holds the training spec's device tables), and the pipelined step loop with its
/// statistics ring. Only (loss, errors) come back: one 8-byte read per step from `trainStep`; `trainSteps` keeps the
/// device a step, or a group of steps, ahead and reads a group's statistics at once. Build one with
/// `OpenCLBackend.oneLayer` or `OpenCLBackend.gpt2`; `PipelineRule` picks the pipeline.
public final class OpenCLBackend<State: AnyObject>: ModelRunner {
    public let context: CLContext
    public let config: Config
    public let state: State
    public let pipeline: TrainingPipeline
    /// Device tables of the evaluation specs seen so far.
    let evalSpecs: SpecBufferCache

    init(context: CLContext, config: Config, state: State, pipeline: TrainingPipeline) {
        self.context = context
        self.config = config
        self.state = state
        self.pipeline = pipeline
        evalSpecs = SpecBufferCache(context: context)
    }

    public var deviceDescription: String {
        let dev = context.device
        return "opencl: \(dev.name) (\(dev.kind.rawValue), \(dev.platformName), driver \(dev.driverVersion)), "
            + pipeline.description.summary
    }

    public func trainStep(step: Int) throws -> BatchStats {
        let s = try pipeline.enqueueTrainStep(step: step, statsSlot: 0).read(count: 2)
        return stats(s[0], s[1])
    }

    /// Pipelined: steps are enqueued in groups of `pipeline.statsSlots` (one slot each), each group followed by one
    /// non-blocking read of its statistics, and the next group is enqueued before the host waits for the last one's,
    /// so the device always has work queued while the host checks losses. A group's read is queued before the next
    /// group's steps overwrite the slots; the in-order queue keeps them apart. If enqueueing a step fails, the steps
    /// already enqueued are read and reported first, so the caller knows exactly which steps updated the weights and
    /// which one failed.
    public func trainSteps(_ steps: Range<Int>, after: (Int, BatchStats) throws -> Bool) throws {
        // A throw drops these reads; each one's deinit waits for its command, so nothing is left running.
        var inFlight: [(first: Int, count: Int, read: CLPendingRead<Float>)] = []
        var going = true
        func reportOldest() throws {
            let group = inFlight.removeFirst()
            let s = try group.read.values()
            for i in 0..<group.count {
                going = try after(group.first + i, stats(s[2 * i], s[2 * i + 1])) && going
            }
        }
        let slots = pipeline.statsSlots
        var next = steps.lowerBound
        while true {
            while going && next < steps.upperBound && inFlight.count < 2 {
                let first = next, count = min(slots, steps.upperBound - next)
                var statsBuffer: CLBuffer<Float>?, failure: Error?
                do {
                    for slot in 0..<count {
                        statsBuffer = try pipeline.enqueueTrainStep(step: first + slot, statsSlot: slot)
                        next += 1
                    }
                } catch {
                    failure = error
                }
                // The group's read covers the steps that were enqueued, all of them or those before a failure.
                if let statsBuffer { inFlight.append((first, next - first, try statsBuffer.readLater(count: 2 * (next - first)))) }
                if let failure {
                    while !inFlight.isEmpty { try reportOldest() }
                    throw failure
                }
            }
            guard !inFlight.isEmpty else { return }
            try reportOldest()
        }
    }

    private func stats(_ loss: Float, _ errors: Float) -> BatchStats {
        BatchStats(loss: loss, errors: Int(errors), prompts: config.batch)
    }

    public func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats {
        try pipeline.evaluate(try evalSpecs.buffers(spec), prompts: count)
    }
}

extension OpenCLBackend: Backend where State == OneLayerDeviceState {
    /// The one-layer model at `config`'s initial weights (or, with `m` below config.m, a compacted model that holds
    /// nothing until `load`), on the pipeline `PipelineRule` picks for `requested`. `path` nil gives the pattern
    /// pipeline the device's best path (`DevicePath.best`); a path given is run instead (to check the portable path on
    /// a device that has a faster one).
    public static func oneLayer(config: Config, bank: PatternBank, context: CLContext, variant: KernelVariant,
                                m: Int? = nil, pipeline requested: Pipeline? = nil,
                                path: DevicePath? = nil) throws -> OpenCLBackend<OneLayerDeviceState> {
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: config.lTrain, m: m ?? config.m,
                               attendQuery: config.attendQuery)
        let trainSpec = try SpecBuffers(context: context, spec: PromptSpec.training(config, bank: bank))
        let state = try OneLayerDeviceState(context: context, shape: shape)
        let chosen = try PipelineRule.oneLayer(requested: requested, variant: variant, shape: shape, spec: trainSpec.spec,
                                               device: context.device)
        let training = OneLayerTraining(state: state, spec: trainSpec, batch: config.batch, lr: config.lr)
        let pipeline: TrainingPipeline
        switch chosen {
        case .pattern: pipeline = try PatternPipeline(training, variant: variant,
                                                      devicePath: try path ?? DevicePath.best(for: context))
        case .fused: pipeline = try FusedPipeline(training, variant: variant)
        case .unfused, .gpt2: pipeline = try UnfusedPipeline(training, variant: variant)
        }
        let backend = OpenCLBackend(context: context, config: config, state: state, pipeline: pipeline)
        let w = ModelWeights<Float>.initial(config)
        if w.m == shape.m { try backend.load(weights: w, mask: [Float](repeating: 1, count: shape.m)) }
        return backend
    }

    public func load(weights: ModelWeights<Float>, mask: [Float]) throws {
        try state.load(weights, mask: mask)
        pipeline.weightsReplaced()
    }

    public func readWeights() throws -> ModelWeights<Float> { try state.readWeights() }
}

extension OpenCLBackend: GPT2Backend where State == GPT2DeviceState {
    /// The GPT-2-style model at its initial weights with zero AdamW moments, on the GPT-2 engine.
    public static func gpt2(config: Config, bank: PatternBank, context: CLContext, variant: KernelVariant,
                            pipeline requested: Pipeline? = nil) throws -> OpenCLBackend<GPT2DeviceState> {
        _ = try PipelineRule.gpt2(requested: requested)
        let trainSpec = try SpecBuffers(context: context, spec: PromptSpec.training(config, bank: bank))
        let state = try GPT2DeviceState(context: context, shape: config.gpt2Shape)
        let engine = try GPT2Engine(state: state, variant: variant,
                                    capacity: max(config.batch, GPT2Engine.evalChunk),
                                    training: GPT2Engine.Training(spec: trainSpec, batch: config.batch,
                                                                  optimizer: config.gpt2Optimizer))
        return OpenCLBackend(context: context, config: config, state: state, pipeline: engine)
    }

    public func load(weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>) throws {
        try state.load(weights: weights, adam: adam)
        pipeline.weightsReplaced()
    }
    public func readWeights() throws -> GPT2Weights<Float> { try state.readWeights() }
    public func readAdam() throws -> GPT2AdamState<Float> { try state.readAdam() }
}
