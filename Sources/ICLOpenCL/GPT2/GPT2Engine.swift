import ICLCore

/// The GPT-2-style model's pipeline (PAPER.md §6): the whole training step on the device for the weights, gradients
/// and AdamW moments in a `GPT2DeviceState`: sample → read-in → L blocks → read-out and hinge → backward → AdamW, with
/// (loss, errors) left in the workspace's statistics. A workspace holds up to `capacity` prompts. The CPU reference
/// (`GPT2Reference`) is the oracle it is checked against; `gradients` and `outputs` run it on host prompts for the
/// cross-checks.
public final class GPT2Engine: TrainingPipeline {
    /// What a training step samples and how it updates: the training spec's device tables, the batch and AdamW.
    public struct Training {
        public var spec: SpecBuffers
        public var batch: Int
        public var optimizer: GPT2Optimizer
        public init(spec: SpecBuffers, batch: Int, optimizer: GPT2Optimizer) {
            self.spec = spec; self.batch = batch; self.optimizer = optimizer
        }
    }

    public let state: GPT2DeviceState
    public var context: CLContext { state.context }
    public var shape: GPT2Shape { state.shape }
    public let variant: KernelVariant
    /// The most prompts one launch sequence takes (training batch, evaluation chunk).
    public let capacity: Int
    public let program: GPT2Program
    public let workspace: GPT2Workspace
    /// The training step `enqueueTrainStep` runs (nil for an engine that only evaluates and checks).
    public let training: Training?
    var offsets: GPT2Offsets { state.offsets }
    var params: CLBuffer<Float> { state.params }
    var grads: CLBuffer<Float> { state.grads }
    private var samplers: [[Int]: CLKernel] = [:]
    /// Prompts per evaluation launch sequence.
    public static let evalChunk = 1024

    /// Builds the program and a workspace for batches of up to `capacity` prompts of up to `shape.maxTokens` tokens.
    /// `tuning` sets the CPU-variant matmul blocking.
    public init(state: GPT2DeviceState, variant: KernelVariant, capacity: Int, training: Training? = nil,
                tuning: GPT2Program.Tuning = .default) throws {
        guard capacity >= 1 else {
            throw ConfigError("GPT-2 engine capacity = \(capacity) is out of range: must be ≥ 1 (the largest batch).")
        }
        let context = state.context, shape = state.shape
        self.state = state
        self.variant = variant
        self.capacity = capacity
        self.training = training
        if variant == .gpu { try GPT2Program.requireLocalMemory(shape: shape, device: context.device) }
        program = try GPT2Program(context: context, shape: shape, variant: variant, tuning: tuning)
        workspace = try GPT2Workspace(context: context, shape: shape, capacity: capacity)
        if let training { try check(training.spec.spec, batch: training.batch) }
    }

    /// An engine with a state of its own at the initial weights (for the cross-checks).
    public convenience init(context: CLContext, shape: GPT2Shape, variant: KernelVariant, capacity: Int,
                            tuning: GPT2Program.Tuning = .default) throws {
        try self.init(state: try GPT2DeviceState(context: context, shape: shape), variant: variant, capacity: capacity,
                      tuning: tuning)
    }

    // MARK: TrainingPipeline

    public var description: PipelineDescription {
        PipelineDescription(pipeline: .gpt2, variant: variant, path: .portable)
    }
    public var statsSlots: Int { 1 }
    public func weightsReplaced() {}

    public func enqueueTrainStep(step: Int, statsSlot: Int) throws -> CLBuffer<Float> {
        precondition(statsSlot == 0, "the GPT-2 engine has one statistics slot")
        guard let training else { preconditionFailure("this GPT-2 engine was built without a training step") }
        try enqueueTrainStep(spec: training.spec, step: step, batch: training.batch, optimizer: training.optimizer)
        return workspace.head.stats
    }

    /// Loss and errors on prompts 0..<count of spec (drawn at step 0, in chunks of at most capacity).
    public func evaluate(_ spec: SpecBuffers, prompts count: Int) throws -> BatchStats {
        try check(spec.spec, batch: min(max(count, 1), capacity))
        let T = spec.spec.length + 1
        return try DeviceEvaluation.accumulate(count, chunk: capacity) { first, n in
            try enqueueSample(spec, step: 0, firstPrompt: first, batch: n)
            try enqueueForward(batch: n, tokens: T)
            try enqueueHead(batch: n, tokens: T, withGrad: false)
            return workspace.head.stats
        }
    }

