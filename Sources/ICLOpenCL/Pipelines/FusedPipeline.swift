import ICLCore

/// The one-layer model dense fused (four launches per step: precompute A = W_KᵀW_Q and C = W_O W_V, tiles that sample
/// their prompts and accumulate partial gradients, reduce, grads + SGD into `spare`). Both kernel variants: the CPU
/// variant's tile kernel keeps (d + m)·⌈d/8⌉·32 bytes in local memory, the GPU variant's a few prompts' columns
/// (`TileGroup`); each refuses, before any launch, a device that lacks it.
public final class FusedPipeline: OneLayerPipeline {
    public let training: OneLayerTraining
    let program: FusedProgram
    let workspace: FusedWorkspace
    private let inference: FusedInference

    /// Prompts per work-item of the tile kernels: large tiles amortise the per-tile partial gradients, but every
    /// compute unit needs four tiles to balance the load. `maxTile` 64 for the fused tiles, 512 for the pattern ones
    /// (their partials are a few KiB).
    public static func tileSize(batch: Int, device: CLDeviceInfo, maxTile: Int = 64) -> Int {
        max(8, min(maxTile, batch / (4 * max(1, device.computeUnits))))
    }

    /// Whether the device has the tile kernel's local memory for this shape and variant.
    public static func fits(_ shape: ModelShape, variant: KernelVariant, device: CLDeviceInfo) -> Bool {
        (try? FusedProgram.tileKernel(variant, shape: shape, batch: 1, cpuTile: 1, device: device)) != nil
    }

    public init(_ training: OneLayerTraining, variant: KernelVariant) throws {
        self.training = training
        let context = training.state.context
        program = try FusedProgram(context: context, shape: training.state.shape, variant: variant, batch: training.batch,
                                   cpuTile: FusedPipeline.tileSize(batch: training.batch, device: context.device))
        workspace = try FusedWorkspace(context: context, program: program, capacity: training.batch)
        inference = FusedInference(state: training.state, variant: variant)
    }

    public var description: PipelineDescription {
        PipelineDescription(pipeline: .fused, variant: program.variant, path: .portable)
    }
    public var statsSlots: Int { 1 }
    public func weightsReplaced() {}

    public func enqueueTrainStep(step: Int, statsSlot: Int) throws -> CLBuffer<Float> {
        precondition(statsSlot == 0, "the fused pipeline has one statistics slot")
        let p = program, ws = workspace
        try p.launchPrecompute(params: state.params, a: state.a, ws: ws)
        try p.launchTiles(trainSpec, step: step, batch: batch, ws: ws, train: true)
        try p.launchReduce(ws: ws, batch: batch, train: true)
        try p.launchGradsSGD(old: state.params, new: state.spare, grads: state.grads, mask: state.mask, lr: training.lr, ws: ws)
        state.swapParameters()
        return ws.stats
    }

    public func evaluate(_ spec: SpecBuffers, prompts count: Int) throws -> BatchStats {
        try inference.evaluate(spec, prompts: count)
    }

    public func sampledPrompts(step: Int) throws -> PromptBatch? {
        try program.sampleForCheck(trainSpec, step: step, batch: batch, context: state.context)
    }

    public func benchKernels() throws -> [BenchKernel] {
        let p = program, ws = workspace, s = state, spec = trainSpec, B = batch
        let Bd = Double(B), d = Double(s.shape.d), m = Double(s.shape.m), f4 = 4.0
        let tiles = Double(p.tileCount(B)), derived = Double(p.derivedCount), part = Double(p.partialCount)
        let params = 3 * d * d + m * d
        let flops = ModelFlops(s.shape)
        let tileName = p.variant == .cpu ? "fused_tile" : "tile_wg"
        return [
            BenchKernel(name: "fused_precompute", flops: 2 * (d * d * d + m * d * d), bytes: f4 * (3 * d * d + m * d + derived)) {
                try p.launchPrecompute(params: s.params, a: s.a, ws: ws, timed: true)
            },
            BenchKernel(name: "\(tileName) (train)", flops: flops.trainPerPrompt * Bd, bytes: f4 * (tiles * part + derived)) {
                try p.launchTiles(spec, step: 0, batch: B, ws: ws, train: true, timed: true)
            },
            BenchKernel(name: "\(tileName) (infer)", flops: flops.inferPerPrompt * Bd, bytes: f4 * tiles * derived) {
                try p.launchTiles(spec, step: 0, batch: B, ws: ws, train: false, timed: true)
            },
            BenchKernel(name: "fused_reduce", flops: tiles * part, bytes: f4 * (tiles + 1) * part) {
                try p.launchReduce(ws: ws, batch: B, train: true, timed: true)
            },
            BenchKernel(name: "fused_grads_sgd", flops: 4 * d * d * d + 4 * m * d * d, bytes: f4 * (3 * params + part + m)) {
                try p.launchGradsSGD(old: s.params, new: s.spare, grads: s.grads, mask: s.mask, lr: 0, ws: ws, timed: true)
            },
        ]
    }
}

/// Dense fused inference at any evaluation length: the fused pipeline's, and the pattern pipeline's for specs whose
/// basis its tables cannot hold. Runs the pipeline's kernel variant where its local memory fits at the evaluation
/// shape, else the GPU variant's work-groups (which need far less); refuses, before any launch, a shape neither fits.
final class FusedInference {
    let state: OneLayerDeviceState
    let variant: KernelVariant
    private let built = BuiltOnce<Int, (program: FusedProgram, workspace: FusedWorkspace)>()
    static let chunk = 16384

    init(state: OneLayerDeviceState, variant: KernelVariant) { (self.state, self.variant) = (state, variant) }

    func evaluate(_ spec: SpecBuffers, prompts count: Int) throws -> BatchStats {
        var shape = state.shape
        shape.length = spec.spec.length
        let (p, ws) = try built.get(shape.length) {
            let device = state.context.device
            let fits = FusedPipeline.fits(shape, variant: variant, device: device)
            let p = try FusedProgram(context: state.context, shape: shape, variant: fits ? variant : .gpu,
                                     batch: FusedInference.chunk, cpuTile: 64)
            return (p, try FusedWorkspace(context: state.context, program: p, capacity: FusedInference.chunk))
        }
        try p.launchPrecompute(params: state.params, a: state.a, ws: ws)
        return try DeviceEvaluation.accumulate(count, chunk: FusedInference.chunk) { first, n in
            try p.launchTiles(spec, step: 0, firstPrompt: first, batch: n, ws: ws, train: false)
            try p.launchReduce(ws: ws, batch: n, train: false)
            return ws.stats
        }
    }
}

/// Useful FLOPs of one prompt with the restructured math (multiply-add = 2), the model counts `icl bench` divides by:
/// training = forward v = A p_q (2d²), scores and context sum (4Ld), g = C c (2md); backward dc and dC (4md),
/// dattn and dv (4Ld), dA (2d²).
public struct ModelFlops: Sendable {
    public let trainPerPrompt: Double
    public let inferPerPrompt: Double
    public init(_ shape: ModelShape) {
        let d = Double(shape.d), L = Double(shape.attended), m = Double(shape.m)
        trainPerPrompt = 4 * d * d + 8 * L * d + 6 * m * d
        inferPerPrompt = 2 * d * d + 4 * L * d + 2 * m * d
    }
}
