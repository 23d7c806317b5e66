import ICLCore

/// The fused kernels (`Kernels/fused.cl`) compiled for one shape, with typed launchers.
public final class FusedProgram {
    public static let sourceFiles = ["sampler.cl", "fused.cl"]
    /// Prompts per work-item of `fused_tile`.
    public let tile: Int
    public let shape: ModelShape
    let precompute, tiles, reduce, gradsSGD, sampleDump: CLKernel

    /// Float8 chunks per d-vector and per m-vector, and the padded d width.
    public var chunks: Int { (shape.d + 7) / 8 }
    public var neuronChunks: Int { (shape.m + 7) / 8 }
    public var paddedWidth: Int { 8 * chunks }
    /// Floats of Aᵀ | C | Cᵀ | a, as fused_precompute writes them.
    public var derivedCount: Int { 8 * (shape.d * chunks + shape.m * chunks + shape.d * neuronChunks + neuronChunks) }
    /// Floats of dA | dC: (d + m) padded rows.
    public var partialCount: Int { (shape.d + shape.m) * paddedWidth }

    /// Local memory the tile kernel needs; the fused path runs only where the device has it.
    public static func localBytes(_ shape: ModelShape) -> Int { (shape.d + shape.m) * ((shape.d + 7) / 8) * 32 }

    public init(context: CLContext, shape: ModelShape, tile: Int = 32) throws {
        self.shape = shape
        self.tile = tile
        let program = try shape.build(files: FusedProgram.sourceFiles, extra: ["ICL_TILE": tile]).build(context)
        precompute = try program.kernel("fused_precompute")
        tiles = try program.kernel("fused_tile")
        reduce = try program.kernel("fused_reduce")
        gradsSGD = try program.kernel("fused_grads_sgd")
        sampleDump = try program.kernel("fused_sample_dump")
    }

    public func tileCount(_ batch: Int) -> Int { LaunchGeometry.tiles(batch, tile: tile) }

    @discardableResult
    public func launchPrecompute(params: CLMemory, a: CLMemory, ws: FusedWorkspace, timed: Bool = false) throws -> CLEvent? {
        try precompute.set(args: [params, a, ws.derived])
        return try precompute.launch(global: [derivedCount], local: nil, timed: timed)
    }

    /// Samples, runs and (when `train`) back-propagates `batch` prompts; partials land in the workspace.
    @discardableResult
    public func launchTiles(_ prompts: SpecBuffers, step: Int, firstPrompt: Int = 0, batch: Int, a: CLMemory,
                            ws: FusedWorkspace, train: Bool, timed: Bool = false) throws -> CLEvent? {
        try tiles.set(args: [prompts.relevantPadded, prompts.irrelevantPadded, prompts.qPadded, prompts.tasks]
                           + prompts.samplerArgs(step: step, firstPrompt: firstPrompt, batch: batch)
                           + [ws.derived, a, ws.partials, ws.partStats, Int32(train ? 1 : 0)])
        return try tiles.launch(global: [tileCount(batch)], local: [1], timed: timed)
    }

    /// Check hook: the fused sampler's prompts [batch, l+1, d] and labels, written out for comparison.
    public func sampleForCheck(_ prompts: SpecBuffers, step: Int, batch: Int, context: CLContext) throws -> PromptBatch {
        let out = try context.buffer(Float.self, count: batch * shape.columns * shape.d, label: "sampled prompts")
        let labels = try context.buffer(Float.self, count: batch, label: "sampled labels")
        try sampleDump.set(args: [prompts.relevantPadded, prompts.irrelevantPadded, prompts.qPadded, prompts.tasks]
                           + prompts.samplerArgs(step: step, firstPrompt: 0, batch: batch)
                           + [out, labels])
        try sampleDump.launch(global: [batch], local: nil)
        return PromptBatch(prompts: try out.read(), labels: try labels.read(), batch: batch, length: shape.length, d: shape.d)
    }

    @discardableResult
    public func launchReduce(ws: FusedWorkspace, batch: Int, train: Bool, timed: Bool = false) throws -> CLEvent? {
        let entries = train ? partialCount / 8 : 1
        try reduce.set(args: [ws.partials, ws.partStats, ws.gradientsAC, ws.stats, Int32(tileCount(batch)),
                              Int32(batch), Int32(entries)])
        return try reduce.launch(global: [entries], local: nil, timed: timed)
    }

    @discardableResult
    public func launchGradsSGD(old: CLMemory, new: CLMemory, grads: CLMemory, mask: CLMemory, lr: Float,
                               ws: FusedWorkspace, timed: Bool = false) throws -> CLEvent? {
        try gradsSGD.set(args: [old, new, grads, ws.gradientsAC, mask, lr])
        return try gradsSGD.launch(global: [shape.parameterCount], local: nil, timed: timed)
    }
}

/// Device buffers of the fused path for up to `capacity` prompts per launch.
public final class FusedWorkspace {
    public let capacity: Int
    /// Aᵀ | C | Cᵀ | a, padded rows.
    public let derived: CLBuffer<Float>
    /// Per tile: dA | dC partials.
    public let partials: CLBuffer<Float>
    /// Per tile: loss sum, error count.
    public let partStats: CLBuffer<Float>
    /// dA | dC summed over the batch.
    public let gradientsAC: CLBuffer<Float>
    /// Mean loss, error count.
    public let stats: CLBuffer<Float>

    public init(context: CLContext, program p: FusedProgram, capacity: Int) throws {
        self.capacity = capacity
        let tiles = p.tileCount(capacity)
        derived = try context.buffer(Float.self, count: p.derivedCount, label: "Aᵀ | C | Cᵀ | a")
        partials = try context.buffer(Float.self, count: tiles * p.partialCount, label: "per-tile partial gradients [\(tiles) tiles]")
        partStats = try context.buffer(Float.self, count: 2 * tiles, label: "per-tile statistics")
        gradientsAC = try context.buffer(Float.self, count: p.partialCount, label: "dA | dC")
        stats = try context.buffer(Float.self, count: 2, label: "stats")
    }
}