    /// The model's four matmul shapes at the training batch (rows = batch · tokens), each timed forward, input
    /// gradient and weight gradient.
    public func benchKernels() throws -> [BenchKernel] {
        let s = shape, rows = (training?.batch ?? capacity) * ((training?.spec.spec.length).map { $0 + 1 } ?? s.maxTokens)
        return try [("attn.qkv", s.width, 3 * s.width), ("attn.proj", s.width, s.width),
                    ("mlp.fc", s.width, s.mlpWidth), ("mlp.fc2", s.mlpWidth, s.width)].flatMap { name, i, o in
            try program.matmulBenchKernels(name: name, rows: rows, inputs: i, outputs: o)
        }
    }

    // MARK: Training and evaluation

    /// Samples `batch` prompts of `spec` at `step` on the device, forward, hinge, backward, AdamW at
    /// optimizer.learningRate(step:) with bias correction for step+1 exactly as GPT2Reference.trainStep; the batch's
    /// loss and errors (before the update) land in workspace.head.stats. Nothing waits.
    public func enqueueTrainStep(spec: SpecBuffers, step: Int, batch: Int, optimizer: GPT2Optimizer) throws {
        try check(spec.spec, batch: batch)
        let T = spec.spec.length + 1
        try enqueueSample(spec, step: step, firstPrompt: 0, batch: batch)
        try enqueueForward(batch: batch, tokens: T)
        try enqueueHead(batch: batch, tokens: T, withGrad: true)
        try enqueueBackward(batch: batch, tokens: T)
        try enqueueAdamW(step: step, optimizer: optimizer)
    }

    /// One training step (see `enqueueTrainStep`) and its statistics.
    public func trainStep(spec: SpecBuffers, step: Int, batch: Int, optimizer: GPT2Optimizer) throws -> BatchStats {
        try enqueueTrainStep(spec: spec, step: step, batch: batch, optimizer: optimizer)
        let s = try workspace.head.stats.read()
        return BatchStats(loss: s[0], errors: Int(s[1]), prompts: batch)
    }

    /// Forward, hinge and backward on host prompts [B, l+1, d] and labels [B], without an update: the batch
    /// statistics, the outputs F and every gradient (the whole step's cross-check).
    public func gradients(prompts: [Float], labels: [Float], batch: Int, length: Int) throws
        -> (stats: BatchStats, F: [Float], gradients: GPT2Gradients<Float>) {
        let T = try upload(prompts: prompts, labels: labels, batch: batch, length: length)
        try enqueueForward(batch: batch, tokens: T)
        try enqueueHead(batch: batch, tokens: T, withGrad: true)
        try enqueueBackward(batch: batch, tokens: T)
        let s = try workspace.head.stats.read()
        return (BatchStats(loss: s[0], errors: Int(s[1]), prompts: batch), try workspace.head.F.read(count: batch),
                try state.readGradients())
    }

    /// Model outputs F [B] on host prompts [B, l+1, d].
    public func outputs(prompts: [Float], batch: Int, length: Int) throws -> [Float] {
        let T = try upload(prompts: prompts, labels: [Float](repeating: 1, count: batch), batch: batch, length: length)
        try enqueueForward(batch: batch, tokens: T)
        try enqueueHead(batch: batch, tokens: T, withGrad: false)
        return try workspace.head.F.read(count: batch)
    }

    // MARK: Launch sequences (each enqueues; nothing waits)

    /// Throws unless `spec` fits the model and `batch` the workspace.
    public func check(_ spec: PromptSpec, batch: Int) throws {
        guard spec.d == shape.d else {
            throw ConfigError("Prompts of d = \(spec.d) (d_X = \(spec.dX), d_Y = \(spec.dY)) do not fit the GPT-2 model's token dimension d = \(shape.d).")
        }
        try checkLength(spec.length, batch: batch)
    }

    func checkLength(_ length: Int, batch: Int) throws {
        guard length >= 0, length + 1 <= shape.maxTokens else {
            throw ConfigError("Prompts of length l = \(length) have l + 1 = \(length + 1) tokens but the GPT-2 model's position table has maxTokens = \(shape.maxTokens) rows; build the model with maxTokens ≥ \(length + 1).")
        }
        guard batch >= 1, batch <= capacity else {
            throw ConfigError("GPT-2 batch = \(batch) is out of range: must be in [1, capacity = \(capacity)].")
        }
    }

    func upload(prompts: [Float], labels: [Float], batch: Int, length: Int) throws -> Int {
        try checkLength(length, batch: batch)
        let T = length + 1
        guard prompts.count == batch * T * shape.d, labels.count == batch else {
            throw ConfigError("GPT-2 prompts hold \(prompts.count) values and \(labels.count) labels; [\(batch), \(T), \(shape.d)] and \(batch) expected.")
        }
        try workspace.prompts.write(prompts, at: 0)
        try workspace.labels.write(labels, at: 0)
        return T
    }

