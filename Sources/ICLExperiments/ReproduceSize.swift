/// How big a reproduction is: the paper-size run (`full`) or the reduced one (`--quick`).
/// Training itself uses the paper's schedule (config `steps`) unless a recipe says otherwise.
public struct ReproduceSize: Sendable, Equatable, Codable {
    public var name: String
    /// Fresh prompts per error estimate (ICL model).
    public var evalPrompts: Int
    /// Prompts per error estimate of the classical baselines (E3); ICL is scored on the same prompts.
    public var baselinePrompts: Int
    /// Test lengths of the error curves (E1, E2).
    public var lengths: [Int]
    /// Test lengths of E3 (the paper's l = 6..20).
    public var baselineLengths: [Int]
    /// Mechanism probes every this many steps (E6, E7).
    public var probeEvery: Int
    /// Pruning rates of E4 and E5.
    public var pruneRates: [Double]
    /// Test length of the pruning experiments (errors at l = 20 are ≈ 0 and show nothing).
    public var pruneLength: Int
    /// Random-pruning draws per seed and rate (E4).
    public var randomDraws: Int
    /// α′ values of the test-length theory check (T1) and training α values of the iterations check (T2).
    public var theoryAlphas: [Float]
    /// Longest test length T1 tries.
    public var theoryMaxLength: Int
    /// T1: the test length needed is the first l whose in-domain error is at most this.
    public var lengthTarget: Double
    /// T2: the iterations needed are the first evaluated step whose in-domain error is at most this.
    public var iterationsTarget: Double
    /// T2: evaluation cadence (steps) and prompts per evaluation while training.
    public var iterationsEvalEvery: Int
    public var iterationsEvalPrompts: Int
    /// The GPT-2-style model's runs (E1-gpt2, E2-gpt2, E8): AdamW steps, batch, probe cadence and prompts
    /// per error estimate. The full size trains with the shared defaults (2000 steps at B = 256).
    public var gpt2Steps: Int
    public var gpt2Batch: Int
    public var gpt2ProbeEvery: Int
    public var gpt2EvalPrompts: Int
    /// Test lengths of the GPT-2 error curves (its evaluation is slower than the one-layer model's).
    public var gpt2Lengths: [Int]

    public static let full = ReproduceSize(
        name: "full", evalPrompts: 50_000, baselinePrompts: 20_000, lengths: Array(1...20),
        baselineLengths: Array(stride(from: 6, through: 20, by: 2)), probeEvery: 50,
        pruneRates: [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4], pruneLength: 8, randomDraws: 5,
        theoryAlphas: [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0], theoryMaxLength: 60, lengthTarget: 0.02,
        iterationsTarget: 0.05, iterationsEvalEvery: 10, iterationsEvalPrompts: 4_000,
        gpt2Steps: 2_000, gpt2Batch: 256, gpt2ProbeEvery: 50, gpt2EvalPrompts: 4_000,
        gpt2Lengths: [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20])

    public static let quick = ReproduceSize(
        name: "quick", evalPrompts: 10_000, baselinePrompts: 400, lengths: [1, 2, 4, 6, 8, 10, 14, 20],
        baselineLengths: [6, 10, 14, 20], probeEvery: 100, pruneRates: [0, 0.1, 0.2, 0.3, 0.4], pruneLength: 8,
        randomDraws: 2, theoryAlphas: [0.6, 0.8, 1.0], theoryMaxLength: 40, lengthTarget: 0.02,
        iterationsTarget: 0.05, iterationsEvalEvery: 20, iterationsEvalPrompts: 2_000,
        gpt2Steps: 300, gpt2Batch: 32, gpt2ProbeEvery: 50, gpt2EvalPrompts: 500, gpt2Lengths: [1, 4, 10, 20])

    /// Caps every prompt count at `n` (tests and smoke runs).
    public mutating func limitPrompts(_ n: Int) {
        evalPrompts = min(evalPrompts, n)
        baselinePrompts = min(baselinePrompts, n)
        iterationsEvalPrompts = min(iterationsEvalPrompts, n)
        gpt2EvalPrompts = min(gpt2EvalPrompts, n)
    }
}
