import ICLCore
import ICLKit

extension ReproduceLab {
    /// OOD error and hinge loss of `model` with neurons pruned, each pruned model compacted and run on
    /// the smaller kernels.
    func prunedError(_ model: TrainedModel, method: Pruning.Method, rate: Double, pruneSeed: UInt64,
                     alpha: Float? = nil) throws -> EvalResult {
        let keep = try Pruning.keep(model.checkpoint.weights, method: method, rate: rate, by: model.config.pruneBy,
                                    seed: pruneSeed)
        let pruned = Pruning.compact(model.checkpoint, keep: keep)
        let backend = try backend(model.config, weights: pruned.weights)
        return try evaluate(backend, model.config, domain: .outOfDomain, alpha: alpha, length: size.pruneLength)
    }
}

/// E4: OOD error and hinge loss against the pruning rate, magnitude vs random, with the sorted neuron
/// magnitudes.
public struct PruningRecipe: Recipe {
    public let name = "E4"
    public let title = "Magnitude vs random pruning, with sorted neuron magnitudes"
    public var tables: [TableSpec] {
        [TableSpec("E4", keys: ["method", "rate"], values: ["error", "hinge_loss"]),
         TableSpec("E4_magnitudes", keys: ["rank"], values: ["magnitude", "relative_magnitude"])]
    }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed))
        var rows: [ResultRow] = []
        for rate in lab.size.pruneRates {
            let m = try lab.prunedError(model, method: .magnitude, rate: rate, pruneSeed: UInt64(seed))
            rows.append(ResultRow(keys: ["method": "magnitude", "rate": ResultRow.key(rate)],
                                  values: ["error": m.error, "hinge_loss": Double(m.stats.loss)]))
            for draw in 0..<lab.size.randomDraws {
                let r = try lab.prunedError(model, method: .random, rate: rate, pruneSeed: UInt64(seed * 1000 + draw))
                rows.append(ResultRow(keys: ["method": "random", "rate": ResultRow.key(rate)],
                                      values: ["error": r.error, "hinge_loss": Double(r.stats.loss)]))
            }
        }
        let mags = Pruning.magnitudes(model.checkpoint.weights, by: model.config.pruneBy).map(Double.init)
            .sorted(by: >)
        let top = mags.first ?? 1
        let magnitudes = mags.enumerated().map { i, x in
            ResultRow(keys: ["rank": ResultRow.key(i + 1)], values: ["magnitude": x, "relative_magnitude": x / top])
        }
        return ["E4": rows, "E4_magnitudes": magnitudes]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0], mags = t[1]
        let methods = ["magnitude", "random"]
        let l = size.pruneLength
        let panels = [
            PlotPanel(title: "OOD error at l = \(l)", xLabel: "pruning rate R", yLabel: "classification error",
                      series: methods.map { table.series($0 + " pruning", x: "rate", y: "error", where: ["method": $0]) }),
            PlotPanel(title: "OOD hinge loss at l = \(l)", xLabel: "pruning rate R", yLabel: "hinge loss",
                      series: methods.map { table.series($0 + " pruning", x: "rate", y: "hinge_loss", where: ["method": $0]) }),
            PlotPanel(title: "neuron magnitudes, sorted", xLabel: "neuron rank", yLabel: "‖W_O row‖ (mean over seeds)",
                      series: [mags.series("magnitude", x: "rank", y: "magnitude", style: .bars)]),
        ]
        func at(_ method: String, _ rate: Double, _ v: String = "error") -> Double {
            table.mean(v, where: ["method": method, "rate": ResultRow.key(rate)]) ?? .nan
        }
        let slack = 1.0 / Double(size.evalPrompts)
        let top = size.pruneRates.max() ?? 0.4
        let unpruned = at("magnitude", 0), mag20 = at("magnitude", 0.2), rnd20 = at("random", 0.2)
        let relative = mags.rows.compactMap { $0.mean["relative_magnitude"] }
        let median = relative.sorted()[relative.count / 2]
        let smallFraction = Double(relative.filter { $0 < 0.5 * median }.count) / Double(max(1, relative.count))
        return (SVGFigure(title: "E4 — " + title, panels: panels), [
            Claim("E4", "magnitude pruning at R = 0.2 keeps OOD error within 1.5× unpruned",
                  paper: "unpruned ≈7e-3; magnitude flat to 15–20%, ≈3e-2 at 40%",
                  ours: "unpruned \(Fmt.err(unpruned)), R=0.2 \(Fmt.err(mag20)), R=0.4 \(Fmt.err(at("magnitude", 0.4)))",
                  held: mag20 <= 1.5 * unpruned + slack),
            Claim("E4", "random pruning at R = 0.2 is worse than magnitude pruning (error; hinge loss as the fallback)",
                  paper: "random ≈1e-2 at 10%, ≈4.5e-2 at 40%",
                  ours: "R=0.2 error \(Fmt.err(rnd20)) vs \(Fmt.err(mag20)), hinge \(Fmt.num(at("random", 0.2, "hinge_loss"), 4)) vs \(Fmt.num(at("magnitude", 0.2, "hinge_loss"), 4)); R=\(ResultRow.key(top)) hinge \(Fmt.num(at("random", top, "hinge_loss"), 4)) vs \(Fmt.num(at("magnitude", top, "hinge_loss"), 4))",
                  verdict: rnd20 > mag20 + slack ? .held
                      : at("random", 0.2, "hinge_loss") > at("magnitude", 0.2, "hinge_loss") || at("random", top, "hinge_loss") > at("magnitude", top, "hinge_loss") ? .partly : .missed),
            Claim("E4", "neuron magnitudes show two levels (a fraction small, the rest large)",
                  paper: "≈20% small", ours: String(format: "%.0f%% below half the median magnitude", 100 * smallFraction),
                  held: smallFraction >= 0.1 && smallFraction <= 0.3),
        ])
    }
}