    /// The sampler program for a spec's sizes (Kernels/sampler.cl).
    func sampler(_ spec: PromptSpec) throws -> CLKernel {
        let key = [spec.dX, spec.dY, spec.length]
        if let k = samplers[key] { return k }
        let build = ProgramBuild(files: ["sampler.cl"], defines: ModelShape.samplerDefines(dX: spec.dX, dY: spec.dY,
                                                                                          length: spec.length))
        let k = try build.build(context).kernel("sample_prompts")
        samplers[key] = k
        return k
    }

    /// Draws prompts firstPrompt..<firstPrompt + batch of `spec` at `step` into workspace.prompts / labels,
    /// bit-identical to `PromptSampler.sample`.
    public func enqueueSample(_ spec: SpecBuffers, step: Int, firstPrompt: Int, batch: Int) throws {
        try check(spec.spec, batch: batch)
        let k = try sampler(spec.spec), ws = workspace
        try k.set(args: [ws.prompts, ws.labels, spec.relevant, spec.irrelevant, spec.q, spec.tasks]
                      + spec.samplerArgs(step: step, firstPrompt: firstPrompt, batch: batch))
        try k.launch(global: [batch * (spec.spec.length + 1)], local: nil)
    }

    /// Read-in and every block on the batch in workspace.prompts.
    public func enqueueForward(batch B: Int, tokens T: Int) throws {
        let ws = workspace, o = offsets, p = program, n = B * T, W = shape.width, M = shape.mlpWidth
        try p.launchLinear(x: GPT2Slice(ws.prompts), weight: GPT2Slice(params, o.inWeight), bias: GPT2Slice(params, o.inBias),
                           y: GPT2Slice(ws.h[0]), rows: n, inputs: shape.d, outputs: W,
                           residual: GPT2Slice(params, o.pos), period: T)
        for (i, blk) in ws.blocks.enumerated() {
            let ob = o.blocks[i], h = ws.h[i]
            try p.launchLayerNorm(x: h, params: params, gain: ob.ln1Gain, bias: ob.ln1Bias, y: blk.ln1,
                                  mean: blk.ln1Mean, rstd: blk.ln1Rstd, rows: n)
            try p.launchLinear(x: GPT2Slice(blk.ln1), weight: GPT2Slice(params, ob.qkvWeight),
                               bias: GPT2Slice(params, ob.qkvBias), y: GPT2Slice(blk.qkv), rows: n, inputs: W,
                               outputs: 3 * W)
            try p.launchAttention(qkv: blk.qkv, out: blk.attention, probs: blk.probs, batch: B, tokens: T)
            try p.launchLinear(x: GPT2Slice(blk.attention), weight: GPT2Slice(params, ob.projWeight),
                               bias: GPT2Slice(params, ob.projBias), y: GPT2Slice(blk.x), rows: n, inputs: W, outputs: W,
                               residual: GPT2Slice(h))
            try p.launchLayerNorm(x: blk.x, params: params, gain: ob.ln2Gain, bias: ob.ln2Bias, y: blk.ln2,
                                  mean: blk.ln2Mean, rstd: blk.ln2Rstd, rows: n)
            try p.launchLinear(x: GPT2Slice(blk.ln2), weight: GPT2Slice(params, ob.fcWeight),
                               bias: GPT2Slice(params, ob.fcBias), y: GPT2Slice(blk.geluSlope), rows: n, inputs: W,
                               outputs: M, gelu: GPT2Slice(blk.gelu), keepSlope: true)
            try p.launchLinear(x: GPT2Slice(blk.gelu), weight: GPT2Slice(params, ob.fc2Weight),
                               bias: GPT2Slice(params, ob.fc2Bias), y: GPT2Slice(ws.h[i + 1]), rows: n, inputs: M,
                               outputs: W, residual: GPT2Slice(blk.x))
        }
    }

    /// Read-out at the query tokens, hinge terms and statistics; with `withGrad` also ∂loss/∂h_L into
    /// workspace.dh and the read-out's parameter gradients.
    public func enqueueHead(batch B: Int, tokens T: Int, withGrad: Bool) throws {
        let ws = workspace
        try program.launchHead(h: ws.h[shape.layers], params: params, offsets: offsets, io: ws.head, dh: ws.dh,
                               batch: B, tokens: T, withGrad: withGrad)
        try program.launchHeadGrads(h: ws.h[shape.layers], params: params, offsets: offsets, io: ws.head, grads: grads,
                                    batch: B, tokens: T, withGrad: withGrad)
    }

