import ICLCore

/// The fused kernels (`Kernels/fused.cl`, and the tile kernel of either variant) compiled for one shape, with
/// typed launchers.
public final class FusedProgram {
    /// The kernel files of a tile kernel, in order, with the chunk sampler for the device's `target` path.
    public static func sourceFiles(_ tileKernel: TileKernel, target: DevicePath) -> [String] {
        ["sampler.cl"] + target.chunkSamplerFiles + ["fused.cl"]
            + tileKernel.files(cpu: ["tile_cpu.cl", "fused_tile.cl"], columns: "wg_columns_dense.cl")
    }
    /// How the tile kernel runs, and its prompts per tile.
    public let tileKernel: TileKernel
    public var tile: Int { tileKernel.tile }
    public var variant: KernelVariant { tileKernel.variant }
    public let shape: ModelShape
    let precompute, tiles, reduce, gradsSGD, sampleDump: CLKernel

    /// Float8 chunks per d-vector and per m-vector, and the padded d width.
    public var chunks: Int { (shape.d + 7) / 8 }
    public var neuronChunks: Int { (shape.m + 7) / 8 }
    public var paddedWidth: Int { 8 * chunks }
    /// Floats of Aᵀ | C | Cᵀ | a, as fused_precompute writes them.
    public var derivedCount: Int { 8 * (shape.d * chunks + shape.m * chunks + shape.d * neuronChunks + neuronChunks) }
    /// Work-items of fused_precompute (a float8 chunk of Aᵀ, C or a each) and of fused_grads_sgd (a chunk of a
    /// parameter row each).
    var precomputeItems: Int { (shape.d + shape.m) * chunks + neuronChunks }
    var gradientItems: Int { (3 * shape.d + shape.m) * chunks }
    /// Floats of dA | dC: (d + m) padded rows.
    public var partialCount: Int { (shape.d + shape.m) * paddedWidth }

    /// Local memory the CPU variant's tile kernel needs; that variant runs only where the device has it.
    public static func localBytes(_ shape: ModelShape) -> Int { (shape.d + shape.m) * ((shape.d + 7) / 8) * 32 }

    /// The tile kernel of `variant` for a training or evaluation batch on a device: the CPU variant's tiles of
    /// `cpuTile` prompts, or the largest GPU-variant work-group that fits. Throws the one-sentence refusal naming the
    /// device's limit when the variant's local memory does not fit.
    public static func tileKernel(_ variant: KernelVariant, shape: ModelShape, batch: Int, cpuTile: Int,
                                  device: CLDeviceInfo, workGroupLimit: Int? = nil) throws -> TileKernel {
        switch variant {
        case .cpu:
            let need = localBytes(shape)
            guard need <= device.localMemSize else {
                throw PipelineError(.tileLocalMemory, "the cpu variant of the fused pipeline keeps its tile's partial gradients in local memory, (d + m)·⌈d/8⌉·32 = \(need) bytes, but '\(device.name)' has \(device.localMemSize).")
            }
            return .perItem(tile: cpuTile)
        case .gpu:
            return .perGroup(try TileGroup.choose(.fused, shape: shape, width: shape.d, batch: batch, device: device,
                                                  workGroupLimit: workGroupLimit))
        }
    }

    /// Builds the program for `variant` at a batch (which sizes the tiles); see `tileKernel`. The CPU tile's loops and
    /// the chunk sampler are laid out for the vector registers of the device's best path (`DevicePath.vectorRegisters`,
    /// `philoxFile`; no rounding changes).
    public convenience init(context: CLContext, shape: ModelShape, variant: KernelVariant, batch: Int, cpuTile: Int) throws {
        let device = context.device
        try self.init(context: context, shape: shape,
                      tileKernel: try FusedProgram.tileKernel(variant, shape: shape, batch: batch, cpuTile: cpuTile, device: device),
                      target: try DevicePath.best(for: context)) {
            try FusedProgram.tileKernel(variant, shape: shape, batch: batch, cpuTile: cpuTile, device: device, workGroupLimit: $0)
        }
    }

    init(context: CLContext, shape: ModelShape, tileKernel chosen: TileKernel, target: DevicePath,
         rechoose: (Int) throws -> TileKernel) throws {
        self.shape = shape
        let (tileKernel, program, tiles) = try TileKernel.build(chosen, cpuName: "fused_tile", context: context, program: {
            try shape.build(files: FusedProgram.sourceFiles($0, target: target),
                            extra: $0.defines.merging(["ICL_VREGS": target.vectorRegisters]) { $1 })
                .build(context)
        }, rechoose: rechoose)
        self.tileKernel = tileKernel
        self.tiles = tiles
        precompute = try program.kernel("fused_precompute")
        reduce = try program.kernel("fused_reduce")
        gradsSGD = try program.kernel("fused_grads_sgd")
        sampleDump = try program.kernel("fused_sample_dump")
    }

    public func tileCount(_ batch: Int) -> Int { LaunchGeometry.tiles(batch, tile: tile) }

    @discardableResult
    public func launchPrecompute(params: CLMemory, a: CLMemory, ws: FusedWorkspace, timed: Bool = false) throws -> CLEvent? {
        try precompute.set(args: [params, a, ws.derived])
        return try precompute.launch(global: [precomputeItems], local: nil, timed: timed)
    }

    /// Samples, runs and (when `train`) back-propagates `batch` prompts; partials land in the workspace.
    @discardableResult
    public func launchTiles(_ prompts: SpecBuffers, step: Int, firstPrompt: Int = 0, batch: Int,
                            ws: FusedWorkspace, train: Bool, timed: Bool = false) throws -> CLEvent? {
        // The CPU variant reads the basis as padded float8 rows, the GPU variant as plain rows.
        let basis: [any CLKernelArgument] = variant == .cpu ? [prompts.relevantPadded, prompts.irrelevantPadded, prompts.qPadded]
                                           : [prompts.relevant, prompts.irrelevant, prompts.q]
        try tiles.set(args: basis + [prompts.tasks]
                           + prompts.samplerArgs(step: step, firstPrompt: firstPrompt, batch: batch)
                           + [ws.derived, ws.partials, ws.partStats, Int32(train ? 1 : 0)])
        let geometry = tileKernel.geometry(tiles: tileCount(batch))
        return try tiles.launch(global: geometry.global, local: geometry.local, timed: timed)
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

    /// The weight gradients from dA and dC and the masked SGD update old → new; a step whose statistics
    /// (`launchReduce`'s) have a zero loss back-propagated nothing, and its update only copies.
    @discardableResult
    public func launchGradsSGD(old: CLMemory, new: CLMemory, grads: CLMemory, mask: CLMemory, lr: Float,
                               ws: FusedWorkspace, timed: Bool = false) throws -> CLEvent? {
        try gradsSGD.set(args: [old, new, grads, ws.gradientsAC, mask, lr, ws.stats])
        return try gradsSGD.launch(global: [gradientItems], local: nil, timed: timed)
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
