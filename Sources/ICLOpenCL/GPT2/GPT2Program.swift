import Foundation
import ICLCore

/// Part of a device buffer: elements from `offset` on. The GPT-2 kernels take element offsets (tensors of the
/// packed parameter buffer are not aligned for sub-buffers).
public struct GPT2Slice {
    public let buffer: CLBuffer<Float>
    public let offset: Int
    public init(_ buffer: CLBuffer<Float>, _ offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }
}

/// Where every tensor of `GPT2Weights.layout` starts in the packed parameter (and gradient, and moment) buffer.
public struct GPT2Offsets: Equatable, Sendable {
    public struct Block: Equatable, Sendable {
        public var ln1Gain = 0, ln1Bias = 0, qkvWeight = 0, qkvBias = 0, projWeight = 0, projBias = 0
        public var ln2Gain = 0, ln2Bias = 0, fcWeight = 0, fcBias = 0, fc2Weight = 0, fc2Bias = 0
    }
    public var inWeight = 0, inBias = 0, pos = 0
    public var blocks: [Block]
    public var lnfGain = 0, lnfBias = 0, outWeight = 0, outBias = 0
    /// Number of parameters.
    public var count = 0

    public init(shape s: GPT2Shape) {
        blocks = [Block](repeating: Block(), count: s.layers)
        var at = 0
        for t in GPT2Weights<Float>.layout(s) {
            let parts = t.name.split(separator: ".", maxSplits: 1).map(String.init)
            if parts[0].hasPrefix("block"), let i = Int(parts[0].dropFirst(5)) {
                switch parts[1] {
                case "ln1.weight": blocks[i].ln1Gain = at
                case "ln1.bias": blocks[i].ln1Bias = at
                case "attn.qkv.weight": blocks[i].qkvWeight = at
                case "attn.qkv.bias": blocks[i].qkvBias = at
                case "attn.proj.weight": blocks[i].projWeight = at
                case "attn.proj.bias": blocks[i].projBias = at
                case "ln2.weight": blocks[i].ln2Gain = at
                case "ln2.bias": blocks[i].ln2Bias = at
                case "mlp.fc.weight": blocks[i].fcWeight = at
                case "mlp.fc.bias": blocks[i].fcBias = at
                case "mlp.fc2.weight": blocks[i].fc2Weight = at
                case "mlp.fc2.bias": blocks[i].fc2Bias = at
                default: preconditionFailure("GPT-2 layout: unknown tensor \(t.name)")
                }
            } else {
                switch t.name {
                case "readin.weight": inWeight = at
                case "readin.bias": inBias = at
                case "pos": pos = at
                case "lnf.weight": lnfGain = at
                case "lnf.bias": lnfBias = at
                case "readout.weight": outWeight = at
                case "readout.bias": outBias = at
                default: preconditionFailure("GPT-2 layout: unknown tensor \(t.name)")
                }
            }
            at += t.count
        }
        count = at
    }

    /// Per element of the packed buffer: 1 where AdamW decays the parameter (the matrices), else 0.
    public static func decayMask(_ s: GPT2Shape) -> [Float] {
        GPT2Weights<Float>.layout(s).flatMap { [Float](repeating: $0.decays ? 1 : 0, count: $0.count) }
    }
}

/// The epilogue of a matmul launch (the MM_* flags of Kernels/gpt2_matmul.cl).
public struct GPT2MatmulEpilogue: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// + bias[q]
    public static let bias = GPT2MatmulEpilogue(rawValue: 1)
    /// + R[(p mod period)·Q + q]
    public static let residual = GPT2MatmulEpilogue(rawValue: 2)
    /// also writes GELU(C) to C2
    public static let gelu = GPT2MatmulEpilogue(rawValue: 4)
    /// C ·= GELU'(G)
    public static let geluSlope = GPT2MatmulEpilogue(rawValue: 8)
    /// also writes the row sums of A to C2
    public static let sumColumns = GPT2MatmulEpilogue(rawValue: 16)
    /// with `gelu`: C holds GELU'(C) rather than C
    public static let keepSlope = GPT2MatmulEpilogue(rawValue: 32)
    /// C ·= G
    public static let scale = GPT2MatmulEpilogue(rawValue: 64)
}

