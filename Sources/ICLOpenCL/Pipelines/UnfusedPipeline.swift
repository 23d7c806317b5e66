import ICLCore

/// The one-layer model one kernel per op (nine launches per step: sample, attention, MLP, hinge, statistics, MLP
/// backward, attention backward, the four weight gradients in one launch, SGD into `spare`), every intermediate in
/// device memory.
/// Both kernel variants; the per-op cross-checks run its kernels.
public final class UnfusedPipeline: OneLayerPipeline {
    public let training: OneLayerTraining
    public let variant: KernelVariant
    let program: ModelProgram
    /// Built at the first training step (an evaluation-only model never allocates it).
    private var workspace: Workspace?
    private let inference = BuiltOnce<Int, (program: ModelProgram, workspace: Workspace)>()
    static let evalChunk = 16384

    public init(_ training: OneLayerTraining, variant: KernelVariant) throws {
        self.training = training
        self.variant = variant
        program = try ModelProgram(context: training.state.context, shape: training.state.shape, variant: variant)
    }

    public var description: PipelineDescription {
        PipelineDescription(pipeline: .unfused, variant: variant, path: .portable)
    }
    public var statsSlots: Int { 1 }
    public func weightsReplaced() {}

    func trainingWorkspace() throws -> Workspace {
        if let ws = workspace { return ws }
        let ws = try Workspace(context: state.context, shape: state.shape, capacity: batch)
        workspace = ws
        return ws
    }

    public func enqueueTrainStep(step: Int, statsSlot: Int) throws -> CLBuffer<Float> {
        precondition(statsSlot == 0, "the unfused pipeline has one statistics slot")
        let ws = try trainingWorkspace()
        try program.launchForwardBackward(ws, trainSpec, step: step, params: state.params, a: state.a, grads: state.grads,
                                          batch: batch)
        try program.launchSGD(old: state.params, new: state.spare, grads: state.grads, mask: state.mask, lr: training.lr)
        state.swapParameters()
        return ws.stats
    }

    public func evaluate(_ spec: SpecBuffers, prompts count: Int) throws -> BatchStats {
        let (p, ws) = try inference.get(spec.spec.length) {
            var shape = state.shape
            shape.length = spec.spec.length
            return (try ModelProgram(context: state.context, shape: shape, variant: variant),
                    try Workspace(context: state.context, shape: shape, capacity: UnfusedPipeline.evalChunk))
        }
        return try DeviceEvaluation.accumulate(count, chunk: UnfusedPipeline.evalChunk) { first, n in
            try p.launchSample(ws, spec, step: 0, firstPrompt: first, batch: n)
            try p.launchAttentionForward(ws, params: state.params, batch: n)
            try p.launchMLPForward(ws, params: state.params, a: state.a, batch: n)
            try p.launchHinge(ws, batch: n)
            try p.launchReduceStats(ws, batch: n)
            return ws.stats
        }
    }

    public func benchKernels() throws -> [BenchKernel] {
        let ws = try trainingWorkspace(), p = program, s = state, spec = trainSpec, B = batch
        let Bd = Double(B), d = Double(s.shape.d), L = Double(s.shape.attended), m = Double(s.shape.m), f4 = 4.0
        let cols = Double(s.shape.columns), params = 3 * d * d + m * d, promptBytes = f4 * Bd * cols * d
        return [
            BenchKernel(name: "sample_prompts", flops: 0, bytes: promptBytes) {
                try p.launchSample(ws, spec, step: 0, batch: B, timed: true)
            },
            BenchKernel(name: "attention_forward", flops: Bd * (4 * d * d + 4 * L * d), bytes: promptBytes + f4 * Bd * (3 * d + L)) {
                try p.launchAttentionForward(ws, params: s.params, batch: B, timed: true)
            },
            BenchKernel(name: "mlp_forward", flops: Bd * (2 * d * d + 2 * m * d), bytes: f4 * Bd * (2 * d + m + 1)) {
                try p.launchMLPForward(ws, params: s.params, a: s.a, batch: B, timed: true)
            },
            BenchKernel(name: "hinge_grad", flops: 4 * Bd, bytes: f4 * Bd * 5) { try p.launchHinge(ws, batch: B, timed: true) },
            BenchKernel(name: "reduce_stats", flops: 2 * Bd, bytes: f4 * Bd * 2) { try p.launchReduceStats(ws, batch: B, timed: true) },
            BenchKernel(name: "mlp_backward", flops: Bd * (2 * m * d + 2 * d * d), bytes: f4 * Bd * (2 * m + 2 * d + 1)) {
                try p.launchMLPBackward(ws, params: s.params, a: s.a, batch: B, timed: true)
            },
            BenchKernel(name: "attention_backward", flops: Bd * (4 * L * d + 2 * d * d), bytes: promptBytes + f4 * Bd * (3 * d + L)) {
                try p.launchAttentionBackward(ws, params: s.params, batch: B, timed: true)
            },
            BenchKernel(name: "weight_grads", flops: 2 * Bd * params, bytes: f4 * Bd * (7 * d + m + cols * d)) {
                try p.launchWeightGrads(ws, grads: s.grads, batch: B, timed: true)
            },
            BenchKernel(name: "sgd_update", flops: 2 * params, bytes: f4 * 3 * params) {
                try p.launchSGD(old: s.params, new: s.spare, grads: s.grads, mask: s.mask, lr: 0, timed: true)
            },
        ]
    }
}
