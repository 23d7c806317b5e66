import ICLCore

/// The pattern-space kernels (`Kernels/pattern_*.cl`): the fused step computed in the coordinates of the
/// prompt basis (relevant patterns, irrelevant patterns, q), where every column has at most three
/// non-zero coefficients. Exact, and usable whenever the basis has at most `maxBasis` vectors. Both kernel variants
/// (`TileKernel`); only the CPU variant's tile kernel reads its tables through a `DevicePath`.
public final class PatternProgram {
    /// The kernel files, in order, with the tile kernel of `tileKernel` (the CPU variant's table reads for `path`), and
    /// the chunk sampler for the device's `target` path (its vector registers; `path` itself where not given).
    public static func sourceFiles(_ tileKernel: TileKernel, path: DevicePath, target: DevicePath? = nil) -> [String] {
        ["sampler.cl"] + (target ?? path).chunkSamplerFiles + ["pattern_common.cl", "pattern_tables.cl"]
            + tileKernel.files(cpu: path.patternReadsFiles + ["tile_cpu.cl", "pattern_tile.cl"], columns: "wg_columns_pattern.cl")
            + ["pattern_reduce.cl", "pattern_grads.cl"]
    }
    /// Largest basis (nRelevant + nIrrelevant + 1) the tables are sized for.
    public static let maxBasis = 64
    /// How the tile kernel runs, and its prompts per tile.
    public let tileKernel: TileKernel
    public var tile: Int { tileKernel.tile }
    public var variant: KernelVariant { tileKernel.variant }
    public let shape: ModelShape
    /// The target-specific table reads this program was built with (portable for the GPU variant, which has none).
    public let path: DevicePath
    let project, tables, tiles, reduce, gradsSGD: CLKernel
    /// Work-group sizes of pattern_tables and pattern_grads_sgd on a CPU device (other devices pick). PoCL makes
    /// each of these kernels one work-group when left to choose, so one thread runs all of it; small groups
    /// spread it over every thread. Traced medians over thousands of steps at B = 1024 on the 2-core VM
    /// (`bench/trace_steps.sh`): the gap from grads to the next tables launch 9.7 → 4.1–4.6 µs, grads
    /// 22 → 20 µs, step period 253 → 242 µs and 264 → 252 µs in two pairs. Why the gap shrinks is not known.
    let tablesGroup, gradsGroup: [Int]?

    public var neuronChunks: Int { (shape.m + 7) / 8 }
    public var paddedNeurons: Int { 8 * neuronChunks }
    /// The basis size padded to whole float8s (the kernels' RMAX): tables, partials and sums use it.
    public var paddedBasis: Int { PatternProgram.padded(basisSize) }
    public var tableCount: Int { paddedBasis * paddedBasis + 2 * paddedBasis * paddedNeurons + paddedNeurons }
    public var partialCount: Int { paddedBasis * paddedBasis + paddedBasis * paddedNeurons }
    static func padded(_ basis: Int) -> Int { 8 * ((basis + 7) / 8) }

    /// The tile kernel of `variant` for a spec's basis at a batch on a device: the CPU variant's tiles of `cpuTile`
    /// prompts, or the largest GPU-variant work-group that fits. Throws the one-sentence refusal naming the limit
    /// when the basis is too large or the device lacks the variant's local memory.
    public static func tileKernel(_ variant: KernelVariant, spec: PromptSpec, shape: ModelShape, batch: Int, cpuTile: Int,
                                  device: CLDeviceInfo, workGroupLimit: Int? = nil) throws -> TileKernel {
        let basis = spec.nRelevant + spec.nIrrelevant + 1, rmax = padded(basis)
        guard basis <= maxBasis else {
            throw PipelineError(.basisTooLarge, "the pattern pipeline needs a prompt basis of at most \(maxBasis) vectors (M1 + M2 + 1, here \(basis)); the fused and unfused pipelines have no such limit.")
        }
        switch variant {
        case .cpu:
            let need = 4 * (rmax * rmax + rmax * 8 * ((shape.m + 7) / 8))
            guard need <= device.localMemSize else {
                throw PipelineError(.tileLocalMemory, "the cpu variant of the pattern pipeline keeps its tile's partial gradients in local memory, \(need) bytes here, but '\(device.name)' has \(device.localMemSize).")
            }
            return .perItem(tile: cpuTile)
        case .gpu:
            return .perGroup(try TileGroup.choose(.pattern, shape: shape, width: basis, batch: batch, device: device,
                                                  workGroupLimit: workGroupLimit))
        }
    }

    /// Whether a prompt spec fits the pattern pipeline of `variant` on the device (its basis size and local memory).
    public static func supports(_ spec: PromptSpec, shape: ModelShape, variant: KernelVariant, device: CLDeviceInfo) -> Bool {
        (try? tileKernel(variant, spec: spec, shape: shape, batch: 1, cpuTile: 1, device: device)) != nil
    }