/// The GPT-2-style model's kernels (Kernels/gpt2_*.cl) compiled for one width, head count and variant, with
/// one launcher per op. Sizes that vary per call (batch, tokens, matmul dimensions) are kernel arguments; the
/// width W, heads H and head width W/H are -D defines. Launchers enqueue and return at once.
public final class GPT2Program {
    public static let sourceFiles = ["gpt2_common.cl", "gpt2_matmul.cl", "gpt2_layernorm.cl", "gpt2_attention.cl",
                                     "gpt2_io.cl", "gpt2_adamw.cl"]
    /// Work-group size of the GPU-variant per-row kernels.
    public static let groupSize = 64
    /// Tile edge of the GPU-variant matmul.
    public static let tile = 16

    /// Register blocking of the CPU-variant matmuls (-D GPT2_MM_* of gpt2_matmul.cl), CLBlast-style tunables.
    public struct Tuning: Hashable, Sendable {
        /// Dot form (forward): rows and columns of C per work-item, and the k vector width (4, 8 or 16).
        public var dotRows = 4, dotColumns = 8, dotVector = 8
        /// Outer-product form (backward): rows of C per work-item and columns, one vector (4, 8 or 16).
        public var outerRows = 4, outerVector = 16
        /// The defaults were the fastest of those tried on PoCL with AVX-512 (2 cores) at the default model's
        /// layer sizes (1344 rows, 64 ↔ 64, 192, 256).
        public init(dotRows: Int = 4, dotColumns: Int = 8, dotVector: Int = 8, outerRows: Int = 4, outerVector: Int = 16) {
            self.dotRows = dotRows; self.dotColumns = dotColumns; self.dotVector = dotVector
            self.outerRows = outerRows; self.outerVector = outerVector
        }
        public static let `default` = Tuning()
    }

    public let context: CLContext
    public let shape: GPT2Shape
    public let variant: KernelVariant
    public let tuning: Tuning
    public let program: CLProgram
    let mmDot, mmOuter, mmTiled: CLKernel?
    let lnForward, lnBackward, lnGrads: CLKernel
    let attnForward, attnBackward: CLKernel
    let attnBackwardColumns: CLKernel?
    let head, headGrads, posGrad, adamW: CLKernel

    public init(context: CLContext, shape: GPT2Shape, variant: KernelVariant, tuning: Tuning = .default) throws {
        try shape.validate()
        guard [4, 8, 16].contains(tuning.dotVector), [4, 8, 16].contains(tuning.outerVector),
              (1...16).contains(tuning.dotRows), (1...16).contains(tuning.outerRows),
              (1...16).contains(tuning.dotColumns) else {
            throw ConfigError("GPT-2 matmul tuning \(tuning) is out of range: vectors of 4, 8 or 16, blocks of 1 to 16.")
        }
        self.context = context
        self.shape = shape
        self.variant = variant
        self.tuning = tuning
        let defines = ["GPT2_W": shape.width, "GPT2_H": shape.heads, "GPT2_HD": shape.headDim,
                       "GPT2_WG": GPT2Program.groupSize, "GPT2_TS": GPT2Program.tile,
                       "GPT2_MM_RB": tuning.dotRows, "GPT2_MM_CB": tuning.dotColumns, "GPT2_MM_KV": tuning.dotVector,
                       "GPT2_MM_NB": tuning.outerRows, "GPT2_MM_NV": tuning.outerVector]
        program = try ProgramBuild(files: GPT2Program.sourceFiles, defines: defines).build(context)
        let suffix = variant == .cpu ? "_wi" : "_wg"
        if variant == .cpu {
            mmDot = try program.kernel("gpt2_mm_nt_wi")
            mmOuter = try program.kernel("gpt2_mm_nn_wi")
            mmTiled = nil
            attnBackward = try program.kernel("gpt2_attn_bwd_rows_wi")
            attnBackwardColumns = try program.kernel("gpt2_attn_bwd_cols_wi")
        } else {
            mmDot = nil
            mmOuter = nil
            mmTiled = try program.kernel("gpt2_mm_wg")
            attnBackward = try program.kernel("gpt2_attn_bwd_wg")
            attnBackwardColumns = nil
        }
        lnForward = try program.kernel("gpt2_ln_fwd" + suffix)
        lnBackward = try program.kernel("gpt2_ln_bwd" + suffix)
        lnGrads = try program.kernel("gpt2_ln_grads" + suffix)
        attnForward = try program.kernel("gpt2_attn_fwd" + suffix)
        head = try program.kernel("gpt2_head" + suffix)
        headGrads = try program.kernel("gpt2_head_grads")
        posGrad = try program.kernel("gpt2_pos_grad")
        adamW = try program.kernel("gpt2_adamw")
        if variant == .gpu {
            let what = "the GPT-2 engine's gpu variant"
            for kernel in [lnForward, lnBackward, lnGrads, attnForward, attnBackward, head] {
                try kernel.requireGroupSize(GPT2Program.groupSize, of: what, in: context)
            }
            try mmTiled!.requireGroupSize(GPT2Program.tile * GPT2Program.tile, of: what, in: context)
            // Static local arrays, as compiled: the attention's beside its per-prompt tables, the others alone.
            for kernel in [lnForward, lnBackward, lnGrads, head, mmTiled!] where kernel.localMemoryUsed > context.device.localMemSize {
                throw PipelineError(.localMemory, "\(what)'s kernel '\(kernel.name)' uses \(kernel.localMemoryUsed) bytes of local memory, but '\(context.device.name)' has \(context.device.localMemSize).")
            }
            try Self.requireLocalMemory(shape: shape, device: context.device,
                                        staticBytes: max(attnForward.localMemoryUsed, attnBackward.localMemoryUsed))
        }
    }

