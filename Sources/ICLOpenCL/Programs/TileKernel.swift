import ICLCore

/// How a fused pipeline's tile kernel runs (the dense `fused` and the pattern-space `pattern` pipelines share it):
/// - `perItem`: the CPU variant, one work-item (a work-group of 1) per tile of `tile` prompts, its partial
///   gradients in local memory (`fused_tile.cl`, `pattern_tile.cl`, with the steps they share in `tile_cpu.cl`);
/// - `perGroup`: the GPU variant, one work-group per tile (`tile_wg.cl`), `lanes` work-items per prompt and
///   `inFlight` prompts at a time, its partial gradients spread over the group's registers.
public enum TileKernel: Hashable, Sendable {
    case perItem(tile: Int)
    case perGroup(TileGroup)

    /// Prompts per tile.
    public var tile: Int {
        switch self {
        case .perItem(let tile): return tile
        case .perGroup(let group): return group.tile
        }
    }
    public var variant: KernelVariant {
        if case .perItem = self { return .cpu }
        return .gpu
    }
    /// The -D defines of the tile kernel.
    public var defines: [String: Int] {
        switch self {
        case .perItem(let tile): return ["ICL_TILE": tile]
        case .perGroup(let group): return ["ICL_TILE": group.tile, "ICL_LP": group.lanes, "ICL_PPG": group.inFlight]
        }
    }
    /// The kernel files after the pipeline's own: the CPU variant's `cpuFiles`, or the GPU variant's column space and
    /// `tile_wg.cl`.
    func files(cpu cpuFiles: [String], columns: String) -> [String] {
        if case .perItem = self { return cpuFiles }
        return [columns, "tile_wg.cl"]
    }
    /// Builds the program for `tileKernel` and looks up its tile kernel (`cpuName` or `tile_wg`). Where the compiled
    /// GPU-variant kernel takes smaller work-groups than chosen (`CLContext.groupLimit`), `rechoose` picks
    /// again under that limit (it throws when nothing fits) and the program is rebuilt.
    static func build(_ tileKernel: TileKernel, cpuName: String, context: CLContext, program: (TileKernel) throws -> CLProgram,
                      rechoose: (_ workGroupLimit: Int) throws -> TileKernel) throws -> (TileKernel, CLProgram, CLKernel) {
        var current = tileKernel
        while true {
            let built = try program(current)
            guard case .perGroup(let group) = current else { return (current, built, try built.kernel(cpuName)) }
            let kernel = try built.kernel("tile_wg")
            let limit = try context.groupLimit(of: kernel)
            if group.items <= limit { return (current, built, kernel) }
            current = try rechoose(limit)   // a group of at most `limit` items, or a refusal
        }
    }
    /// Global and local sizes of a launch over `tiles` tiles.
    func geometry(tiles: Int) -> (global: [Int], local: [Int]) {
        switch self {
        case .perItem: return ([tiles], [1])
        case .perGroup(let g): return ([tiles * g.lanes, g.inFlight], [g.lanes, g.inFlight])
        }
    }
}

/// The GPU-variant tile kernel's work-group (`Kernels/tile_wg.cl`): `lanes` work-items per prompt, `inFlight` prompts
/// at a time, `tile` prompts per work-group.
public struct TileGroup: Hashable, Sendable {
    public var lanes: Int
    public var inFlight: Int
    public var tile: Int
    public var items: Int { lanes * inFlight }

    public init(lanes: Int, inFlight: Int, tile: Int) { (self.lanes, self.inFlight, self.tile) = (lanes, inFlight, tile) }

    /// Lanes per prompt: a power of two, and no more than a d of 40 or an m of 64 keeps busy in most products.
    public static let defaultLanes = 32
    /// At most this many prompts in flight (256 work-items per group).
    public static let maxInFlight = 8

    /// Bytes of local memory tile_wg declares for columns of `width` floats (its __local arrays; tile_wg.cl).
    public static func localBytes(shape: ModelShape, width: Int, lanes: Int, inFlight: Int) -> Int {
        let neurons = lanes * ((shape.m + lanes - 1) / lanes)
        let perSlot = shape.columns * width + 3 * width + 2 * shape.attended + neurons + lanes + 3
        return 4 * inFlight * perSlot
    }

    /// The largest group that fits the device: `defaultLanes` lanes (fewer only where the device's work-groups are
    /// smaller), and as many prompts in flight, up to `maxInFlight` and a power of two, as its local memory and
    /// work-group size allow; nil when not even one prompt fits. Tiles hold enough rounds of prompts to amortise the
    /// partial gradients while every compute unit still gets about four work-groups.
    public static func largest(shape: ModelShape, width: Int, batch: Int, device: CLDeviceInfo,
                               workGroupLimit: Int? = nil) -> TileGroup? {
        let limit = min(device.maxWorkGroupSize, workGroupLimit ?? .max)
        var lanes = defaultLanes
        while lanes > 1 && lanes > limit { lanes /= 2 }
        var inFlight = maxInFlight
        while inFlight >= 1 {
            if lanes * inFlight <= limit
                && localBytes(shape: shape, width: width, lanes: lanes, inFlight: inFlight) <= device.localMemSize {
                let rounds = max(1, min(16, batch / (inFlight * 4 * max(1, device.computeUnits))))
                return TileGroup(lanes: lanes, inFlight: inFlight, tile: inFlight * rounds)
            }
            inFlight /= 2
        }
        return nil
    }

    /// The GPU-variant tile kernel's group for a pipeline, or the one-sentence refusal naming the limit.
    static func choose(_ pipeline: Pipeline, shape: ModelShape, width: Int, batch: Int, device: CLDeviceInfo,
                       workGroupLimit: Int? = nil) throws -> TileGroup {
        if let group = largest(shape: shape, width: width, batch: batch, device: device, workGroupLimit: workGroupLimit) {
            return group
        }
        let lanes = min(defaultLanes, device.maxWorkGroupSize)
        let need = localBytes(shape: shape, width: width, lanes: lanes, inFlight: 1)
        throw PipelineError(.tileLocalMemory, "the gpu variant of the \(pipeline.rawValue) pipeline keeps one prompt of \(shape.columns) columns in local memory, \(need) bytes, but '\(device.name)' has \(device.localMemSize).")
    }
}