    /// The basis size (nRelevant + nIrrelevant + 1) this program is compiled for.
    public let basisSize: Int

    /// `path` is the device's best (`DevicePath.best`); the CPU variant runs it where its tables fit (see
    /// `DevicePath.forPattern`) and the portable path otherwise. See `tileKernel` for the refusals.
    public init(context: CLContext, shape: ModelShape, spec: PromptSpec, variant: KernelVariant, batch: Int,
                path: DevicePath, cpuTile: Int) throws {
        let device = context.device
        self.shape = shape
        basisSize = spec.nRelevant + spec.nIrrelevant + 1
        let best = path
        let path = variant == .cpu ? DevicePath.forPattern(path, paddedBasis: PatternProgram.padded(basisSize)) : .portable
        self.path = path
        let defines = ["ICL_R": basisSize, "ICL_RMAX": PatternProgram.padded(basisSize), "ICL_VREGS": best.vectorRegisters]
        let chosen = try PatternProgram.tileKernel(variant, spec: spec, shape: shape, batch: batch, cpuTile: cpuTile, device: device)
        let (tileKernel, program, tiles) = try TileKernel.build(chosen, cpuName: "pattern_tile", context: context, program: {
            try shape.build(files: PatternProgram.sourceFiles($0, path: path, target: best), extra: defines.merging($0.defines) { $1 })
                .build(context)
        }, rechoose: {
            try PatternProgram.tileKernel(variant, spec: spec, shape: shape, batch: batch, cpuTile: cpuTile, device: device,
                                          workGroupLimit: $0)
        })
        self.tileKernel = tileKernel
        self.tiles = tiles
        project = try program.kernel("pattern_project")
        tables = try program.kernel("pattern_tables")
        reduce = try program.kernel("pattern_reduce")
        gradsSGD = try program.kernel("pattern_grads_sgd")
        let cpu = device.kind == .cpu
        tablesGroup = cpu ? [8] : nil
        gradsGroup = cpu ? [8] : nil
    }

    public func tileCount(_ batch: Int) -> Int { LaunchGeometry.tiles(batch, tile: tile) }
    /// Work-items of pattern_tables (the kernel's TABLE_ROWS / 2): one per pair of rows of Ãᵀ, one per pair of padded
    /// neurons (their rows of C̃ and their a); the launch rounds it up to the group, and the kernel skips the rest.
    var tableItems: Int { (paddedBasis + paddedNeurons) / 2 }
    /// Row pairs of each of W_Q, W_K, W_V (the kernels' PAIRS_D): pattern_project and pattern_grads_sgd take a
    /// pair of rows per work-item, pattern_grads_sgd also a pair of W_O rows.
    var rowPairs: Int { (shape.d + 1) / 2 }

    /// Q̃, K̃, Ṽ: the weights applied to the prompt basis, into the workspace's current projection.
    @discardableResult
    public func launchProject(params: CLMemory, basis: SpecBuffers, ws: PatternWorkspace, timed: Bool = false) throws -> CLEvent? {
        precondition(basis.basisSize == basisSize, "pattern program compiled for another basis size")
        try project.set(args: [params, basis.basisPadded, ws.proj])
        return try project.launch(global: [3 * rowPairs], local: nil, timed: timed)
    }

    /// The tables Ã, C̃ᵀ, a for the current weights and a spec's basis; first Q̃, K̃, Ṽ unless the workspace's
    /// projection is already of these weights (only a training step's pattern_grads_sgd makes it so).
    @discardableResult
    public func launchTables(params: CLMemory, a: CLMemory, basis: SpecBuffers, ws: PatternWorkspace,
                             timed: Bool = false) throws -> CLEvent? {
        let R = Int32(basis.basisSize)
        if !ws.projectionIsCurrent { try launchProject(params: params, basis: basis, ws: ws) }
        try tables.set(args: [params, a, ws.proj, ws.tables, R])
        return try tables.launch(global: [tableItems], local: tablesGroup, timed: timed)
    }

    /// Samples, runs forward (and, for training, backward) over `batch` prompts, a tile per work-item (CPU variant) or
    /// work-group (GPU variant); each tile's partials and statistics land in the workspace for `launchReduce`.
    @discardableResult
    public func launchTiles(_ prompts: SpecBuffers, step: Int, firstPrompt: Int = 0, batch: Int,
                            ws: PatternWorkspace, train: Bool, timed: Bool = false) throws -> CLEvent? {
        precondition(prompts.basisSize == basisSize, "pattern program compiled for another basis size")
        precondition(batch <= ws.capacity, "batch exceeds the workspace's capacity")
        let basis: [any CLKernelArgument] = variant == .cpu ? [] : [prompts.relevant, prompts.irrelevant, prompts.q]
        try tiles.set(args: basis + [prompts.tasks]
                           + prompts.samplerArgs(step: step, firstPrompt: firstPrompt, batch: batch)
                           + [ws.tables, ws.partials, ws.partStats, Int32(train ? 1 : 0)])
        let geometry = tileKernel.geometry(tiles: tileCount(batch))
        return try tiles.launch(global: geometry.global, local: geometry.local, timed: timed)
    }

