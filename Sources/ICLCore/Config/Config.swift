import Foundation

/// Every hyperparameter of a run, with PAPER.md's defaults. Names follow PAPER.md (`M1`, `alpha`, `xi`, ...).
///
/// Set fields from JSON (`Config.load(jsonFile:)`), from `key=value` strings (`set(_:_:)`), then call
/// `validate()`: every failure is a `ConfigError` naming the field, the value and the allowed range.
public struct Config: Equatable, Sendable {
    // MARK: Data (PAPER.md §1)
    /// Number of in-domain-relevant (IDR) patterns.
    public var M1 = 6
    /// Number of in-domain-irrelevant (IDI) patterns.
    public var M2 = 24
    /// Input dimension d_X; must be ≥ M1 + M2 so all patterns are orthogonal.
    public var dX = 30
    /// Label-embedding dimension d_Y.
    public var dY = 10
    /// Norm of every IDR pattern.
    public var beta: Float = 1.0
    /// κ ~ U(−K, K) scales the irrelevant pattern in x = μ + κν.
    public var K: Float = 0.5
    /// "random" (seeded orthonormal basis) or "identity" (axis-aligned patterns).
    public var basis = "random"
    /// Fraction of context examples that carry the task's own patterns, in training.
    public var alpha: Float = 0.8
    /// Context length in training prompts.
    public var lTrain = 20
    /// α′ for evaluation prompts.
    public var alphaTest: Float = 0.8
    /// Context length of evaluation prompts.
    public var lTest = 20
    /// Sum of the coefficients of each out-of-domain-relevant (ODR) pattern.
    public var S1: Float = 1.1
    /// Number of ODR patterns M1′.
    public var M1ood = 3
    /// Shifts s of the training tasks (a, (a+s) mod M1); empty means 1...⌈(M1−1)/2⌉.
    public var trainShifts: [Int] = []
    /// Whether the softmax also runs over the query column.
    public var attendQuery = false

    // MARK: Model (PAPER.md §2)
    /// Number of neurons (rows of W_O).
    public var m = 64
    /// W_Q = W_K = W_V = δI at initialisation.
    public var delta: Float = 0.1
    /// Standard deviation of the initial W_O entries.
    public var xi: Float = 0.01

    // MARK: GPT-2-style model (PAPER.md §6; issue 6)
    /// "onelayer" (the paper's one-layer transformer, SGD) or "gpt2" (the GPT-2-style model, AdamW).
    public var model = "onelayer"
    /// GPT-2: residual width W, pre-LN blocks, attention heads (W divisible by heads).
    public var width = 64
    public var layers = 3
    public var heads = 2
    /// GPT-2: AdamW peak learning rate, linear warm-up steps, the cosine floor as a fraction of the peak,
    /// and the decoupled weight decay on matrices.
    public var adamLR: Float = 1e-3
    public var warmup = 100
    public var minLRFraction: Float = 0.1
    public var weightDecay: Float = 0.01

    // MARK: Training (PAPER.md §3)
    public var batch = 256
    /// SGD step size η.
    public var lr: Float = 1.0
    public var steps = 2000
    public var seed: UInt64 = 1
    /// Evaluate every this many steps (0: only at the end).
    public var evalEvery = 500
    /// Prompts per evaluation.
    public var evalPrompts = 10_000
    /// Write a checkpoint every this many steps (0: only at the end).
    public var checkpointEvery = 500
    /// Write a training line to metrics.jsonl every this many steps.
    public var logEvery = 10
    /// Record the mechanism probes (E6, E7) in metrics.jsonl every this many steps (0: never).
    public var probeEvery = 0

    // MARK: Pruning (PAPER.md §4)
    /// Neuron magnitude for magnitude pruning: "wo" (‖W_O row‖) or "wowv" (‖row of W_O W_V‖).
    public var pruneBy = "wo"

    public init() {}

    /// d = d_X + d_Y, the column (token) dimension.
    public var d: Int { dX + dY }

    public var isGPT2: Bool { model == "gpt2" }

    /// The GPT-2-style model's shape (see `GPT2Shape.init(config:)`).
    public var gpt2Shape: GPT2Shape { GPT2Shape(config: self) }

    /// The GPT-2-style model's AdamW schedule over `steps` (a warm-up longer than the run is cut to fit).
    public var gpt2Optimizer: GPT2Optimizer {
        let total = max(1, steps)
        return GPT2Optimizer(lr: Double(adamLR), warmup: min(warmup, total - 1), minLRFraction: Double(minLRFraction),
                             weightDecay: Double(weightDecay), steps: total)
    }

    /// The training-task shifts actually used.
    public var effectiveTrainShifts: [Int] {
        trainShifts.isEmpty ? Array(1...max(1, M1 / 2)) : trainShifts
    }
}

/// A bad configuration: one sentence naming the field, the value and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