    /// Local memory of the GPU-variant attention kernels for prompts of `tokens` tokens: (forward, backward) bytes.
    public func attentionLocalBytes(tokens T: Int) -> (forward: Int, backward: Int) {
        Self.attentionLocalBytes(shape: shape, tokens: T)
    }

    /// The same for any shape: a head's q, k, v (and dout) slices of T × headDim floats and one (two) T × T tables.
    public static func attentionLocalBytes(shape: GPT2Shape, tokens T: Int) -> (forward: Int, backward: Int) {
        let D = shape.headDim
        return ((3 * T * D + T * T) * 4, (4 * T * D + 2 * T * T) * 4)
    }

    /// The GPU variant's local memory, checked before anything is built or launched: the attention kernels hold a
    /// head's slices and T × T tables for the longest prompt (maxTokens), beside their static arrays
    /// (`staticBytes`: the compiled kernels' CL_KERNEL_LOCAL_MEM_SIZE, 0 where not known yet). Every other GPU-variant
    /// kernel's local memory is static and small: the matmul's two TS × (TS + 1) tiles (2176 bytes at TS = 16) and the
    /// reductions' GPT2_WG floats (256 bytes); the program's build checks those against the device as well.
    public static func requireLocalMemory(shape: GPT2Shape, device: CLDeviceInfo, staticBytes: Int = 0) throws {
        let need = attentionLocalBytes(shape: shape, tokens: shape.maxTokens)
        let bytes = max(need.forward, need.backward) + staticBytes
        guard bytes <= device.localMemSize else {
            throw PipelineError(.localMemory, "the GPU-variant attention keeps a head's q, k, v, dout and two T×T tables in local "
                                + "memory: \(bytes) bytes at maxTokens = \(shape.maxTokens), "
                                + "but '\(device.name)' has \(device.localMemSize); "
                                + "the cpu variant or shorter prompts fit.")
        }
    }

    func up(_ x: Int, _ m: Int) -> Int { LaunchGeometry.roundUp(x, m) }

    // MARK: Matmul

