import ICLCore

/// The sizes a model program is specialised for (passed as -D defines).
public struct ModelShape: Hashable, Sendable {
    public var dX: Int
    public var dY: Int
    /// Context columns l; prompts have l + 1 columns.
    public var length: Int
    public var m: Int
    public var attendQuery: Bool

    public init(dX: Int, dY: Int, length: Int, m: Int, attendQuery: Bool) {
        self.dX = dX; self.dY = dY; self.length = length; self.m = m; self.attendQuery = attendQuery
    }

    public var d: Int { dX + dY }
    public var columns: Int { length + 1 }
    /// Columns the softmax runs over.
    public var attended: Int { attendQuery ? length + 1 : length }
    public var parameterCount: Int { 3 * d * d + m * d }

    /// The prompt sampler's sizes (`Kernels/sampler.cl`), for prompts of d_X + d_Y rows and `length` context columns.
    public static func samplerDefines(dX: Int, dY: Int, length: Int) -> [String: Int] {
        ["ICL_D": dX + dY, "ICL_DX": dX, "ICL_DY": dY, "ICL_COLS": length + 1, "ICL_DV": (dX + dY + 7) / 8]
    }

    /// Every size as a -D define (`Kernels/onelayer.cl` lists them), plus `extra`.
    public func defines(extra: [String: Int] = [:]) -> [String: Int] {
        ModelShape.samplerDefines(dX: dX, dY: dY, length: length).merging([
            "ICL_L": attended, "ICL_M": m, "ICL_WG": ModelProgram.groupSize, "ICL_MV": (m + 7) / 8,
        ]) { $1 }.merging(extra) { $1 }
    }

    /// The build of `files` (after common.cl and onelayer.cl) specialised for this shape.
    public func build(files: [String], extra: [String: Int] = [:]) -> ProgramBuild {
        ProgramBuild(files: ["onelayer.cl"] + files, defines: defines(extra: extra))
    }
}

/// The model's kernels compiled for one shape and variant, with typed launchers. Kernel sources are
/// the embedded `Kernels/*.cl`, concatenated in dependency order.
public final class ModelProgram {
    public static let sourceFiles = ["sampler.cl", "attention.cl", "mlp.cl", "hinge.cl", "reduce.cl", "sgd.cl"]
    /// Work-group size of the GPU-variant per-prompt kernels.
    public static let groupSize = 64
    /// Side of weight_grads_wg's square work-group (passed to reduce.cl as ICL_TS).
    static let weightGradsTile = 16

    public let context: CLContext
    public let shape: ModelShape
    public let variant: KernelVariant
    let sample, attentionForward, attentionBackward, mlpForward, mlpBackward: CLKernel
    let hingeGrad, reduceStats, weightGrads, sgd: CLKernel

    public init(context: CLContext, shape: ModelShape, variant: KernelVariant) throws {
        self.context = context
        self.shape = shape
        self.variant = variant
        let program = try shape.build(files: ModelProgram.sourceFiles, extra: ["ICL_TS": ModelProgram.weightGradsTile]).build(context)
        let suffix = variant == .cpu ? "_wi" : "_wg"
        sample = try program.kernel("sample_prompts")
        attentionForward = try program.kernel("attention_forward" + suffix)
        attentionBackward = try program.kernel("attention_backward" + suffix)
        mlpForward = try program.kernel("mlp_forward" + suffix)
        mlpBackward = try program.kernel("mlp_backward" + suffix)
        hingeGrad = try program.kernel("hinge_grad")
        reduceStats = try program.kernel("reduce_stats")
        weightGrads = try program.kernel("weight_grads" + suffix)
        sgd = try program.kernel("sgd_update")
        if variant == .gpu {
            let what = "the gpu variant of the unfused pipeline"
            for kernel in [attentionForward, attentionBackward, mlpForward, mlpBackward] {
                try kernel.requireGroupSize(ModelProgram.groupSize, of: what, in: context)
            }
            try weightGrads.requireGroupSize(ModelProgram.weightGradsTile * ModelProgram.weightGradsTile, of: what,
                                             in: context)
        }
    }

    /// Launches a per-prompt kernel over `batch` prompts: a work-item per prompt (cpu variant) or a work-group of
    /// `groupSize` per prompt (gpu variant).
    func launchPerPrompt(_ kernel: CLKernel, _ args: [any CLKernelArgument], batch: Int, timed: Bool) throws -> CLEvent? {
        try kernel.set(args: args + [Int32(batch)])
        return variant == .cpu
            ? try kernel.launch(global: [batch], local: nil, timed: timed)
            : try kernel.launch(global: [batch * ModelProgram.groupSize], local: [ModelProgram.groupSize], timed: timed)
    }

    // MARK: Launchers (each enqueues one kernel; nothing waits)