/// E5: magnitude pruning at α′ ∈ {0.6, 0.8, 1.0}: larger α′ is more robust to pruning.
public struct PruningAlphaRecipe: Recipe {
    public let name = "E5"
    public let title = "Magnitude pruning at several α′"
    static let alphas: [Float] = [0.6, 0.8, 1.0]
    public var tables: [TableSpec] { [TableSpec("E5", keys: ["alpha", "rate"], values: ["error", "hinge_loss"])] }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed))
        var rows: [ResultRow] = []
        for alpha in Self.alphas {
            for rate in lab.size.pruneRates {
                let r = try lab.prunedError(model, method: .magnitude, rate: rate, pruneSeed: UInt64(seed), alpha: alpha)
                rows.append(ResultRow(keys: ["alpha": ResultRow.key(alpha), "rate": ResultRow.key(rate)],
                                      values: ["error": r.error, "hinge_loss": Double(r.stats.loss)]))
            }
        }
        return ["E5": rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        let keys = Self.alphas.map { ResultRow.key($0) }
        let panels = ["error", "hinge_loss"].map { v in
            PlotPanel(title: "OOD \(v == "error" ? "error" : "hinge loss") at l = \(size.pruneLength), magnitude pruning",
                      xLabel: "pruning rate R", yLabel: v == "error" ? "classification error" : "hinge loss",
                      series: keys.map { table.series("α′ = \($0)", x: "rate", y: v, where: ["alpha": $0]) })
        }
        let top = ResultRow.key(size.pruneRates.max() ?? 0.4)
        func rise(_ a: String, _ v: String) -> Double {
            (table.mean(v, where: ["alpha": a, "rate": top]) ?? .nan) - (table.mean(v, where: ["alpha": a, "rate": "0"]) ?? .nan)
        }
        let slack = 1.0 / Double(size.evalPrompts)
        let errorRise = keys.map { rise($0, "error") }, hingeRise = keys.map { rise($0, "hinge_loss") }
        let robust = zip(errorRise, errorRise.dropFirst()).allSatisfy { $1 <= $0 + slack }
        let ours = zip(keys, zip(errorRise, hingeRise)).map {
            "α′ \($0.0): error +\(Fmt.err($0.1.0)), hinge +\(Fmt.num($0.1.1, 3))"
        }.joined(separator: "; ")
        return (SVGFigure(title: "E5 — " + title, panels: panels), [
            Claim("E5", "larger α′ is more robust to pruning (smaller error rise from R = 0 to R = \(top))",
                  paper: "larger α′, flatter curve", ours: ours, held: robust),
        ])
    }
}
