import ICLCore

extension AggregatedTable {
    /// A plotted series: `y`'s mean ± std against key column `x`, over the rows matching `match`.
    func series(_ name: String, x: String, y: String, where match: [String: String] = [:], style: PlotSeries.Style = .line,
                dashed: Bool = false) -> PlotSeries {
        let rs = rows(where: match).sorted { $0.number(x) < $1.number(x) }
        let mean = rs.map { $0.mean[y] ?? .nan }, std = rs.map { $0.std[y] ?? 0 }
        let bands = rs.contains { $0.n > 1 }
        return PlotSeries(name: name, x: rs.map { $0.number(x) }, y: mean,
                          lower: bands ? zip(mean, std).map { $0 - $1 } : nil,
                          upper: bands ? zip(mean, std).map { $0 + $1 } : nil, style: style, dashed: dashed)
    }
}

/// "one-layer model" or "GPT-2-style model".
func modelName(_ model: String) -> String { model == "gpt2" ? "GPT-2-style model" : "one-layer model" }

/// E1: OOD error against test length for S1 ∈ {0.5, 0.7, 0.9, 1.1, 1.3} (one-layer model).
public struct OODLengthRecipe: Recipe {
    /// "onelayer" (E1) or "gpt2" (E1-gpt2, the paper's own setting).
    public let model: String
    public var name: String { model == "gpt2" ? "E1-gpt2" : "E1" }
    public var title: String { "OOD error vs test length for several S1 (\(modelName(model)))" }
    static let S1s: [Float] = [0.5, 0.7, 0.9, 1.1, 1.3]
    public var tables: [TableSpec] { [TableSpec(name, keys: ["S1", "length"], values: ["error", "hinge_loss"])] }

    public init(model: String = "onelayer") { self.model = model }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed, model: self.model))
        let backend = try lab.runner(model)
        var rows: [ResultRow] = []
        for S1 in Self.S1s {
            for l in model.config.isGPT2 ? lab.size.gpt2Lengths : lab.size.lengths {
                let r = try lab.evaluate(backend, model.config, domain: .outOfDomain, length: l, S1: S1)
                rows.append(ResultRow(keys: ["S1": ResultRow.key(S1), "length": ResultRow.key(l)],
                                      values: ["error": r.error, "hinge_loss": Double(r.stats.loss)]))
            }
        }
        return [name: rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        let series = Self.S1s.map { table.series("S1 = \(ResultRow.key($0))", x: "length", y: "error",
                                                 where: ["S1": ResultRow.key($0)]) }
        let panel = PlotPanel(title: "OOD error (mean ± std over seeds)", xLabel: "test context length l",
                              yLabel: "OOD classification error", yLog: true, series: series,
                              logFloor: 0.5 / Double(model == "gpt2" ? size.gpt2EvalPrompts : size.evalPrompts), referenceLines: [(y: 0.01, label: "1%")])
        let lmax = ResultRow.key((model == "gpt2" ? size.gpt2Lengths : size.lengths).max() ?? 20)
        let atMax = Self.S1s.map { table.mean("error", where: ["S1": ResultRow.key($0), "length": lmax]) ?? .nan }
        let slack = 1.0 / Double(model == "gpt2" ? size.gpt2EvalPrompts : size.evalPrompts)
        let falls = zip(atMax, atMax.dropFirst()).allSatisfy { $1 <= $0 + slack }
        let high = zip(Self.S1s, atMax).filter { $0.0 >= 1.1 }.map(\.1)
        let ours = zip(Self.S1s, atMax).map { "S1 \(ResultRow.key($0.0)): \(Fmt.err($0.1))" }.joined(separator: ", ")
        return (SVGFigure(title: name + " — " + title, panels: [panel]), [
            Claim(name, "OOD error at l = \(lmax) falls as S1 grows", paper: "0.5: ≈4e-2, 0.7: 2–3e-2, 0.9: ≈1.2e-2, ≥1.1: 2–4e-3 (GPT-2 model)",
                  ours: ours, held: falls),
            Claim(name, "OOD error at l = \(lmax) is ≤ 1% for S1 ≥ 1.1", paper: "2–4e-3", ours: high.map { Fmt.err($0) }.joined(separator: ", "),
                  held: high.allSatisfy { $0 <= 0.01 }),
        ])
    }
}

/// E2: in-domain (unseen tasks) and OOD error against test length for α′ ∈ {0.8, 0.9, 1.0} (one-layer model).
public struct AlphaLengthRecipe: Recipe {
    /// "onelayer" (E2) or "gpt2" (E2-gpt2, the paper's own setting).
    public let model: String
    public var name: String { model == "gpt2" ? "E2-gpt2" : "E2" }
    public var title: String { "In-domain and OOD error vs test length for several α′ (\(modelName(model)))" }
    static let alphas: [Float] = [0.8, 0.9, 1.0]
    public var tables: [TableSpec] {
        [TableSpec(name, keys: ["alpha", "domain", "length"], values: ["error", "hinge_loss"])]
    }

    public init(model: String = "onelayer") { self.model = model }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed, model: self.model))
        let backend = try lab.runner(model)
        var rows: [ResultRow] = []
        for alpha in Self.alphas {
            for domain in [PromptSpec.Domain.inDomain, .outOfDomain] {
                for l in model.config.isGPT2 ? lab.size.gpt2Lengths : lab.size.lengths {
                    let r = try lab.evaluate(backend, model.config, domain: domain, alpha: alpha, length: l)
                    rows.append(ResultRow(keys: ["alpha": ResultRow.key(alpha), "domain": domain.rawValue,
                                                 "length": ResultRow.key(l)],
                                          values: ["error": r.error, "hinge_loss": Double(r.stats.loss)]))
                }
            }
        }
        return [name: rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        var panels: [PlotPanel] = []
        var claims: [Claim] = []
        let lmax = ResultRow.key((model == "gpt2" ? size.gpt2Lengths : size.lengths).max() ?? 20)
        for domain in ["id", "ood"] {
            let series = Self.alphas.map { table.series("α′ = \(ResultRow.key($0))", x: "length", y: "error",
                                                        where: ["alpha": ResultRow.key($0), "domain": domain]) }
            panels.append(PlotPanel(title: domain == "id" ? "unseen in-domain tasks" : "OOD tasks (S1 = 1.1)",
                                    xLabel: "test context length l", yLabel: "classification error", yLog: true,
                                    series: series, logFloor: 0.5 / Double(model == "gpt2" ? size.gpt2EvalPrompts : size.evalPrompts)))
            // "Larger α′, lower plateau": the error averaged over the test lengths falls as α′ grows.
            let averages = series.map { s in s.y.filter(\.isFinite).reduce(0, +) / Double(max(1, s.y.count)) }
            let atMax = Self.alphas.map { table.mean("error", where: ["alpha": ResultRow.key($0), "domain": domain, "length": lmax]) }
            let falls = zip(averages, averages.dropFirst()).allSatisfy { $1 <= $0 }
            let ours = zip(Self.alphas, zip(averages, atMax)).map {
                "α′ \(ResultRow.key($0.0)): mean \(Fmt.err($0.1.0)), l=\(lmax) \(Fmt.err($0.1.1))"
            }.joined(separator: "; ")
            claims.append(Claim(name, "larger α′ gives lower error (\(domain == "id" ? "in-domain" : "OOD"), averaged over l)",
                                paper: "α′=1: ≈1e-2, α′=0.8: ≈7e-2 at l = 20 (GPT-2 model)", ours: ours, held: falls))
        }
        return (SVGFigure(title: name + " — " + title, panels: panels), claims)
    }
}