    /// C[p, q] = epilogue(Σ_k A(p, k) B(k, q)) with A(p, k) = a[p·sAp + k·sAk] and B(k, q) = b[k·sBk + q·sBq]
    /// (offsets from the slices). The CPU variant runs the dot-form kernel when sAk = sBk = 1, else the
    /// outer-product one (which needs sBq = 1); the GPU variant runs the tiled kernel for any strides.
    @discardableResult
    public func launchMatmul(a: GPT2Slice, sAp: Int, sAk: Int, b: GPT2Slice, sBk: Int, sBq: Int, c: GPT2Slice,
                             P: Int, Q: Int, K: Int, epilogue: GPT2MatmulEpilogue = [],
                             bias: GPT2Slice? = nil, residual: GPT2Slice? = nil, period: Int? = nil,
                             slopeOf g: GPT2Slice? = nil, c2: GPT2Slice? = nil, timed: Bool = false) throws -> CLEvent? {
        guard P > 0, Q > 0 else { return nil }
        let any = GPT2Slice(c.buffer)
        let bias = bias ?? any, residual = residual ?? any, g = g ?? any, c2 = c2 ?? any
        let args: [any CLKernelArgument] = [a.buffer, a.offset, sAp, sAk, b.buffer, b.offset, sBk, sBq, bias.buffer, bias.offset,
                           residual.buffer, residual.offset, max(period ?? P, 1), g.buffer, g.offset,
                           c.buffer, c.offset, c2.buffer, c2.offset, P, Q, K, epilogue.rawValue]
        if let tiled = mmTiled {
            try tiled.set(args: args)
            let ts = GPT2Program.tile
            return try tiled.launch(global: [up(Q, ts), up(P, ts)], local: [ts, ts], timed: timed)
        }
        if sAk == 1 && sBk == 1 && !epilogue.contains(.sumColumns), let k = mmDot {
            try k.set(args: args)
            return try k.launch(global: [up(Q, tuning.dotColumns) / tuning.dotColumns,
                                         up(P, tuning.dotRows) / tuning.dotRows], local: nil, timed: timed)
        }
        guard sBq == 1, let k = mmOuter else {
            preconditionFailure("the CPU matmul kernels need B contiguous along k (dot form) or along q (outer form); got sBk = \(sBk), sBq = \(sBq)")
        }
        try k.set(args: args)
        return try k.launch(global: [up(Q, tuning.outerVector) / tuning.outerVector,
                                     up(P, tuning.outerRows) / tuning.outerRows], local: nil, timed: timed)
    }

    /// Linear layer forward: y = x Wᵀ + b [+ residual[(r mod period)]] (x [rows, inputs], W [outputs, inputs]);
    /// with `gelu`, also GELU(y) into it, and with `keepSlope` y holds GELU'(y) instead (all the backward needs).
    @discardableResult
    public func launchLinear(x: GPT2Slice, weight: GPT2Slice, bias: GPT2Slice, y: GPT2Slice, rows: Int, inputs: Int,
                             outputs: Int, residual: GPT2Slice? = nil, period: Int? = nil, gelu: GPT2Slice? = nil,
                             keepSlope: Bool = false, timed: Bool = false) throws -> CLEvent? {
        var e: GPT2MatmulEpilogue = .bias
        if residual != nil { e.insert(.residual) }
        if gelu != nil { e.insert(.gelu) }
        if gelu != nil && keepSlope { e.insert(.keepSlope) }
        return try launchMatmul(a: x, sAp: inputs, sAk: 1, b: weight, sBk: 1, sBq: inputs, c: y, P: rows, Q: outputs,
                                K: inputs, epilogue: e, bias: bias, residual: residual, period: period ?? rows,
                                c2: gelu, timed: timed)
    }

    /// Linear layer input gradient: dx = dy W [⊙ GELU'(geluInput)] [⊙ slope] (dy [rows, outputs]); `slope` is
    /// a GELU' saved by the forward (`keepSlope`). At most one of the two.
    @discardableResult
    public func launchLinearInputGrad(dy: GPT2Slice, weight: GPT2Slice, dx: GPT2Slice, rows: Int, inputs: Int,
                                      outputs: Int, geluInput: GPT2Slice? = nil, slope: GPT2Slice? = nil,
                                      timed: Bool = false) throws -> CLEvent? {
        precondition(geluInput == nil || slope == nil, "pass a GELU input or a saved slope, not both")
        let e: GPT2MatmulEpilogue = geluInput != nil ? .geluSlope : slope != nil ? .scale : []
        return try launchMatmul(a: dy, sAp: outputs, sAk: 1, b: weight, sBk: inputs, sBq: 1, c: dx, P: rows, Q: inputs,
                                K: outputs, epilogue: e, slopeOf: geluInput ?? slope, timed: timed)
    }

