import ICLCore

/// ICL error of a model on fresh prompts: unseen in-domain tasks and out-of-domain tasks.
public struct EvalResult: Sendable {
    /// In-domain (unseen tasks) or out-of-domain prompts.
    public var domain: PromptSpec.Domain
    /// Fraction of context examples that carry the task's own patterns (α′).
    public var alpha: Float
    /// Context examples per prompt (l).
    public var length: Int
    /// The config's S1: sum of the coefficients of each out-of-domain-relevant pattern.
    public var S1: Float
    /// Mean hinge loss, misclassified prompts and prompt count.
    public var stats: BatchStats

    /// Classification error: the fraction of prompts misclassified, in [0, 1].
    public var error: Double { stats.errorRate }

    /// A JSON-ready record (`"error"` is the classification error).
    public var record: [String: Any] {
        ["domain": domain.rawValue, "alpha": Double("\(alpha)") ?? 0, "length": length, "S1": Double("\(S1)") ?? 0,
         "error": error, "errors": stats.errors, "prompts": stats.prompts, "hinge_loss": Double(stats.loss)]
    }
}

/// ICL error of a trained model on fresh evaluation prompts.
public enum Evaluator {
    /// Evaluation stream numbers: in-domain and OOD draw from different streams than training.
    public static func stream(_ domain: PromptSpec.Domain) -> UInt32 {
        RNGStream.evalBase.rawValue + (domain == .inDomain ? 0 : 1)
    }

    /// Error of the backend's resident model on `prompts` fresh prompts.
    public static func evaluate(_ backend: ModelRunner, config: Config, bank: PatternBank, domain: PromptSpec.Domain,
                                alpha: Float? = nil, length: Int? = nil, prompts: Int) throws -> EvalResult {
        let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, alpha: alpha, length: length,
                                         stream: stream(domain))
        let stats = try backend.evaluate(spec, prompts: prompts)
        return EvalResult(domain: domain, alpha: spec.alpha, length: spec.length, S1: config.S1, stats: stats)
    }
}
