import ICLCore

/// The `opencl` backend: weights, gradients and a batch workspace resident on one OpenCL device.
/// A training step is the pattern-space pipeline (three launches; the CPU variant's default where the basis
/// fits), the dense fused one (four launches, prompts sampled inside the tile kernel) or the unfused one
/// (nine launches: sample, attention, MLP, hinge, stats, MLP backward, attention backward, the four weight
/// gradients in one launch, SGD). Only (loss, errors) come back: one 8-byte read per step from `trainStep`;
/// `trainSteps` keeps the device a step or a group of steps ahead and reads a group's statistics at once.
public final class OpenCLBackend: Backend {
    public let context: CLContext
    public let config: Config
    public let bank: PatternBank
    public let variant: KernelVariant
    /// Neurons of the resident model (config.m, or fewer for a compacted checkpoint).
    public let m: Int
    public let pipeline: Pipeline
    public let trainProgram: ModelProgram
    public internal(set) var fusedTrain: (program: FusedProgram, workspace: FusedWorkspace)?
    public internal(set) var patternTrain: (program: PatternProgram, workspace: PatternWorkspace)?
    var patternEval: [[Int]: (program: PatternProgram, workspace: PatternWorkspace)] = [:]
    var fusedEval: [Int: (program: FusedProgram, workspace: FusedWorkspace)] = [:]
    public let trainSpec: SpecBuffers
    var trainWorkspace: Workspace?
    /// W_Q | W_K | W_V | W_O, and the gradients in the same layout. The fused pipeline writes each
    /// step's new parameters into `spare` and swaps.
    public private(set) var params: CLBuffer<Float>
    public internal(set) var spare: CLBuffer<Float>
    public let grads: CLBuffer<Float>
    public let a, mask: CLBuffer<Float>
    var evalPrograms: [Int: (program: ModelProgram, workspace: Workspace)] = [:]
    static let evalChunk = 16384

