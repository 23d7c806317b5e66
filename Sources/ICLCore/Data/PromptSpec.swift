/// Which prompts to draw: the pattern banks, the task list, α, the context length and the RNG stream.
/// The device sampler (`Kernels/sampler.cl`) takes exactly these fields.
public struct PromptSpec: Hashable, Sendable {
    public enum Domain: String, Sendable { case inDomain = "id", outOfDomain = "ood" }
    /// [nRelevant, dX]: IDR or ODR patterns.
    public var relevant: [Float]
    /// [nIrrelevant, dX]: IDI or ODI patterns.
    public var irrelevant: [Float]
    public var q: [Float]
    public var tasks: [BinaryTask]
    public var alpha: Float
    /// Context columns l (the prompt has l + 1 columns, query last).
    public var length: Int
    public var K: Float
    public var dX: Int
    public var dY: Int
    public var seed: UInt64
    public var stream: UInt32

    public var d: Int { dX + dY }
    public var nRelevant: Int { relevant.count / dX }
    public var nIrrelevant: Int { irrelevant.count / dX }

    public init(bank: PatternBank, domain: Domain, tasks: [BinaryTask], alpha: Float, length: Int,
                K: Float, seed: UInt64, stream: UInt32) {
        relevant = domain == .inDomain ? bank.idr : bank.odr
        irrelevant = domain == .inDomain ? bank.idi : bank.odi
        q = bank.q
        self.tasks = tasks
        self.alpha = alpha
        self.length = length
        self.K = K
        dX = bank.dX
        dY = bank.dY
        self.seed = seed
        self.stream = stream
    }

    /// Training prompts of a config: in-domain, training tasks, α and l_tr.
    public static func training(_ c: Config, bank: PatternBank) -> PromptSpec {
        PromptSpec(bank: bank, domain: .inDomain, tasks: TaskSets.train(c), alpha: c.alpha, length: c.lTrain,
                   K: c.K, seed: c.seed, stream: RNGStream.trainPrompts.rawValue)
    }

    /// Evaluation prompts: unseen in-domain tasks or OOD tasks, at α′ and l_ts.
    public static func evaluation(_ c: Config, bank: PatternBank, domain: Domain, alpha: Float? = nil,
                                  length: Int? = nil, stream: UInt32 = RNGStream.evalBase.rawValue) -> PromptSpec {
        PromptSpec(bank: bank, domain: domain,
                   tasks: domain == .inDomain ? TaskSets.unseen(c) : TaskSets.ood(c),
                   alpha: alpha ?? c.alphaTest, length: length ?? c.lTest, K: c.K, seed: c.seed, stream: stream)
    }
}
