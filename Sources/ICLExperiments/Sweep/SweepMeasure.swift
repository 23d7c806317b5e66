import Foundation
import ICLCore
import ICLKit

/// One measurement a sweep takes of every trained model, parsed from text such as
/// `eval ood l=8 s1=1.1`, `prune magnitude,random rates=0:0.4:0.05`, `probe id` or `train`.
///
/// Each measure yields rows keyed by its own point columns (`domain`, `length`, `method`, `rate`, `layer`, …)
/// with one value per metric (`error`, `hinge_loss`, `same_attention`, …).
public struct SweepMeasure: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case eval, prune, probe, train }

    /// The text as given (normalised spaces): the measure's name in the CSV and the summary.
    public var label: String
    public var kind: Kind
    public var domain: PromptSpec.Domain
    /// Test lengths; nil for the default (`lengths(for:)`).
    public var lengths: [Int]?
    public var S1: Float?
    public var alpha: Float?
    /// Prompts per evaluation; nil for the config's evalPrompts (capped by the sweep's --prompts).
    public var prompts: Int?
    public var methods: [Pruning.Method]
    public var rates: [Double]
    /// Random-pruning draws per rate (each with its own pruning seed).
    public var draws: Int

    /// The grammar, for help texts and errors.
    public static let grammar = """
        eval [id|ood] [l=L|l=L1,L2|l=A:B[:STEP]] [s1=X] [alpha=X] [prompts=N]; \
        prune magnitude|random|magnitude,random [rates=R1,R2|rates=A:B:STEP] [id|ood] [l=L] [s1=X] [alpha=X] [draws=N] [prompts=N]; \
        probe [id|ood] [l=L] [prompts=N]; train
        """

    /// Parses one measure. Throws a UsageError naming the bad word and the grammar.
    public init(_ text: String) throws {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        label = words.joined(separator: " ")
        guard let first = words.first, let kind = Kind(rawValue: first) else {
            throw UsageError("--measure '\(text)' must start with eval, prune, probe or train; the forms are: \(Self.grammar).")
        }
        self.kind = kind
        domain = kind == .prune ? .outOfDomain : .inDomain
        lengths = nil
        methods = []
        rates = []
        draws = 1
        func bad(_ why: String) -> UsageError {
            UsageError("--measure '\(text)': \(why); the forms are: \(Self.grammar).")
        }
        var rest = Array(words.dropFirst())
        if kind == .prune {
            guard let m = rest.first, !m.contains("=") else { throw bad("prune needs its methods first (magnitude, random or magnitude,random)") }
            methods = try m.split(separator: ",").map {
                guard let method = Pruning.Method(rawValue: String($0)) else { throw bad("unknown pruning method '\($0)'") }
                return method
            }
            rest.removeFirst()
            rates = [0, 0.1, 0.2, 0.3, 0.4]
        }
        let takes: [Kind: Set<String>] = [.eval: ["l", "s1", "alpha", "prompts"],
                                          .prune: ["l", "s1", "alpha", "prompts", "rates", "draws"],
                                          .probe: ["l", "prompts"], .train: []]
        for word in rest {
            if word == "id" || word == "ood" {
                guard kind != .train else { throw bad("train takes no domain") }
                domain = word == "id" ? .inDomain : .outOfDomain
                continue
            }
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else { throw bad("'\(word)' is neither id, ood nor key=value") }
            let key = String(word[..<eq]).lowercased(), value = String(word[word.index(after: eq)...])
            guard takes[kind]!.contains(key) else {
                throw bad("\(kind.rawValue) takes no '\(key)'" + (takes[kind]!.isEmpty ? "" : " (it takes \(takes[kind]!.sorted().joined(separator: ", ")))"))
            }
            switch key {
            case "l":
                let ls = try Self.numbers(value).map { x -> Int in
                    guard x >= 1, x == x.rounded() else { throw bad("l must be whole numbers ≥ 1, got '\(value)'") }
                    return Int(x)
                }
                if kind == .probe, ls.count != 1 { throw bad("probe takes one l") }
                lengths = ls
            case "s1": S1 = try Self.number(value, bad)
            case "alpha":
                let a = try Self.number(value, bad)
                guard a > 0, a <= 1 else { throw bad("alpha must be in (0, 1], got '\(value)'") }
                alpha = a
            case "prompts":
                guard let n = Int(value), n >= 1 else { throw bad("prompts must be an integer ≥ 1, got '\(value)'") }
                prompts = n
            case "draws":
                guard let n = Int(value), n >= 1 else { throw bad("draws must be an integer ≥ 1, got '\(value)'") }
                draws = n
            case "rates":
                rates = try Self.numbers(value)
                guard rates.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw bad("pruning rates must be in [0, 1), got '\(value)'") }
            default: break
            }
        }
    }

    static func number(_ text: String, _ bad: (String) -> UsageError) throws -> Float {
        guard let x = Float(text), x.isFinite else { throw bad("'\(text)' is not a number") }
        return x
    }

    /// `a,b,c` or `a:b[:step]` (inclusive; step 1 when left out), as numbers.
    static func numbers(_ text: String) throws -> [Double] {
        if text.contains(":") {
            let p = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
            guard p.count == 2 || p.count == 3, let a = p[0], let b = p[1], b >= a else {
                throw UsageError("'\(text)' is not a range A:B or A:B:STEP with A ≤ B.")
            }
            let step = p.count == 3 ? (p[2] ?? 0) : 1
            guard step > 0 else { throw UsageError("the step of '\(text)' must be a number > 0.") }
            let count = Int(((b - a) / step + 1e-9).rounded(.down)) + 1
            guard count <= 10_000 else { throw UsageError("'\(text)' has \(count) values; use a coarser step.") }
            // Rounded to 12 significant digits, so 0.1 steps read 0.3, not 0.30000000000000004.
            return (0..<count).map { Double(String(format: "%.12g", a + Double($0) * step))! }
        }
        return try text.split(separator: ",").map {
            guard let x = Double($0), x.isFinite else { throw UsageError("'\($0)' in '\(text)' is not a number.") }
            return x
        }
    }

    /// The test lengths measured on a model of `config`: the given ones, else the model's lTest, and for pruning
    /// l = 8 (at l = 20 a trained model is at ≈ 0 error and pruning shows nothing), or lTest where that is shorter.
    public func lengths(for config: Config) -> [Int] {
        lengths ?? [kind == .prune ? min(8, config.lTest) : config.lTest]
    }

    /// Refuses a measure the model of `config` cannot take, before anything trains: the GPT-2-style model has
    /// positions for l ≤ lTrain only.
    func check(_ config: Config) throws {
        if config.isGPT2, kind != .train, let l = lengths(for: config).max(), l > config.lTrain {
            throw UsageError("--measure '\(label)' evaluates at l = \(l), but the GPT-2-style model has positions for l ≤ lTrain = \(config.lTrain) only; measure at shorter l or train with a larger lTrain.")
        }
    }

    /// The point columns of this measure's rows, in order.
    public var pointColumns: [String] {
        switch kind {
        case .eval: return ["domain", "length"]
        case .prune: return ["domain", "length", "method", "rate"]
        case .probe: return ["domain", "length", "layer", "head"]
        case .train: return []
        }
    }

    /// The metrics of this measure's rows, in order (GPT-2 probes have only `same_attention`).
    public var metrics: [String] {
        switch kind {
        case .eval, .prune: return ["error", "hinge_loss"]
        case .probe: return ["same_attention", "query_norm", "query_projection", "key_norm", "key_projection"]
        case .train: return ["final_loss", "final_train_error"]
        }
    }

    /// The point column plotted along x, when the measure varies one (several l, or the pruning rate).
    var xColumn: String? {
        switch kind {
        case .eval: return (lengths?.count ?? 1) > 1 ? "length" : nil
        case .prune: return "rate"
        case .probe, .train: return nil
        }
    }

    /// Measures `model` (trained by `lab`) once, for one seed.
    func measure(_ model: TrainedModel, seed: Int, lab: ReproduceLab, promptCap: Int?) throws -> [ResultRow] {
        let config = model.config
        let count = min(prompts ?? config.evalPrompts, promptCap ?? Int.max)
        let ls = lengths(for: config)
        let domainKey = domain == .inDomain ? "id" : "ood"
        switch kind {
        case .train:
            guard let last = model.records(with: "loss").last else { return [] }
            return [ResultRow(keys: [:], values: ["final_loss": JSONNumber.double(last["loss"]),
                                                  "final_train_error": JSONNumber.double(last["train_error"])])]
        case .eval:
            let runner = try lab.runner(model)
            return try ls.map { l in
                let r = try lab.evaluate(runner, config, domain: domain, alpha: alpha, length: l, S1: S1, prompts: count)
                return ResultRow(keys: ["domain": domainKey, "length": ResultRow.key(l)],
                                 values: ["error": r.error, "hinge_loss": Double(r.stats.loss)])
            }
        case .prune:
            var rows: [ResultRow] = []
            for l in ls {
                for method in methods {
                    for rate in rates {
                        for draw in 0..<(method == .random ? draws : 1) {
                            let runner = try lab.pruned(model, method: method, rate: rate,
                                                        pruneSeed: UInt64(method == .random ? seed * 1000 + draw : seed))
                            let r = try lab.evaluate(runner, config, domain: domain, alpha: alpha, length: l, S1: S1, prompts: count)
                            rows.append(ResultRow(keys: ["domain": domainKey, "length": ResultRow.key(l),
                                                         "method": method.rawValue, "rate": ResultRow.key(rate)],
                                                  values: ["error": r.error, "hinge_loss": Double(r.stats.loss)]))
                        }
                    }
                }
            }
            return rows
        case .probe:
            var c = config
            c.lTest = ls[0]
            if domain == .outOfDomain, let S1 { c.S1 = S1 }
            let bank = PatternBank(config: c)
            let spec = PromptSpec.evaluation(c, bank: bank, domain: domain, stream: RNGStream.checkPrompts.rawValue)
            let n = min(prompts ?? 256, promptCap ?? Int.max)
            let keys = ["domain": domainKey, "length": ResultRow.key(ls[0])]
            switch model.saved {
            case .oneLayer(let ckpt):
                let p = Probes.measure(ckpt.weights, config: c, bank: bank, spec: spec, prompts: n)
                return [ResultRow(keys: keys.merging(["layer": "1", "head": "1"]) { $1 },
                                  values: ["same_attention": p.sameAttention, "query_norm": p.queryNorm,
                                           "query_projection": p.queryProjection, "key_norm": p.keyNorm,
                                           "key_projection": p.keyProjection])]
            case .gpt2(let ckpt):
                let p = GPT2Probes.measure(ckpt.weights, spec: spec, prompts: n)
                return p.headSameAttention.enumerated().flatMap { k, heads in
                    let layer = ["layer": ResultRow.key(k + 1)]
                    return [ResultRow(keys: keys.merging(layer) { $1 }.merging(["head": "mean"]) { $1 },
                                      values: ["same_attention": p.sameAttention[k]]),
                            ResultRow(keys: keys.merging(layer) { $1 }.merging(["head": "best"]) { $1 },
                                      values: ["same_attention": p.bestHeadSameAttention[k]])]
                        + heads.enumerated().map { h, x in
                            ResultRow(keys: keys.merging(layer) { $1 }.merging(["head": ResultRow.key(h + 1)]) { $1 },
                                      values: ["same_attention": x])
                        }
                }
            }
        }
    }
}

extension ReproduceLab {
    /// A runner holding `model` with neurons pruned: the one-layer model compacted to its kept rows, the
    /// GPT-2-style model with the pruned neurons of each block zeroed.
    func pruned(_ model: TrainedModel, method: Pruning.Method, rate: Double, pruneSeed: UInt64) throws -> ModelRunner {
        switch model.saved {
        case .oneLayer(let c):
            let keep = try Pruning.keep(c.weights, method: method, rate: rate, by: model.config.pruneBy, seed: pruneSeed)
            return try backend(model.config, weights: Pruning.compact(c, keep: keep).weights)
        case .gpt2(let c):
            let out = GPT2Pruning.apply(c, pruned: try GPT2Pruning.pruned(c.weights, method: method, rate: rate, seed: pruneSeed))
            return try runner(TrainedModel(config: model.config, saved: .gpt2(out), metricsPath: model.metricsPath))
        }
    }
}
