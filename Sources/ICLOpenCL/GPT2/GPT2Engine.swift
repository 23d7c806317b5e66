import Foundation
import ICLCore

/// The GPT-2-style model (PAPER.md §6) resident on one OpenCL device: weights, gradients and AdamW moments in
/// single packed buffers (`GPT2Weights.packed` order), a workspace for up to `capacity` prompts, and the whole
/// training step on the device: sample → read-in → L blocks → read-out and hinge → backward → AdamW, with one
/// 8-byte read of (loss, errors) per step. The CPU reference (`GPT2Reference`) is the oracle it is checked
/// against.
public final class GPT2Engine {
    public let context: CLContext
    public let shape: GPT2Shape
    public let variant: KernelVariant
    /// The most prompts one launch sequence takes (training batch, evaluation chunk).
    public let capacity: Int
    public let program: GPT2Program
    public let workspace: GPT2Workspace
    public let offsets: GPT2Offsets
    /// Parameters, their gradients (written whole by every backward pass) and the AdamW moments, all
    /// [parameterCount] in the packed layout; the per-element weight-decay mask (1 for the matrices).
    public let params, grads, adamM, adamV, decayMask: CLBuffer<Float>
    private var samplers: [[Int]: CLKernel] = [:]

    /// Builds the program and allocates everything for batches of up to `capacity` prompts of up to
    /// `shape.maxTokens` tokens. The weights start at `GPT2Weights.initial(shape:seed: 0)` with zero moments.
    /// `tuning` sets the CPU-variant matmul blocking.
    public init(context: CLContext, shape: GPT2Shape, variant: KernelVariant, capacity: Int,
                tuning: GPT2Program.Tuning = .default) throws {
        try shape.validate()
        guard capacity >= 1 else {
            throw ConfigError("GPT-2 engine capacity = \(capacity) is out of range: must be ≥ 1 (the largest batch).")
        }
        self.context = context
        self.shape = shape
        self.variant = variant
        self.capacity = capacity
        program = try GPT2Program(context: context, shape: shape, variant: variant, tuning: tuning)
        if variant == .gpu {
            let need = program.attentionLocalBytes(tokens: shape.maxTokens)
            guard max(need.forward, need.backward) <= context.device.localMemSize else {
                throw CLError(call: "GPT2Engine", status: -5,
                              detail: "the GPU-variant attention keeps a head's q, k, v, dout and two T×T tables in local "
                                  + "memory: \(max(need.forward, need.backward)) bytes at maxTokens = \(shape.maxTokens), "
                                  + "but '\(context.device.name)' has \(context.device.localMemSize); "
                                  + "use the cpu variant or shorter prompts")
            }
        }
        workspace = try GPT2Workspace(context: context, shape: shape, capacity: capacity)
        offsets = GPT2Offsets(shape: shape)
        let count = offsets.count
        params = try context.buffer(Float.self, count: count, label: "GPT-2 parameters")
        grads = try context.buffer(Float.self, count: count, label: "GPT-2 gradients")
        adamM = try context.buffer(Float.self, count: count, label: "GPT-2 Adam m")
        adamV = try context.buffer(Float.self, count: count, label: "GPT-2 Adam v")
        decayMask = try context.buffer(GPT2Offsets.decayMask(shape), label: "GPT-2 weight-decay mask")
        try load(weights: .initial(shape: shape, seed: 0), adam: GPT2AdamState(shape: shape))
    }

    // MARK: State

    /// Replaces the resident weights and AdamW moments (one upload each).
    public func load(weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>) throws {
        guard weights.shape == shape else {
            throw ConfigError("GPT-2 weights of shape \(weights.shape) do not match the engine's shape \(shape).")
        }
        guard adam.m.count == offsets.count, adam.v.count == offsets.count else {
            throw ConfigError("GPT-2 Adam moments hold \(adam.m.count) and \(adam.v.count) values; the model has \(offsets.count) parameters.")
        }
        try params.write(weights.packed)
        try adamM.write(adam.m)
        try adamV.write(adam.v)
    }