    /// Sums the tiles' partials (in tile order) into the workspace's sums when `train`, and their (mean loss,
    /// errors) into slot `statsSlot` of its stats.
    @discardableResult
    public func launchReduce(ws: PatternWorkspace, batch: Int, train: Bool, statsSlot: Int = 0,
                             timed: Bool = false) throws -> CLEvent? {
        precondition((0..<PatternWorkspace.statsSlots).contains(statsSlot), "no such statistics slot")
        try reduce.set(args: [ws.partials, ws.partStats, ws.sums, ws.stats, Int32(statsSlot), Int32(tileCount(batch)),
                              Int32(batch), Int32(train ? 1 : 0)])
        return try reduce.launch(global: [train ? partialCount / 8 : 1], local: nil, timed: timed)
    }

    /// The four weight gradients from dÃ and dC̃, the masked SGD update old → new, and the projections of
    /// the new weights (the workspace's projection then belongs to `new`). A step whose statistics in slot `statsSlot`
    /// (`launchReduce`'s) have a zero loss back-propagated nothing: its update only copies.
    @discardableResult
    public func launchGradsSGD(old: CLMemory, new: CLMemory, grads: CLMemory, mask: CLMemory, lr: Float,
                               basis: SpecBuffers, ws: PatternWorkspace, statsSlot: Int,
                               timed: Bool = false) throws -> CLEvent? {
        precondition((0..<PatternWorkspace.statsSlots).contains(statsSlot), "no such statistics slot")
        try gradsSGD.set(args: [old, new, grads, basis.basisPadded, ws.proj, ws.sums, mask, lr, ws.projNext, ws.stats,
                                Int32(statsSlot)])
        let event = try gradsSGD.launch(global: [3 * rowPairs + (shape.m + 1) / 2], local: gradsGroup, timed: timed)
        ws.swapProjections()
        return event
    }
}

/// Device buffers of the pattern-space path for up to `capacity` prompts per launch.
public final class PatternWorkspace {
    public let capacity: Int
    let tables, partials, partStats, sums: CLBuffer<Float>
    /// Q̃ | K̃ | Ṽ of the current weights, and the buffer the training step writes the next weights' into.
    private(set) var proj, projNext: CLBuffer<Float>
    /// Whether `proj` holds the projections of the weights the next step reads: set by a training step,
    /// cleared whenever the weights are set from outside. Evaluation workspaces never run a training step,
    /// so they always project afresh.
    public var projectionIsCurrent = false

    func swapProjections() {
        swap(&proj, &projNext)
        projectionIsCurrent = true
    }
    /// Mean loss and error count of tile launches, one (loss, errors) pair per slot: [statsSlots, 2].
    public let stats: CLBuffer<Float>
    /// Training steps whose statistics can wait on the device for one read.
    public static let statsSlots = 8

    public init(context: CLContext, program p: PatternProgram, capacity: Int) throws {
        self.capacity = capacity
        let R = p.paddedBasis, tiles = p.tileCount(capacity)
        // Q̃ | K̃ | Ṽ [d, R] each, then Ṽᵀ [R, d padded to 8] (pattern_common.cl's proj), written as zeros first so the
        // padding that no kernel writes reads as 0. (Written, not filled: with clEnqueueFillBuffer, Oclgrind's
        // --uninitialized check reported the projections that pattern_tables read after pattern_project wrote them.)
        let zeros = [Float](repeating: 0, count: 3 * R * p.shape.d + R * 8 * ((p.shape.d + 7) / 8))
        proj = try context.buffer(zeros, label: "projected basis")
        projNext = try context.buffer(zeros, label: "projected basis (next step)")
        tables = try context.buffer(Float.self, count: p.tableCount, label: "pattern tables")
        partials = try context.buffer(Float.self, count: tiles * p.partialCount, label: "per-tile pattern gradients [\(tiles) tiles]")
        partStats = try context.buffer(Float.self, count: 2 * tiles, label: "per-tile statistics")
        sums = try context.buffer(Float.self, count: p.partialCount + R * R, label: "dÃᵀ | dC̃ | dÃ")
        stats = try context.buffer(Float.self, count: 2 * PatternWorkspace.statsSlots, label: "stats")
    }

}
