import ICLCore

/// The `opencl` backend: weights, gradients and a batch workspace resident on one OpenCL device.
/// A training step is nine launches (sample, attention, MLP, hinge, stats, MLP backward, attention
/// backward, the four weight gradients in one launch, SGD) and one 8-byte read of (loss, errors).
public final class OpenCLBackend: Backend {
    public let context: CLContext
    public let config: Config
    public let bank: PatternBank
    public let variant: KernelVariant
    /// Neurons of the resident model (config.m, or fewer for a compacted checkpoint).
    public let m: Int
    let trainProgram: ModelProgram
    let trainSpec: SpecBuffers
    var trainWorkspace: Workspace?
    /// W_Q | W_K | W_V | W_O, and the gradients in the same layout.
    let params, grads: CLBuffer<Float>
    let a, mask: CLBuffer<Float>
    var evalPrograms: [Int: (program: ModelProgram, workspace: Workspace)] = [:]
    static let evalChunk = 4096

    public init(config: Config, bank: PatternBank, context: CLContext, variant: KernelVariant, m: Int? = nil) throws {
        self.context = context
        self.config = config
        self.bank = bank
        self.variant = variant
        self.m = m ?? config.m
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: config.lTrain, m: self.m,
                               attendQuery: config.attendQuery)
        trainProgram = try ModelProgram(context: context, shape: shape, variant: variant)
        trainSpec = try SpecBuffers(context: context, spec: PromptSpec.training(config, bank: bank))
        params = try context.buffer(Float.self, count: shape.parameterCount, label: "parameters")
        grads = try context.buffer(Float.self, count: shape.parameterCount, label: "gradients")
        a = try context.buffer(Float.self, count: self.m, label: "a")
        mask = try context.buffer(Float.self, count: self.m, label: "neuron mask")
        let w = ModelWeights<Float>.initial(config)
        if w.m == self.m { try load(weights: w, mask: [Float](repeating: 1, count: self.m)) }
    }

    public var deviceDescription: String {
        let dev = context.device
        let kind: String = dev.kind.rawValue
        let details: String = kind + ", " + dev.platformName + ", driver " + dev.driverVersion
        return "opencl: " + dev.name + " (" + details + "), " + variant.rawValue + " kernels"
    }

    public func load(weights w: ModelWeights<Float>, mask newMask: [Float]) throws {
        precondition(w.m == m && w.d == config.d, "weights do not match the backend's shape")
        try params.write(w.packed)
        try a.write(w.a)
        try mask.write(newMask)
    }

    public func readWeights() throws -> ModelWeights<Float> {
        ModelWeights(packed: try params.read(), d: config.d, m: m, a: try a.read())
    }

    func workspaceForTraining() throws -> Workspace {
        if let ws = trainWorkspace { return ws }
        let ws = try Workspace(context: context, shape: trainProgram.shape, capacity: config.batch)
        trainWorkspace = ws
        return ws
    }

    /// Enqueues one full SGD step (nothing waits); stats land in the workspace.
    public func enqueueTrainStep(step: Int) throws {
        let ws = try workspaceForTraining(), p = trainProgram, B = config.batch
        try p.launchSample(ws, trainSpec, step: step, batch: B)
        try p.launchAttentionForward(ws, params: params, batch: B)
        try p.launchMLPForward(ws, params: params, a: a, batch: B)
        try p.launchHinge(ws, batch: B)
        try p.launchReduceStats(ws, batch: B)
        try p.launchMLPBackward(ws, params: params, a: a, batch: B)
        try p.launchAttentionBackward(ws, params: params, batch: B)
        try p.launchWeightGrads(ws, grads: grads, batch: B)
        try p.launchSGD(params: params, grads: grads, mask: mask, lr: config.lr)
    }

    public func trainStep(step: Int) throws -> BatchStats {
        try enqueueTrainStep(step: step)
        let s = try workspaceForTraining().stats.read()
        return BatchStats(loss: s[0], errors: Int(s[1]), prompts: config.batch)
    }

    /// The inference program and workspace for a context length (built once, then reused).
    public func inference(length: Int) throws -> (program: ModelProgram, workspace: Workspace) {
        if let e = evalPrograms[length] { return e }
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: length, m: m, attendQuery: config.attendQuery)
        let e = (try ModelProgram(context: context, shape: shape, variant: variant),
                 try Workspace(context: context, shape: shape, capacity: OpenCLBackend.evalChunk))
        evalPrograms[length] = e
        return e
    }

    public func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats {
        let (p, ws) = try inference(length: spec.length)
        let specBuffers = try SpecBuffers(context: context, spec: spec)
        var lossSum: Double = 0, errors = 0
        for chunk in chunks(of: count, size: OpenCLBackend.evalChunk) {
            try p.launchSample(ws, specBuffers, step: 0, firstPrompt: chunk.first, batch: chunk.count)
            try p.launchAttentionForward(ws, params: params, batch: chunk.count)
            try p.launchMLPForward(ws, params: params, a: a, batch: chunk.count)
            try p.launchHinge(ws, batch: chunk.count)
            try p.launchReduceStats(ws, batch: chunk.count)
            let s = try ws.stats.read()
            lossSum += Double(s[0]) * Double(chunk.count)
            errors += Int(s[1])
        }
        return BatchStats(loss: Float(lossSum / Double(max(count, 1))), errors: errors, prompts: count)
    }
}