    /// Enqueues sample → forward → hinge → batch statistics → backward → weight gradients for `batch`
    /// prompts of `step` (everything of a training step but the update).
    public func launchForwardBackward(_ ws: Workspace, _ prompts: SpecBuffers, step: Int, params: CLMemory,
                                      a: CLMemory, grads: CLMemory, batch: Int) throws {
        try launchSample(ws, prompts, step: step, batch: batch)
        try launchAttentionForward(ws, params: params, batch: batch)
        try launchMLPForward(ws, params: params, a: a, batch: batch)
        try launchHinge(ws, batch: batch)
        try launchReduceStats(ws, batch: batch)
        try launchMLPBackward(ws, params: params, a: a, batch: batch)
        try launchAttentionBackward(ws, params: params, batch: batch)
        try launchWeightGrads(ws, grads: grads, batch: batch)
    }

    /// Draws `batch` prompts of `spec` at `step` into ws.prompts / ws.labels.
    @discardableResult
    public func launchSample(_ ws: Workspace, _ prompts: SpecBuffers, step: Int, firstPrompt: Int = 0,
                             batch: Int, timed: Bool = false) throws -> CLEvent? {
        try sample.set(args: [ws.prompts, ws.labels, prompts.relevant, prompts.irrelevant, prompts.q, prompts.tasks]
                           + prompts.samplerArgs(step: step, firstPrompt: firstPrompt, batch: batch))
        return try sample.launch(global: [batch * shape.columns], local: nil, timed: timed)
    }

    @discardableResult
    public func launchAttentionForward(_ ws: Workspace, params: CLMemory, batch: Int, timed: Bool = false) throws -> CLEvent? {
        try launchPerPrompt(attentionForward, [ws.prompts, params, ws.u, ws.v, ws.attn, ws.c], batch: batch, timed: timed)
    }

    @discardableResult
    public func launchMLPForward(_ ws: Workspace, params: CLMemory, a: CLMemory, batch: Int, timed: Bool = false) throws -> CLEvent? {
        try launchPerPrompt(mlpForward, [ws.c, params, a, ws.h, ws.g, ws.F], batch: batch, timed: timed)
    }

    @discardableResult
    public func launchHinge(_ ws: Workspace, batch: Int, timed: Bool = false) throws -> CLEvent? {
        try hingeGrad.set(args: [ws.F, ws.labels, ws.dF, ws.lossTerm, ws.errTerm, Int32(batch)])
        return try hingeGrad.launch(global: [batch], local: nil, timed: timed)
    }

    @discardableResult
    public func launchReduceStats(_ ws: Workspace, batch: Int, timed: Bool = false) throws -> CLEvent? {
        let n = variant == .cpu ? 1 : 256
        try reduceStats.set(args: [ws.lossTerm, ws.errTerm, ws.stats, CLLocal(bytes: 2 * n * 4), Int32(batch)])
        return try reduceStats.launch(global: [n], local: [n], timed: timed)
    }

    @discardableResult
    public func launchMLPBackward(_ ws: Workspace, params: CLMemory, a: CLMemory, batch: Int, timed: Bool = false) throws -> CLEvent? {
        try launchPerPrompt(mlpBackward, [ws.dF, params, a, ws.g, ws.dg, ws.dh, ws.dc], batch: batch, timed: timed)
    }

    @discardableResult
    public func launchAttentionBackward(_ ws: Workspace, params: CLMemory, batch: Int, timed: Bool = false) throws -> CLEvent? {
        try launchPerPrompt(attentionBackward, [ws.prompts, params, ws.attn, ws.dc, ws.dv, ws.du], batch: batch, timed: timed)
    }

    @discardableResult
    public func launchWeightGrads(_ ws: Workspace, grads: CLMemory, batch: Int, timed: Bool = false) throws -> CLEvent? {
        try weightGrads.set(args: [ws.prompts, ws.u, ws.dv, ws.du, ws.c, ws.h, ws.dh, ws.dg, grads, Int32(batch)])
        let rows = max(shape.d, shape.m)
        if variant == .cpu {
            return try weightGrads.launch(global: [shape.d, rows, 4], local: nil, timed: timed)
        }
        let up = { LaunchGeometry.roundUp($0, 16) }
        return try weightGrads.launch(global: [up(shape.d), up(rows), 4], local: [16, 16, 1], timed: timed)
    }

    @discardableResult
    public func launchSGD(old: CLMemory, new: CLMemory, grads: CLMemory, mask: CLMemory, lr: Float,
                          timed: Bool = false) throws -> CLEvent? {
        try sgd.set(args: [old, new, grads, mask, lr])
        return try sgd.launch(global: [shape.parameterCount], local: nil, timed: timed)
    }
}
