#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shape of the GPT-2-style model of PAPER.md §6 (E1, E2, E8): every prompt column a token through a
/// linear read-in, `layers` pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, a final
/// LayerNorm and a scalar read-out at the query token. The paper gives 3 layers and 2 heads; the width is
/// a [default].
public struct GPT2Shape: Equatable, Hashable, Sendable {
    /// Residual-stream width W.
    public var width = 64
    /// Number of blocks L.
    public var layers = 3
    /// Attention heads H; `width` must be a multiple of it.
    public var heads = 2
    /// Token dimension d = d_X + d_Y (one prompt column).
    public var d = 40
    /// Rows of the learned position table: the longest prompt the model takes is `maxTokens` columns
    /// (l + 1 ≤ maxTokens).
    public var maxTokens = 21

    public init(width: Int = 64, layers: Int = 3, heads: Int = 2, d: Int = 40, maxTokens: Int = 21) {
        self.width = width; self.layers = layers; self.heads = heads; self.d = d; self.maxTokens = maxTokens
    }

    /// The model of a config: its width, layers and heads, its d, and learned positions for the training
    /// prompts' l + 1 tokens (test prompts may be shorter, never longer).
    public init(config c: Config) {
        self.init(width: c.width, layers: c.layers, heads: c.heads, d: c.d, maxTokens: c.lTrain + 1)
    }

    /// Hidden width of the MLP, 4W.
    public var mlpWidth: Int { 4 * width }
    /// Width of one attention head, W / H.
    public var headDim: Int { width / heads }

    /// Checks every field; the first violation is thrown as one sentence naming field, value and range.
    /// `field` words a field's name for that sentence: "GPT-2 shape field 'heads'" by default (the config's
    /// check passes "config field 'heads'").
    public func validate(field: (String) -> String = { "GPT-2 shape field '\($0)'" }) throws {
        func fail(_ name: String, _ value: Int, _ allowed: String) throws -> Never {
            throw ConfigError("\(field(name)) = \(value) is out of range: \(allowed).")
        }
        if width < 1 || width > 1 << 14 { try fail("width", width, "must be in [1, \(1 << 14)]") }
        if layers < 1 || layers > 256 { try fail("layers", layers, "must be in [1, 256]") }
        if heads < 1 || heads > width { try fail("heads", heads, "must be in [1, width = \(width)]") }
        if width % heads != 0 { try fail("heads", heads, "must divide width = \(width) so every head has the same width") }
        if d < 1 || d > 4096 { try fail("d", d, "must be in [1, 4096]") }
        if maxTokens < 2 || maxTokens > 4097 { try fail("maxTokens", maxTokens, "must be in [2, 4097] (l + 1 columns, l ≥ 1)") }
    }
}

/// AdamW with a linear warm-up and a cosine decay: the optimiser of the GPT-2-style model [default; the
/// paper names none]. Weight decay is decoupled and applies to the matrices only (read-in, qkv, proj,
/// fc, fc2, read-out), never to biases, LayerNorm parameters or positions.
public struct GPT2Optimizer: Equatable, Hashable, Sendable {
    /// Peak learning rate, reached at the end of the warm-up.
    public var lr = 1e-3
    /// Steps of linear warm-up from 0 to `lr`.
    public var warmup = 100
    /// The cosine decay ends at `lr * minLRFraction` at step `steps`.
    public var minLRFraction = 0.1
    /// Decoupled weight decay λ: W ← W − η λ W for the decayed tensors.
    public var weightDecay = 0.01
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    /// Length of the schedule; steps past it keep `lr * minLRFraction`.
    public var steps = 2000

    public init(lr: Double = 1e-3, warmup: Int = 100, minLRFraction: Double = 0.1, weightDecay: Double = 0.01,
                beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, steps: Int = 2000) {
        self.lr = lr; self.warmup = warmup; self.minLRFraction = minLRFraction; self.weightDecay = weightDecay
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.steps = steps
    }

    /// Checks every field; the first violation is thrown as one sentence naming field, value and range.
    /// `field` words a field's name for that sentence: "GPT-2 optimizer field 'lr'" by default (the config's
    /// check passes "config field 'adamLR'").
    public func validate(field: (String) -> String = { "GPT-2 optimizer field '\($0)'" }) throws {
        func fail(_ name: String, _ value: Any, _ allowed: String) throws -> Never {
            throw ConfigError("\(field(name)) = \(value) is out of range: \(allowed).")
        }
        if !(lr > 0 && lr.isFinite) { try fail("lr", lr, "must be finite and > 0") }
        if steps < 1 { try fail("steps", steps, "must be ≥ 1") }
        if warmup < 0 || warmup >= steps { try fail("warmup", warmup, "must be in [0, steps − 1 = \(steps - 1)]") }
        if !(minLRFraction >= 0 && minLRFraction <= 1) { try fail("minLRFraction", minLRFraction, "must be in [0, 1]") }
        if !(weightDecay >= 0 && weightDecay.isFinite) { try fail("weightDecay", weightDecay, "must be finite and ≥ 0") }
        if !(beta1 >= 0 && beta1 < 1) { try fail("beta1", beta1, "must be in [0, 1)") }
        if !(beta2 >= 0 && beta2 < 1) { try fail("beta2", beta2, "must be in [0, 1)") }
        if !(eps > 0 && eps.isFinite) { try fail("eps", eps, "must be finite and > 0") }
    }

    /// The learning rate of update `step` (0-based): lr·step/warmup while step < warmup (0 at step 0),
    /// then lr_min + ½(lr − lr_min)(1 + cos(π (step − warmup)/(steps − warmup))) with
    /// lr_min = lr·minLRFraction, which is lr at step = warmup and lr_min at step = steps; lr_min after.
    public func learningRate(step: Int) -> Double {
        let low = lr * minLRFraction
        if step < warmup { return lr * Double(max(step, 0)) / Double(warmup) }
        if step >= steps { return low }
        let progress = Double(step - warmup) / Double(steps - warmup)
        return low + 0.5 * (lr - low) * (1 + cos(Double.pi * progress))
    }
}