    public func readWeights() throws -> GPT2Weights<Float> {
        GPT2Weights(shape: shape, packed: try params.read())
    }

    public func readAdam() throws -> GPT2AdamState<Float> {
        var state = GPT2AdamState<Float>(shape: shape)
        state.m = try adamM.read()
        state.v = try adamV.read()
        return state
    }

    /// The gradients of the last backward pass.
    public func readGradients() throws -> GPT2Gradients<Float> {
        GPT2Weights(shape: shape, packed: try grads.read())
    }

    // MARK: Training and evaluation

    /// Samples `batch` prompts of `spec` at `step` on the device, forward, hinge, backward, AdamW at
    /// optimizer.learningRate(step:) with bias correction for step+1 exactly as GPT2Reference.trainStep;
    /// returns loss/errors of the batch before the update. One small read per step.
    public func trainStep(spec: SpecBuffers, step: Int, batch: Int, optimizer: GPT2Optimizer) throws -> BatchStats {
        try check(spec.spec, batch: batch)
        let T = spec.spec.length + 1
        try enqueueSample(spec, step: step, firstPrompt: 0, batch: batch)
        try enqueueForward(batch: batch, tokens: T)
        try enqueueHead(batch: batch, tokens: T, withGrad: true)
        try enqueueBackward(batch: batch, tokens: T)
        try enqueueAdamW(step: step, optimizer: optimizer)
        let s = try workspace.head.stats.read()
        return BatchStats(loss: s[0], errors: Int(s[1]), prompts: batch)
    }

    /// Loss and errors on prompts 0..<count of spec (drawn at step 0, in chunks of at most capacity).
    public func evaluate(spec: SpecBuffers, prompts count: Int) throws -> BatchStats {
        try check(spec.spec, batch: min(max(count, 1), capacity))
        let T = spec.spec.length + 1
        var lossSum = 0.0, errors = 0
        for first in stride(from: 0, to: count, by: capacity) {
            let n = min(capacity, count - first)
            try enqueueSample(spec, step: 0, firstPrompt: first, batch: n)
            try enqueueForward(batch: n, tokens: T)
            try enqueueHead(batch: n, tokens: T, withGrad: false)
            let s = try workspace.head.stats.read()
            lossSum += Double(s[0]) * Double(n)
            errors += Int(s[1])
        }
        return BatchStats(loss: Float(lossSum / Double(max(count, 1))), errors: errors, prompts: count)
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
                try readGradients())
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

    /// The sampler program for a spec's sizes (Kernels/sampler.cl with the -D sizes ModelProgram uses).
    func sampler(_ spec: PromptSpec) throws -> CLKernel {
        let key = [spec.dX, spec.dY, spec.length]
        if let k = samplers[key] { return k }
        let sizes = ModelShape(dX: spec.dX, dY: spec.dY, length: spec.length, m: 1, attendQuery: false)
        let k = try sizes.build(context, files: ["common.cl", "sampler.cl"]).kernel("sample_prompts")
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

    /// Seconds per launch of the matmul kernels (forward, input gradient, weight gradient) of a linear layer
    /// with `rows` rows, `inputs` → `outputs`, each 2·rows·inputs·outputs FLOPs: for `icl bench`'s GFLOP/s.
    public func benchMatmul(rows: Int, inputs: Int, outputs: Int, repeats: Int = 5) throws -> GPT2Program.MatmulTiming {
        try program.benchMatmul(rows: rows, inputs: inputs, outputs: outputs, repeats: repeats)
    }

    /// AdamW over every parameter with the gradients in `grads`.
    public func enqueueAdamW(step: Int, optimizer: GPT2Optimizer) throws {
        try program.launchAdamW(params: params, grads: grads, m: adamM, v: adamV, decayMask: decayMask, step: step,
                                optimizer: optimizer)
    }
}