    /// Every block backwards from workspace.dh, then the read-in: all gradients into `grads`.
    public func enqueueBackward(batch B: Int, tokens T: Int) throws {
        let ws = workspace, o = offsets, p = program, n = B * T, W = shape.width, M = shape.mlpWidth
        for i in (0..<shape.layers).reversed() {
            let blk = ws.blocks[i], ob = o.blocks[i]
            // h' = x + fc2(GELU(fc(LN2(x)))), with ∂/∂h' in dh.
            try p.launchLinearInputGrad(dy: GPT2Slice(ws.dh), weight: GPT2Slice(params, ob.fc2Weight), dx: GPT2Slice(ws.dfc),
                                        rows: n, inputs: M, outputs: W, slope: GPT2Slice(blk.geluSlope))
            try p.launchLinearWeightGrad(dy: GPT2Slice(ws.dh), x: GPT2Slice(blk.gelu), dWeight: GPT2Slice(grads, ob.fc2Weight),
                                         dBias: GPT2Slice(grads, ob.fc2Bias), rows: n, inputs: M, outputs: W)
            try p.launchLinearInputGrad(dy: GPT2Slice(ws.dfc), weight: GPT2Slice(params, ob.fcWeight), dx: GPT2Slice(ws.dln),
                                        rows: n, inputs: W, outputs: M)
            try p.launchLinearWeightGrad(dy: GPT2Slice(ws.dfc), x: GPT2Slice(blk.ln2), dWeight: GPT2Slice(grads, ob.fcWeight),
                                         dBias: GPT2Slice(grads, ob.fcBias), rows: n, inputs: W, outputs: M)
            try p.launchLayerNormBackward(x: blk.x, params: params, gain: ob.ln2Gain, mean: blk.ln2Mean, rstd: blk.ln2Rstd,
                                          dy: ws.dln, residual: ws.dh, dx: ws.dx, rows: n)
            try p.launchLayerNormGrads(x: blk.x, mean: blk.ln2Mean, rstd: blk.ln2Rstd, dy: ws.dln, grads: grads,
                                       gain: ob.ln2Gain, bias: ob.ln2Bias, rows: n)
            // x = h + proj(Attn(qkv(LN1(h)))), with ∂/∂x in dx.
            try p.launchLinearInputGrad(dy: GPT2Slice(ws.dx), weight: GPT2Slice(params, ob.projWeight),
                                        dx: GPT2Slice(ws.dAttention), rows: n, inputs: W, outputs: W)
            try p.launchLinearWeightGrad(dy: GPT2Slice(ws.dx), x: GPT2Slice(blk.attention),
                                         dWeight: GPT2Slice(grads, ob.projWeight), dBias: GPT2Slice(grads, ob.projBias),
                                         rows: n, inputs: W, outputs: W)
            try p.launchAttentionBackward(qkv: blk.qkv, probs: blk.probs, dout: ws.dAttention, scratch: ws.dScores,
                                          dqkv: ws.dqkv, batch: B, tokens: T)
            try p.launchLinearInputGrad(dy: GPT2Slice(ws.dqkv), weight: GPT2Slice(params, ob.qkvWeight), dx: GPT2Slice(ws.dln),
                                        rows: n, inputs: W, outputs: 3 * W)
            try p.launchLinearWeightGrad(dy: GPT2Slice(ws.dqkv), x: GPT2Slice(blk.ln1), dWeight: GPT2Slice(grads, ob.qkvWeight),
                                         dBias: GPT2Slice(grads, ob.qkvBias), rows: n, inputs: W, outputs: 3 * W)
            try p.launchLayerNormBackward(x: ws.h[i], params: params, gain: ob.ln1Gain, mean: blk.ln1Mean,
                                          rstd: blk.ln1Rstd, dy: ws.dln, residual: ws.dx, dx: ws.dh, rows: n)
            try p.launchLayerNormGrads(x: ws.h[i], mean: blk.ln1Mean, rstd: blk.ln1Rstd, dy: ws.dln, grads: grads,
                                       gain: ob.ln1Gain, bias: ob.ln1Bias, rows: n)
        }
        // h⁰ = W_in p + b_in + pos_t
        try p.launchLinearWeightGrad(dy: GPT2Slice(ws.dh), x: GPT2Slice(ws.prompts), dWeight: GPT2Slice(grads, o.inWeight),
                                     dBias: GPT2Slice(grads, o.inBias), rows: n, inputs: shape.d, outputs: W)
        try p.launchPositionGrad(dh: ws.dh, grads: grads, pos: o.pos, batch: B, tokens: T)
    }

    /// AdamW over every parameter with the gradients in `grads`.
    public func enqueueAdamW(step: Int, optimizer: GPT2Optimizer) throws {
        try program.launchAdamW(params: params, grads: grads, m: state.adamM, v: state.adamV, decayMask: state.decayMask, step: step,
                                optimizer: optimizer)
    }
}
