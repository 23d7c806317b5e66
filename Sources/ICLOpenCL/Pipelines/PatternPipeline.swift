import ICLCore

/// The one-layer model fused in the coordinates of the prompt basis (four launches per step: tables, tiles, reduce,
/// grads + SGD into `spare`, which also projects the new weights for the next step). Both kernel variants
/// (`TileKernel`). For prompt bases of at most `PatternProgram.maxBasis` vectors whose tile kernel fits the device's
/// local memory; the CPU variant's table reads are the `DevicePath` the host chose. Evaluation specs whose basis does
/// not fit run on dense fused inference.
public final class PatternPipeline: OneLayerPipeline {
    public let training: OneLayerTraining
    /// The device's best path; each program runs it where its tables fit.
    public let devicePath: DevicePath
    public let variant: KernelVariant
    let program: PatternProgram
    let workspace: PatternWorkspace
    private let inference = BuiltOnce<[Int], (program: PatternProgram, workspace: PatternWorkspace)>()
    private lazy var fallback = FusedInference(state: state, variant: variant)
    static let evalChunk = 16384

    public init(_ training: OneLayerTraining, variant: KernelVariant, devicePath: DevicePath) throws {
        self.training = training
        self.devicePath = devicePath
        self.variant = variant
        let context = training.state.context
        program = try PatternProgram(context: context, shape: training.state.shape, spec: training.spec.spec,
                                     variant: variant, batch: training.batch, path: devicePath,
                                     cpuTile: FusedPipeline.tileSize(batch: training.batch, device: context.device, maxTile: 512))
        workspace = try PatternWorkspace(context: context, program: program, capacity: training.batch)
    }

    public var description: PipelineDescription {
        PipelineDescription(pipeline: .pattern, variant: variant, path: program.path)
    }
    public var statsSlots: Int { PatternWorkspace.statsSlots }

    /// The workspace's projections belong to the old weights now.
    public func weightsReplaced() { workspace.projectionIsCurrent = false }

    public func enqueueTrainStep(step: Int, statsSlot: Int) throws -> CLBuffer<Float> {
        let p = program, ws = workspace
        try p.launchTables(params: state.params, a: state.a, basis: trainSpec, ws: ws)
        try p.launchTiles(trainSpec, step: step, batch: batch, ws: ws, train: true)
        try p.launchReduce(ws: ws, batch: batch, train: true, statsSlot: statsSlot)
        try p.launchGradsSGD(old: state.params, new: state.spare, grads: state.grads, mask: state.mask, lr: training.lr,
                             basis: trainSpec, ws: ws, statsSlot: statsSlot)
        state.swapParameters()
        return ws.stats
    }

    public func evaluate(_ spec: SpecBuffers, prompts count: Int) throws -> BatchStats {
        var shape = state.shape
        shape.length = spec.spec.length
        guard PatternProgram.supports(spec.spec, shape: shape, variant: variant, device: state.context.device) else {
            return try fallback.evaluate(spec, prompts: count)
        }
        let (p, ws) = try inference.get([shape.length, spec.basisSize]) {
            let p = try PatternProgram(context: state.context, shape: shape, spec: spec.spec, variant: variant,
                                       batch: PatternPipeline.evalChunk, path: devicePath, cpuTile: 64)
            return (p, try PatternWorkspace(context: state.context, program: p, capacity: PatternPipeline.evalChunk))
        }
        try p.launchTables(params: state.params, a: state.a, basis: spec, ws: ws)
        return try DeviceEvaluation.accumulate(count, chunk: PatternPipeline.evalChunk) { first, n in
            try p.launchTiles(spec, step: 0, firstPrompt: first, batch: n, ws: ws, train: false)
            try p.launchReduce(ws: ws, batch: n, train: false)
            return ws.stats
        }
    }

    public func benchKernels() throws -> [BenchKernel] {
        let p = program, ws = workspace, s = state, spec = trainSpec, B = batch
        let Bd = Double(B), d = Double(s.shape.d), L = Double(s.shape.attended), m = Double(s.shape.m), f4 = 4.0
        let R = Double(spec.basisSize), tiles = Double(p.tileCount(B)), part = Double(p.partialCount)
        let mp = Double(p.paddedNeurons)
        // Executed arithmetic per prompt: scores and coefficient sums (~12 L), g (≤ (L+2)·m·2), dc̃ dots and dC̃
        // (≈ 2·2·R·m), dṽ and dÃ (≈ 8 L + 4 R).
        let forward = 12 * L + 2 * min(R, L + 2) * mp
        let tileName = variant == .cpu ? "pattern_tile" : "tile_wg"
        return [
            BenchKernel(name: "pattern_project", flops: 2 * 3 * R * d * d, bytes: f4 * 3 * d * d) {
                try p.launchProject(params: s.params, basis: spec, ws: ws, timed: true)
            },
            BenchKernel(name: "pattern_tables", flops: 2 * (R * R * d + R * m * d), bytes: f4 * (3 * R * d + m * d)) {
                try p.launchTables(params: s.params, a: s.a, basis: spec, ws: ws, timed: true)
            },
            BenchKernel(name: "\(tileName) (train)", flops: (forward + 4 * R * mp + 8 * L + 4 * R) * Bd, bytes: f4 * tiles * part) {
                try p.launchTiles(spec, step: 0, batch: B, ws: ws, train: true, timed: true)
            },
            BenchKernel(name: "\(tileName) (infer)", flops: forward * Bd, bytes: 0) {
                try p.launchTiles(spec, step: 0, batch: B, ws: ws, train: false, timed: true)
            },
            BenchKernel(name: "pattern_reduce", flops: tiles * part, bytes: f4 * (tiles + 1) * part) {
                try p.launchReduce(ws: ws, batch: B, train: true, timed: true)
            },
            BenchKernel(name: "pattern_grads_sgd", flops: 2 * (3 * d * m * R + 3 * d * d * R + m * d * R + 3 * R * d * d),
                        bytes: f4 * 3 * (3 * d * d + m * d)) {
                // slot 0 holds the reduce row's statistics (a live batch), so this times the full update
                try p.launchGradsSGD(old: s.params, new: s.spare, grads: s.grads, mask: s.mask, lr: 0, basis: spec, ws: ws,
                                     statsSlot: 0, timed: true)
            },
        ]
    }
}