    /// Linear layer parameter gradients: dW = dyᵀ x [outputs, inputs] and db = Σ_rows dy [outputs].
    @discardableResult
    public func launchLinearWeightGrad(dy: GPT2Slice, x: GPT2Slice, dWeight: GPT2Slice, dBias: GPT2Slice, rows: Int,
                                       inputs: Int, outputs: Int, timed: Bool = false) throws -> CLEvent? {
        try launchMatmul(a: dy, sAp: 1, sAk: outputs, b: x, sBk: inputs, sBq: 1, c: dWeight, P: outputs, Q: inputs,
                         K: rows, epilogue: .sumColumns, c2: dBias, timed: timed)
    }

    // MARK: Per-row ops

    /// Global and local sizes for one work-item (CPU) or one work-group (GPU) per unit.
    func perUnit(_ n: Int) -> (global: [Int], local: [Int]?) {
        variant == .cpu ? ([n], nil) : ([n * GPT2Program.groupSize], [GPT2Program.groupSize])
    }

    /// y = LN(x) with γ, β at gain/bias of `params`; saves the row statistics. x, y [rows, W].
    @discardableResult
    public func launchLayerNorm(x: CLBuffer<Float>, params: CLBuffer<Float>, gain: Int, bias: Int, y: CLBuffer<Float>,
                                mean: CLBuffer<Float>, rstd: CLBuffer<Float>, rows: Int, timed: Bool = false) throws -> CLEvent? {
        guard rows > 0 else { return nil }
        try lnForward.set(args: [x, params, gain, bias, y, mean, rstd, rows])
        let (g, l) = perUnit(rows)
        return try lnForward.launch(global: g, local: l, timed: timed)
    }

    /// dx = [residual +] LN backward of dy.
    @discardableResult
    public func launchLayerNormBackward(x: CLBuffer<Float>, params: CLBuffer<Float>, gain: Int, mean: CLBuffer<Float>,
                                        rstd: CLBuffer<Float>, dy: CLBuffer<Float>, residual: CLBuffer<Float>?,
                                        dx: CLBuffer<Float>, rows: Int, timed: Bool = false) throws -> CLEvent? {
        guard rows > 0 else { return nil }
        try lnBackward.set(args: [x, params, gain, mean, rstd, dy, residual ?? dx, dx, rows, residual == nil ? 0 : 1])
        let (g, l) = perUnit(rows)
        return try lnBackward.launch(global: g, local: l, timed: timed)
    }

    /// dγ = Σ dy ⊙ x̂ and dβ = Σ dy into `grads` at gain/bias.
    @discardableResult
    public func launchLayerNormGrads(x: CLBuffer<Float>, mean: CLBuffer<Float>, rstd: CLBuffer<Float>,
                                     dy: CLBuffer<Float>, grads: CLBuffer<Float>, gain: Int, bias: Int, rows: Int,
                                     timed: Bool = false) throws -> CLEvent? {
        try lnGrads.set(args: [x, mean, rstd, dy, grads, gain, bias, rows])
        let (g, l) = perUnit(shape.width)
        return try lnGrads.launch(global: g, local: l, timed: timed)
    }

    // MARK: Attention

    /// Causal attention forward over `batch` prompts of `tokens` tokens: out [B, T, W], probs [B, H, T, T].
    @discardableResult
    public func launchAttention(qkv: CLBuffer<Float>, out: CLBuffer<Float>, probs: CLBuffer<Float>, batch: Int,
                                tokens: Int, timed: Bool = false) throws -> CLEvent? {
        guard batch > 0 else { return nil }
        if variant == .cpu {
            try attnForward.set(args: [qkv, out, probs, batch, tokens])
            return try attnForward.launch(global: [batch * shape.heads * tokens], local: nil, timed: timed)
        }
        let T = tokens, D = shape.headDim
        try attnForward.set(args: [qkv, out, probs, batch, tokens, CLLocal(bytes: T * D * 4), CLLocal(bytes: T * D * 4),
                                   CLLocal(bytes: T * D * 4), CLLocal(bytes: T * T * 4)])
        let wg = GPT2Program.groupSize
        return try attnForward.launch(global: [batch * shape.heads * wg], local: [wg], timed: timed)
    }

