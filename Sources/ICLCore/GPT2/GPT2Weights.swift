/// One pre-LayerNorm block's parameters, row-major flat arrays (W = width, 4W = MLP width):
///   x = h + proj(Attn(qkv(LN1(h)))),  h' = x + fc2(GELU(fc(LN2(x))))
public struct GPT2Block<T: RefReal>: Equatable {
    /// LN1 gain γ and bias β. [W]
    public var ln1Gain: [T]
    public var ln1Bias: [T]
    /// Fused query | key | value projection: rows 0..<W give q, W..<2W k, 2W..<3W v. [3W, W], [3W]
    public var qkvWeight: [T]
    public var qkvBias: [T]
    /// Attention output projection. [W, W], [W]
    public var projWeight: [T]
    public var projBias: [T]
    /// LN2 gain γ and bias β. [W]
    public var ln2Gain: [T]
    public var ln2Bias: [T]
    /// MLP up-projection. [4W, W], [4W]
    public var fcWeight: [T]
    public var fcBias: [T]
    /// MLP down-projection. [W, 4W], [W]
    public var fc2Weight: [T]
    public var fc2Bias: [T]

    public init(ln1Gain: [T], ln1Bias: [T], qkvWeight: [T], qkvBias: [T], projWeight: [T], projBias: [T],
                ln2Gain: [T], ln2Bias: [T], fcWeight: [T], fcBias: [T], fc2Weight: [T], fc2Bias: [T]) {
        self.ln1Gain = ln1Gain; self.ln1Bias = ln1Bias; self.qkvWeight = qkvWeight; self.qkvBias = qkvBias
        self.projWeight = projWeight; self.projBias = projBias; self.ln2Gain = ln2Gain; self.ln2Bias = ln2Bias
        self.fcWeight = fcWeight; self.fcBias = fcBias; self.fc2Weight = fc2Weight; self.fc2Bias = fc2Bias
    }

    /// All zeros (also the gradient accumulator's start).
    public init(zerosFor s: GPT2Shape) {
        let W = s.width, M = s.mlpWidth
        func z(_ n: Int) -> [T] { [T](repeating: 0, count: n) }
        ln1Gain = z(W); ln1Bias = z(W); qkvWeight = z(3 * W * W); qkvBias = z(3 * W)
        projWeight = z(W * W); projBias = z(W); ln2Gain = z(W); ln2Bias = z(W)
        fcWeight = z(M * W); fcBias = z(M); fc2Weight = z(W * M); fc2Bias = z(W)
    }
}

/// The GPT-2-style model's parameters (see `GPT2Shape`), row-major flat arrays:
///   h⁰_t = W_in p_t + b_in + pos_t;  blocks;  F = w_out · LN_f(h_query) + b_out.
/// The same struct holds gradients (`GPT2Gradients`).
public struct GPT2Weights<T: RefReal>: Equatable {
    public var shape: GPT2Shape
    /// Read-in W_in [W, d] and b_in [W].
    public var inWeight: [T]
    public var inBias: [T]
    /// Learned positions. [maxTokens, W]
    public var pos: [T]
    /// The L blocks, first to last.
    public var blocks: [GPT2Block<T>]
    /// Final LayerNorm γ, β. [W]
    public var lnfGain: [T]
    public var lnfBias: [T]
    /// Read-out w_out [W] and b_out [1].
    public var outWeight: [T]
    public var outBias: [T]

    /// All zeros.
    public init(zerosFor s: GPT2Shape) {
        let W = s.width
        func z(_ n: Int) -> [T] { [T](repeating: 0, count: n) }
        shape = s
        inWeight = z(W * s.d); inBias = z(W); pos = z(s.maxTokens * W)
        blocks = (0..<s.layers).map { _ in GPT2Block(zerosFor: s) }
        lnfGain = z(W); lnfBias = z(W); outWeight = z(W); outBias = z(1)
    }

    // MARK: Layout