    /// `pipeline` nil picks, for the CPU variant, pattern-space when the prompt basis is small enough, else
    /// dense fused when the device has the local memory for it; the GPU variant runs unfused.
    public init(config: Config, bank: PatternBank, context: CLContext, variant: KernelVariant, m: Int? = nil,
                pipeline: Pipeline? = nil) throws {
        self.context = context
        self.config = config
        self.bank = bank
        self.variant = variant
        self.m = m ?? config.m
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: config.lTrain, m: self.m,
                               attendQuery: config.attendQuery)
        trainProgram = try ModelProgram(context: context, shape: shape, variant: variant)
        trainSpec = try SpecBuffers(context: context, spec: PromptSpec.training(config, bank: bank))
        let fits = FusedProgram.localBytes(shape) <= context.device.localMemSize
        let patternFits = PatternProgram.supports(trainSpec.spec, shape: shape, device: context.device)
        self.pipeline = pipeline ?? (variant != .cpu ? .unfused : patternFits ? .pattern : fits ? .fused : .unfused)
        if self.pipeline == .pattern {
            guard patternFits else {
                throw CLError(call: "OpenCLBackend", status: -30,
                              detail: "the pattern-space pipeline needs a prompt basis of at most \(PatternProgram.maxBasis) vectors (M1 + M2 + 1) and its tables in local memory; use the fused or unfused pipeline")
            }
            let p = try PatternProgram(context: context, shape: shape, basisSize: trainSpec.basisSize,
                                       tile: OpenCLBackend.tileSize(batch: config.batch, device: context.device, maxTile: 512))
            patternTrain = (p, try PatternWorkspace(context: context, program: p, capacity: config.batch))
        }
        if self.pipeline == .fused {
            let p = try FusedProgram(context: context, shape: shape,
                                     tile: OpenCLBackend.tileSize(batch: config.batch, device: context.device))
            fusedTrain = (p, try FusedWorkspace(context: context, program: p, capacity: config.batch))
        }
        params = try context.buffer(Float.self, count: shape.parameterCount, label: "parameters")
        spare = try context.buffer(Float.self, count: shape.parameterCount, label: "parameters (next step)")
        grads = try context.buffer(Float.self, count: shape.parameterCount, label: "gradients")
        a = try context.buffer(Float.self, count: self.m, label: "a")
        mask = try context.buffer(Float.self, count: self.m, label: "neuron mask")
        let w = ModelWeights<Float>.initial(config)
        if w.m == self.m { try load(weights: w, mask: [Float](repeating: 1, count: self.m)) }
    }

    /// Prompts per work-item of the tile kernels: large tiles amortise the per-tile partial gradients, but
    /// every compute unit needs four tiles to balance the load. The pattern-space tiles' partials are small
    /// (a few KiB), so they may grow to 512 prompts; the fused ones stop at 64.
    public static func tileSize(batch: Int, device: CLDeviceInfo, maxTile: Int = 64) -> Int {
        max(8, min(maxTile, batch / (4 * max(1, device.computeUnits))))
    }

    public var deviceDescription: String {
        let dev = context.device
        let kind: String = dev.kind.rawValue
        let details: String = kind + ", " + dev.platformName + ", driver " + dev.driverVersion
        return "opencl: " + dev.name + " (" + details + "), " + variant.rawValue + " kernels, " + pipeline.rawValue + " pipeline"
    }

    public func load(weights w: ModelWeights<Float>, mask newMask: [Float]) throws {
        precondition(w.m == m && w.d == config.d, "weights do not match the backend's shape")
        try params.write(w.packed)
        try a.write(w.a)
        try mask.write(newMask)
        patternTrain?.workspace.projectionIsCurrent = false    // the weights changed outside a training step
    }

    public func readWeights() throws -> ModelWeights<Float> {
        ModelWeights(packed: try params.read(), d: config.d, m: m, a: try a.read())
    }

    public func workspaceForTraining() throws -> Workspace {
        if let ws = trainWorkspace { return ws }
        let ws = try Workspace(context: context, shape: trainProgram.shape, capacity: config.batch)
        trainWorkspace = ws
        return ws
    }

    /// Steps whose (loss, errors) can wait on the device in separate slots of the stats buffer: the pattern
    /// pipeline's tile kernel writes any slot; the others always write slot 0.
    public var statsSlots: Int { patternTrain == nil ? 1 : PatternWorkspace.statsSlots }

    /// Enqueues one full SGD step (nothing waits); returns the buffer whose slot `statsSlot` (floats
    /// 2·statsSlot, 2·statsSlot + 1) its (loss, errors) land in. statsSlot < statsSlots.
    @discardableResult
    public func enqueueTrainStep(step: Int, statsSlot: Int = 0) throws -> CLBuffer<Float> {
        precondition(statsSlot < statsSlots, "the pipeline has no statistics slot \(statsSlot)")
        if let (p, ws) = patternTrain {
            try p.launchTables(params: params, a: a, basis: trainSpec, ws: ws)
            try p.launchTiles(trainSpec, step: step, batch: config.batch, ws: ws, train: true, statsSlot: statsSlot)
            try p.launchGradsSGD(old: params, new: spare, grads: grads, mask: mask, lr: config.lr, basis: trainSpec, ws: ws)
            swap(&params, &spare)
            return ws.stats
        }
        if let (p, ws) = fusedTrain {
            try p.launchPrecompute(params: params, a: a, ws: ws)
            try p.launchTiles(trainSpec, step: step, batch: config.batch, a: a, ws: ws, train: true)
            try p.launchReduce(ws: ws, batch: config.batch, train: true)
            try p.launchGradsSGD(old: params, new: spare, grads: grads, mask: mask, lr: config.lr, ws: ws)
            swap(&params, &spare)
            return ws.stats
        }
        let ws = try workspaceForTraining(), p = trainProgram
        try p.launchForwardBackward(ws, trainSpec, step: step, params: params, a: a, grads: grads, batch: config.batch)
        try p.launchSGD(params: params, grads: grads, mask: mask, lr: config.lr)
        return ws.stats
    }

    public func trainStep(step: Int) throws -> BatchStats {
        let s = try enqueueTrainStep(step: step).read(count: 2)
        return stats(s[0], s[1])
    }

    /// Pipelined: steps are enqueued in groups of `statsSlots` (one slot each), each group followed by one
    /// non-blocking read of its statistics, and the next group is enqueued before the host waits for the last
    /// one's, so the device always has work queued while the host checks losses. A group's read is queued before
    /// the next group's steps overwrite the slots; the in-order queue keeps them apart. If enqueueing a step
    /// fails, the steps already enqueued are read and reported first, so the caller knows exactly which steps
    /// updated the weights and which one failed.
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
        var next = steps.lowerBound
        while true {
            while going && next < steps.upperBound && inFlight.count < 2 {
                let first = next, count = min(statsSlots, steps.upperBound - next)
                var statsBuffer: CLBuffer<Float>?, failure: Error?
                do {
                    for slot in 0..<count {
                        statsBuffer = try enqueueTrainStep(step: first + slot, statsSlot: slot)
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

    /// The inference program and workspace for a context length (built once, then reused).
    public func inference(length: Int) throws -> (program: ModelProgram, workspace: Workspace) {
        if let e = evalPrograms[length] { return e }
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: length, m: m, attendQuery: config.attendQuery)
        let e = (try ModelProgram(context: context, shape: shape, variant: variant),
                 try Workspace(context: context, shape: shape, capacity: OpenCLBackend.evalChunk))
        evalPrograms[length] = e
        return e
    }

    /// The fused inference program and workspace for a context length.
    public func fusedInference(length: Int) throws -> (program: FusedProgram, workspace: FusedWorkspace) {
        if let e = fusedEval[length] { return e }
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: length, m: m, attendQuery: config.attendQuery)
        let p = try FusedProgram(context: context, shape: shape, tile: 64)
        let e = (p, try FusedWorkspace(context: context, program: p, capacity: OpenCLBackend.evalChunk))
        fusedEval[length] = e
        return e
    }

    /// The pattern-space inference program and workspace for a context length.
    public func patternInference(length: Int, basisSize: Int) throws -> (program: PatternProgram, workspace: PatternWorkspace) {
        if let e = patternEval[[length, basisSize]] { return e }
        let shape = ModelShape(dX: config.dX, dY: config.dY, length: length, m: m, attendQuery: config.attendQuery)
        let p = try PatternProgram(context: context, shape: shape, basisSize: basisSize, tile: 64)
        let e = (p, try PatternWorkspace(context: context, program: p, capacity: OpenCLBackend.evalChunk))
        patternEval[[length, basisSize]] = e
        return e
    }

    /// Device tables of the evaluation specs seen so far.
    lazy var evalSpecs = SpecBufferCache(context: context)

    public func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats {
        let specBuffers = try evalSpecs.buffers(spec)
        let evalShape = ModelShape(dX: config.dX, dY: config.dY, length: spec.length, m: m, attendQuery: config.attendQuery)
        if pipeline == .pattern && PatternProgram.supports(spec, shape: evalShape, device: context.device) {
            let (p, ws) = try patternInference(length: spec.length, basisSize: specBuffers.basisSize)
            try p.launchTables(params: params, a: a, basis: specBuffers, ws: ws)
            return try accumulate(count) { first, n in
                try p.launchTiles(specBuffers, step: 0, firstPrompt: first, batch: n, ws: ws, train: false)
                return ws.stats
            }
        }
        if pipeline != .unfused {
            let (p, ws) = try fusedInference(length: spec.length)
            try p.launchPrecompute(params: params, a: a, ws: ws)
            return try accumulate(count) { first, n in
                try p.launchTiles(specBuffers, step: 0, firstPrompt: first, batch: n, a: a, ws: ws, train: false)
                try p.launchReduce(ws: ws, batch: n, train: false)
                return ws.stats
            }
        }
        let (p, ws) = try inference(length: spec.length)
        return try accumulate(count) { first, n in
            try p.launchSample(ws, specBuffers, step: 0, firstPrompt: first, batch: n)
            try p.launchAttentionForward(ws, params: params, batch: n)
            try p.launchMLPForward(ws, params: params, a: a, batch: n)
            try p.launchHinge(ws, batch: n)
            try p.launchReduceStats(ws, batch: n)
            return ws.stats
        }
    }

    /// Runs `chunk(first, count)` over the prompts in chunks of `evalChunk`; each returns the buffer holding its
    /// (mean loss, errors). Returns the statistics of all `count` prompts.
    func accumulate(_ count: Int, _ chunk: (Int, Int) throws -> CLBuffer<Float>) throws -> BatchStats {
        var lossSum: Double = 0, errors = 0
        for c in chunks(of: count, size: OpenCLBackend.evalChunk) {
            let s = try chunk(c.first, c.count).read(count: 2)
            lossSum += Double(s[0]) * Double(c.count)
            errors += Int(s[1])
        }
        return BatchStats(loss: Float(lossSum / Double(max(count, 1))), errors: errors, prompts: count)
    }
}