    /// Attention backward: dqkv [B, T, 3W] from dout [B, T, W]. `scratch` ([B, H, T, T]) holds the score
    /// gradients between the CPU variant's two launches (unused by the GPU variant); with `timed` the CPU
    /// variant returns the second launch's event.
    @discardableResult
    public func launchAttentionBackward(qkv: CLBuffer<Float>, probs: CLBuffer<Float>, dout: CLBuffer<Float>,
                                        scratch: CLBuffer<Float>, dqkv: CLBuffer<Float>, batch: Int, tokens: Int,
                                        timed: Bool = false) throws -> CLEvent? {
        guard batch > 0 else { return nil }
        if let columns = attnBackwardColumns {
            let n = batch * shape.heads * tokens
            try attnBackward.set(args: [qkv, probs, dout, scratch, dqkv, batch, tokens])
            let first = try attnBackward.launch(global: [n], local: nil, timed: timed)
            try columns.set(args: [qkv, probs, dout, scratch, dqkv, batch, tokens])
            let second = try columns.launch(global: [n], local: nil, timed: timed)
            return second ?? first
        }
        let T = tokens, D = shape.headDim
        let slice = CLLocal(bytes: T * D * 4), square = CLLocal(bytes: T * T * 4)
        try attnBackward.set(args: [qkv, probs, dout, dqkv, batch, tokens, slice, slice, slice, slice, square, square])
        let wg = GPT2Program.groupSize
        return try attnBackward.launch(global: [batch * shape.heads * wg], local: [wg], timed: timed)
    }

    // MARK: Read-in and read-out

    /// dpos [maxTokens, W] into `grads` at `pos`: Σ_b dh[b, t] for t < tokens, zero beyond.
    @discardableResult
    public func launchPositionGrad(dh: CLBuffer<Float>, grads: CLBuffer<Float>, pos: Int, batch: Int, tokens: Int,
                                   timed: Bool = false) throws -> CLEvent? {
        try posGrad.set(args: [dh, grads, pos, batch, tokens, shape.maxTokens])
        return try posGrad.launch(global: [shape.maxTokens * shape.width], local: nil, timed: timed)
    }

    /// The buffers of the read-out at the query token and the hinge loss.
    public struct HeadBuffers {
        public var labels, lnfY, lnfMean, lnfRstd, F, dF, lossTerm, errTerm, stats: CLBuffer<Float>
        public init(labels: CLBuffer<Float>, lnfY: CLBuffer<Float>, lnfMean: CLBuffer<Float>, lnfRstd: CLBuffer<Float>,
                    F: CLBuffer<Float>, dF: CLBuffer<Float>, lossTerm: CLBuffer<Float>, errTerm: CLBuffer<Float>,
                    stats: CLBuffer<Float>) {
            self.labels = labels; self.lnfY = lnfY; self.lnfMean = lnfMean; self.lnfRstd = lnfRstd; self.F = F
            self.dF = dF; self.lossTerm = lossTerm; self.errTerm = errTerm; self.stats = stats
        }
    }

    /// F = w_out·LN_f(h[b, T−1]) + b_out and the hinge terms per prompt; with `withGrad` also dh (zero but at
    /// the query rows). `params` offsets from `offsets`.
    @discardableResult
    public func launchHead(h: CLBuffer<Float>, params: CLBuffer<Float>, offsets o: GPT2Offsets, io: HeadBuffers,
                           dh: CLBuffer<Float>, batch: Int, tokens: Int, withGrad: Bool, timed: Bool = false) throws -> CLEvent? {
        guard batch > 0 else { return nil }
        try head.set(args: [h, params, o.lnfGain, o.lnfBias, o.outWeight, o.outBias, io.labels, io.lnfY, io.lnfMean,
                            io.lnfRstd, io.F, io.dF, io.lossTerm, io.errTerm, dh, batch, tokens, withGrad ? 1 : 0])
        let (g, l) = perUnit(batch)
        return try head.launch(global: g, local: l, timed: timed)
    }

