import ICLCore

/// The pattern-space kernels (`Kernels/pattern.cl`): the fused step computed in the coordinates of the
/// prompt basis (relevant patterns, irrelevant patterns, q), where every column has at most three
/// non-zero coefficients. Exact, and usable whenever the basis has at most `maxBasis` vectors.
public final class PatternProgram {
    public static let sourceFiles = ["common.cl", "sampler.cl", "pattern.cl"]
    /// Largest basis (nRelevant + nIrrelevant + 1) the local-memory tables are sized for.
    public static let maxBasis = 64
    public let tile: Int
    public let shape: ModelShape
    let project, tables, tiles, reduce, gradsSGD: CLKernel

    public var neuronChunks: Int { (shape.m + 7) / 8 }
    public var paddedNeurons: Int { 8 * neuronChunks }
    public var tableCount: Int { PatternProgram.maxBasis * PatternProgram.maxBasis + 2 * PatternProgram.maxBasis * paddedNeurons + paddedNeurons }
    public var partialCount: Int { PatternProgram.maxBasis * PatternProgram.maxBasis + PatternProgram.maxBasis * paddedNeurons }

    /// Whether a prompt spec fits (its basis size) and the device has the local memory for the tables.
    public static func supports(_ spec: PromptSpec, shape: ModelShape, device: CLDeviceInfo) -> Bool {
        let basis = spec.nRelevant + spec.nIrrelevant + 1
        let local = 4 * (maxBasis * maxBasis + maxBasis * 8 * ((shape.m + 7) / 8))
        return basis <= maxBasis && local <= device.localMemSize
    }

    /// The basis size (nRelevant + nIrrelevant + 1) this program is compiled for.
    public let basisSize: Int

    public init(context: CLContext, shape: ModelShape, basisSize: Int, tile: Int = 32) throws {
        precondition(basisSize <= PatternProgram.maxBasis)
        self.shape = shape
        self.basisSize = basisSize
        self.tile = tile
        let program = try shape.build(context, files: PatternProgram.sourceFiles,
                                      extra: ["ICL_TILE": tile, "ICL_R": basisSize, "ICL_RMAX": PatternProgram.maxBasis])
        project = try program.kernel("pattern_project")
        tables = try program.kernel("pattern_tables")
        tiles = try program.kernel("pattern_tile")
        reduce = try program.kernel("pattern_reduce")
        gradsSGD = try program.kernel("pattern_grads_sgd")
    }

    public func tileCount(_ batch: Int) -> Int { (batch + tile - 1) / tile }

    /// Q̃, K̃, Ṽ: the weights applied to the prompt basis.
    @discardableResult
    public func launchProject(params: CLMemory, basis: SpecBuffers, ws: PatternWorkspace, timed: Bool = false) throws -> CLEvent? {
        let R = Int32(basis.basisSize)
        try project.set(args: [params, basis.basisPadded, ws.proj, R])
        return try project.launch(global: [3 * Int(R) * shape.d], local: nil, timed: timed)
    }

    /// Q̃, K̃, Ṽ and the tables Ã, C̃ᵀ, a for the current weights and a spec's basis.
    @discardableResult
    public func launchTables(params: CLMemory, a: CLMemory, basis: SpecBuffers, ws: PatternWorkspace,
                             timed: Bool = false) throws -> CLEvent? {
        let R = Int32(basis.basisSize)
        try launchProject(params: params, basis: basis, ws: ws)
        try tables.set(args: [params, a, ws.proj, ws.tables, R])
        return try tables.launch(global: [tableCount], local: nil, timed: timed)
    }

    @discardableResult
    public func launchTiles(_ prompts: SpecBuffers, step: Int, firstPrompt: Int = 0, batch: Int,
                            ws: PatternWorkspace, train: Bool, timed: Bool = false) throws -> CLEvent? {
        precondition(prompts.basisSize == basisSize, "pattern program compiled for another basis size")
        try tiles.set(args: [prompts.tasks]
                           + prompts.samplerArgs(step: step, firstPrompt: firstPrompt, batch: batch)
                           + [ws.tables, ws.partials, ws.partStats, Int32(train ? 1 : 0)])
        return try tiles.launch(global: [tileCount(batch)], local: [1], timed: timed)
    }

    @discardableResult
    public func launchReduce(ws: PatternWorkspace, batch: Int, train: Bool, timed: Bool = false) throws -> CLEvent? {
        let entries = train ? partialCount / 8 : 1
        try reduce.set(args: [ws.partials, ws.partStats, ws.sums, ws.stats, Int32(tileCount(batch)), Int32(batch),
                              Int32(entries)])
        return try reduce.launch(global: [entries], local: nil, timed: timed)
    }

    /// The four weight gradients from dÃ and dC̃, and the masked SGD update old → new.
    @discardableResult
    public func launchGradsSGD(old: CLMemory, new: CLMemory, grads: CLMemory, mask: CLMemory, lr: Float,
                               basis: SpecBuffers, ws: PatternWorkspace, timed: Bool = false) throws -> CLEvent? {
        try gradsSGD.set(args: [old, new, grads, basis.basisPadded, ws.proj, ws.sums, mask, lr])
        return try gradsSGD.launch(global: [3 * shape.d + shape.m], local: nil, timed: timed)
    }
}

/// Device buffers of the pattern-space path for up to `capacity` prompts per launch.
public final class PatternWorkspace {
    public let capacity: Int
    let proj, tables, partials, partStats, sums: CLBuffer<Float>
    /// Mean loss and error count of the last reduce.
    public let stats: CLBuffer<Float>

    public init(context: CLContext, program p: PatternProgram, capacity: Int) throws {
        self.capacity = capacity
        let R = PatternProgram.maxBasis, tiles = p.tileCount(capacity)
        proj = try context.buffer(Float.self, count: 3 * R * p.shape.d, label: "projected basis")
        tables = try context.buffer(Float.self, count: p.tableCount, label: "pattern tables")
        partials = try context.buffer(Float.self, count: tiles * p.partialCount, label: "per-tile pattern gradients [\(tiles) tiles]")
        partStats = try context.buffer(Float.self, count: 2 * tiles, label: "per-tile statistics")
        sums = try context.buffer(Float.self, count: p.partialCount + R * R, label: "dÃᵀ | dC̃ | dÃ")
        stats = try context.buffer(Float.self, count: 2, label: "stats")
    }

}
