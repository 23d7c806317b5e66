import ICLCore
import ICLKit

/// E3: the trained model's ICL error against five classical learners, each fitted on the prompt's own l
/// labelled examples (logistic regression, SVM linear and Gaussian, 1-NN, 3-NN), at α′ ∈ {0.8, 0.6} and
/// l = 6..20. Every method is scored on the same prompts (unseen in-domain tasks).
public struct BaselinesRecipe: Recipe {
    public let name = "E3"
    public let title = "ICL vs classical learners fitted on each prompt's own examples"
    static let alphas: [Float] = [0.8, 0.6]
    static let icl = "ICL (transformer)"
    public var tables: [TableSpec] { [TableSpec("E3", keys: ["alpha", "length", "method"], values: ["error"])] }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed))
        let config = model.config
        let backend = try lab.runner(model)
        let bank = PatternBank(config: config)
        let n = lab.size.baselinePrompts
        var rows: [ResultRow] = []
        for alpha in Self.alphas {
            for l in lab.size.baselineLengths {
                let spec = PromptSpec.evaluation(config, bank: bank, domain: .inDomain, alpha: alpha, length: l,
                                                 stream: Evaluator.stream(.inDomain))
                let keys = ["alpha": ResultRow.key(alpha), "length": ResultRow.key(l)]
                let icl = try backend.evaluate(spec, prompts: n)
                rows.append(ResultRow(keys: keys.merging(["method": Self.icl]) { $1 }, values: ["error": icl.errorRate]))
                for b in BaselineEvaluation.errors(BaselineEvaluation.paperSet, spec: spec, prompts: n) {
                    rows.append(ResultRow(keys: keys.merging(["method": b.name]) { $1 }, values: ["error": b.error]))
                }
            }
        }
        return ["E3": rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        var methods: [String] = []
        for r in table.rows where !methods.contains(r.key("method")) { methods.append(r.key("method")) }
        let panels = Self.alphas.map { alpha in
            PlotPanel(title: "α′ = \(ResultRow.key(alpha)), unseen in-domain tasks", xLabel: "context length l",
                      yLabel: "classification error", yLog: true,
                      series: methods.map { m in
                          table.series(m, x: "length", y: "error", where: ["alpha": ResultRow.key(alpha), "method": m],
                                       dashed: m != Self.icl)
                      }, logFloor: 0.5 / Double(size.baselinePrompts))
        }
        let slack = 1.0 / Double(size.baselinePrompts)
        func error(_ alpha: String, _ l: Int, _ method: String) -> Double {
            table.mean("error", where: ["alpha": alpha, "length": ResultRow.key(l), "method": method]) ?? .nan
        }
        let logistic = methods.first { $0.hasPrefix("logistic") } ?? "logistic"
        let lengths06 = size.baselineLengths.filter { $0 >= 10 }
        let beatsLogistic = lengths06.allSatisfy { error("0.6", $0, Self.icl) <= error("0.6", $0, logistic) }
        let beaten = size.baselineLengths.flatMap { l in
            methods.filter { $0 != Self.icl && error("0.6", l, $0) < error("0.6", l, Self.icl) }
                .map { "l=\(l): \($0) \(Fmt.err(error("0.6", l, $0))) < \(Fmt.err(error("0.6", l, Self.icl)))" }
        }
        let best = beaten.isEmpty
        func pairs(_ alpha: String, _ ls: [Int]) -> String {
            ls.map { "l=\($0): \(Fmt.err(error(alpha, $0, Self.icl))) vs \(Fmt.err(error(alpha, $0, logistic)))" }
                .joined(separator: "; ")
        }
        let near = size.baselineLengths.allSatisfy { error("0.8", $0, Self.icl) <= 1.5 * error("0.8", $0, logistic) + slack }
        let ends = [size.baselineLengths.first ?? 6, size.baselineLengths.last ?? 20]
        return (SVGFigure(title: "E3 — " + title, panels: panels), [
            Claim("E3", "α′ = 0.6: ICL error ≤ logistic regression's for every l ≥ 10 (ICL vs \(logistic))",
                  paper: "ICL 8e-2 → 1.5e-3, logistic 1.1e-1 → 3.5e-3", ours: pairs("0.6", lengths06), held: beatsLogistic),
            Claim("E3", "α′ = 0.6: ICL is the best of the six methods at every l", paper: "ICL best at every l",
                  ours: best ? "ICL lowest (or tied) at every l" : beaten.joined(separator: "; "), held: best),
            Claim("E3", "α′ = 0.8: ICL ≈ logistic regression (ICL ≤ 1.5 × logistic at every l)",
                  paper: "both 3.5e-2 at l = 6, ≈1e-3 at l = 20", ours: pairs("0.8", ends), held: near),
        ])
    }
}