    /// The read-out's parameter gradients (with `withGrad`) into `grads`, and stats = (mean loss, errors).
    @discardableResult
    public func launchHeadGrads(h: CLBuffer<Float>, params: CLBuffer<Float>, offsets o: GPT2Offsets, io: HeadBuffers,
                                grads: CLBuffer<Float>, batch: Int, tokens: Int, withGrad: Bool,
                                timed: Bool = false) throws -> CLEvent? {
        try headGrads.set(args: [h, params, o.outWeight, io.lnfY, io.lnfMean, io.lnfRstd, io.dF, io.lossTerm, io.errTerm,
                                 grads, o.lnfGain, o.lnfBias, o.outWeight, o.outBias, io.stats, batch, tokens,
                                 withGrad ? 1 : 0])
        return try headGrads.launch(global: [shape.width + 1], local: nil, timed: timed)
    }

    // MARK: AdamW

    /// One AdamW update of every parameter at `optimizer.learningRate(step:)`, bias correction for t = step + 1.
    @discardableResult
    public func launchAdamW(params: CLBuffer<Float>, grads: CLBuffer<Float>, m: CLBuffer<Float>, v: CLBuffer<Float>,
                            decayMask: CLBuffer<Float>, step: Int, optimizer o: GPT2Optimizer,
                            timed: Bool = false) throws -> CLEvent? {
        let t = Double(step + 1)
        let c1 = Float(1 - pow(o.beta1, t)), c2 = Float(1 - pow(o.beta2, t))
        try adamW.set(args: [params, grads, m, v, decayMask, Float(o.learningRate(step: step)), Float(o.beta1),
                             Float(o.beta2), Float(o.eps), c1, c2, Float(o.weightDecay), params.count])
        return try adamW.launch(global: [params.count], local: nil, timed: timed)
    }
}

extension GPT2Program {
    /// The three products of a linear layer with `rows` rows, `inputs` → `outputs` (forward with bias, input gradient,
    /// weight gradient with the bias sum), each 2·rows·inputs·outputs FLOPs, on buffers of fixed values: for
    /// `icl bench`'s GFLOP/s.
    public func matmulBenchKernels(name: String, rows n: Int, inputs i: Int, outputs o: Int) throws -> [BenchKernel] {
        func filled(_ count: Int, _ label: String, _ seed: Int) throws -> CLBuffer<Float> {
            try context.buffer((0..<count).map { Float(($0 * 7919 + seed) % 2001 - 1000) * 1e-3 }, label: label)
        }
        func scratch(_ count: Int, _ label: String) throws -> CLBuffer<Float> {
            try context.buffer(Float.self, count: count, label: label)
        }
        let x = try filled(n * i, "x", 1), w = try filled(o * i, "weight", 2), b = try filled(o, "bias", 3)
        let y = try scratch(n * o, "y"), dy = try filled(n * o, "dy", 4), dx = try scratch(n * i, "dx")
        let dW = try scratch(o * i, "dW"), db = try scratch(o, "db")
        let flops = 2 * Double(n * i * o), f4 = 4.0
        return [
            BenchKernel(name: "\(name) forward", flops: flops, bytes: f4 * Double(n * i + o * i + n * o)) {
                try self.launchLinear(x: GPT2Slice(x), weight: GPT2Slice(w), bias: GPT2Slice(b), y: GPT2Slice(y), rows: n,
                                      inputs: i, outputs: o, timed: true)
            },
            BenchKernel(name: "\(name) input grad", flops: flops, bytes: f4 * Double(n * o + o * i + n * i)) {
                try self.launchLinearInputGrad(dy: GPT2Slice(dy), weight: GPT2Slice(w), dx: GPT2Slice(dx), rows: n,
                                               inputs: i, outputs: o, timed: true)
            },
            BenchKernel(name: "\(name) weight grad", flops: flops, bytes: f4 * Double(n * o + n * i + o * i)) {
                try self.launchLinearWeightGrad(dy: GPT2Slice(dy), x: GPT2Slice(x), dWeight: GPT2Slice(dW),
                                                dBias: GPT2Slice(db), rows: n, inputs: i, outputs: o, timed: true)
            },
        ]
    }
}