    /// One parameter tensor: its safetensors-style name, shape, whether AdamW decays it, and where it lives.
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var decays: Bool
        public var path: WritableKeyPath<GPT2Weights<T>, [T]>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Every tensor in the fixed order of `packed`:
    ///   readin.weight [W, d], readin.bias [W], pos [maxTokens, W],
    ///   for each block i: block{i}.ln1.weight [W], block{i}.ln1.bias [W],
    ///     block{i}.attn.qkv.weight [3W, W], block{i}.attn.qkv.bias [3W],
    ///     block{i}.attn.proj.weight [W, W], block{i}.attn.proj.bias [W],
    ///     block{i}.ln2.weight [W], block{i}.ln2.bias [W],
    ///     block{i}.mlp.fc.weight [4W, W], block{i}.mlp.fc.bias [4W],
    ///     block{i}.mlp.fc2.weight [W, 4W], block{i}.mlp.fc2.bias [W],
    ///   lnf.weight [W], lnf.bias [W], readout.weight [W], readout.bias [1].
    /// LayerNorm "weight" is γ and "bias" is β. Only the `.weight` tensors of readin, qkv, proj, fc, fc2 and
    /// readout decay.
    public static func layout(_ s: GPT2Shape) -> [Tensor] {
        let W = s.width, M = s.mlpWidth
        var out: [Tensor] = [
            Tensor(name: "readin.weight", shape: [W, s.d], decays: true, path: \.inWeight),
            Tensor(name: "readin.bias", shape: [W], decays: false, path: \.inBias),
            Tensor(name: "pos", shape: [s.maxTokens, W], decays: false, path: \.pos),
        ]
        for i in 0..<s.layers {
            let p = "block\(i)."
            out += [
                Tensor(name: p + "ln1.weight", shape: [W], decays: false, path: \.blocks[i].ln1Gain),
                Tensor(name: p + "ln1.bias", shape: [W], decays: false, path: \.blocks[i].ln1Bias),
                Tensor(name: p + "attn.qkv.weight", shape: [3 * W, W], decays: true, path: \.blocks[i].qkvWeight),
                Tensor(name: p + "attn.qkv.bias", shape: [3 * W], decays: false, path: \.blocks[i].qkvBias),
                Tensor(name: p + "attn.proj.weight", shape: [W, W], decays: true, path: \.blocks[i].projWeight),
                Tensor(name: p + "attn.proj.bias", shape: [W], decays: false, path: \.blocks[i].projBias),
                Tensor(name: p + "ln2.weight", shape: [W], decays: false, path: \.blocks[i].ln2Gain),
                Tensor(name: p + "ln2.bias", shape: [W], decays: false, path: \.blocks[i].ln2Bias),
                Tensor(name: p + "mlp.fc.weight", shape: [M, W], decays: true, path: \.blocks[i].fcWeight),
                Tensor(name: p + "mlp.fc.bias", shape: [M], decays: false, path: \.blocks[i].fcBias),
                Tensor(name: p + "mlp.fc2.weight", shape: [W, M], decays: true, path: \.blocks[i].fc2Weight),
                Tensor(name: p + "mlp.fc2.bias", shape: [W], decays: false, path: \.blocks[i].fc2Bias),
            ]
        }
        out += [
            Tensor(name: "lnf.weight", shape: [W], decays: false, path: \.lnfGain),
            Tensor(name: "lnf.bias", shape: [W], decays: false, path: \.lnfBias),
            Tensor(name: "readout.weight", shape: [W], decays: true, path: \.outWeight),
            Tensor(name: "readout.bias", shape: [1], decays: false, path: \.outBias),
        ]
        return out
    }

    /// Number of parameters.
    public static func parameterCount(_ s: GPT2Shape) -> Int { layout(s).reduce(0) { $0 + $1.count } }

    /// Every tensor, in `layout` order, with its name and shape.
    public var named: [(name: String, shape: [Int], values: [T])] {
        GPT2Weights.layout(shape).map { ($0.name, $0.shape, self[keyPath: $0.path]) }
    }

    /// All parameters in one array, tensors in `layout` order: the device's parameter layout.
    public var packed: [T] {
        var out: [T] = []
        out.reserveCapacity(GPT2Weights.parameterCount(shape))
        for t in GPT2Weights.layout(shape) { out.append(contentsOf: self[keyPath: t.path]) }
        return out
    }

    /// Weights from the `packed` layout; `p.count` must be `parameterCount(shape)`.
    public init(shape s: GPT2Shape, packed p: [T]) {
        precondition(p.count == GPT2Weights.parameterCount(s), "packed GPT-2 weights: wrong count")
        self.init(zerosFor: s)
        var at = 0
        for t in GPT2Weights.layout(s) {
            self[keyPath: t.path] = Array(p[at..<(at + t.count)])
            at += t.count
        }
    }

    /// The same weights in another precision.
    public func converted<U: RefReal>(to: U.Type = U.self) -> GPT2Weights<U> {
        GPT2Weights<U>(shape: shape, packed: packed.map { U($0) })
    }

    // MARK: Initialisation

    /// Counter at which the GPT-2 init starts drawing from the `.initWeights` Philox stream. The one-layer
    /// model's W_O init draws from counter 0 upwards (m·d/2 blocks), so starting at 2³¹ keeps the two
    /// models' draws disjoint without a new `RNGStream` case.
    public static var initCounterOffset: UInt32 { 1 << 31 }

    /// GPT-2 initialisation, deterministic per seed: matrices N(0, 0.02²), the residual output projections
    /// (attn.proj and mlp.fc2) N(0, (0.02/√(2L))²), positions N(0, 0.01²), biases 0, LayerNorm γ = 1, β = 0.
    /// Gaussian tensors draw, in `layout` order, consecutive values of one `GaussianSequence(seed:,
    /// stream: .initWeights)` started at counter `initCounterOffset`.
    public static func initial(shape s: GPT2Shape, seed: UInt64) -> GPT2Weights<T> {
        var w = GPT2Weights(zerosFor: s)
        var g = GaussianSequence(seed: seed, stream: .initWeights)
        g.counter = initCounterOffset
        let residualStd = 0.02 / Double(2 * s.layers).squareRoot()
        for t in layout(s) {
            let std: Double
            if t.name == "pos" {
                std = 0.01
            } else if t.name.hasSuffix("attn.proj.weight") || t.name.hasSuffix("mlp.fc2.weight") {
                std = residualStd
            } else if t.decays {
                std = 0.02
            } else {
                if t.name.hasSuffix("ln1.weight") || t.name.hasSuffix("ln2.weight") || t.name == "lnf.weight" {
                    w[keyPath: t.path] = [T](repeating: 1, count: t.count)
                }
                continue
            }
            w[keyPath: t.path] = g.next(t.count).map { T($0 * std) }
        }
        return w
    }
}

/// Gradients of the loss, in the same layout as the weights.
public typealias GPT2Gradients<T: RefReal> = GPT2Weights<T>
