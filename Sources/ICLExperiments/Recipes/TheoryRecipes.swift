import Foundation
import ICLCore

/// Least-squares slope and intercept of log y against log x over the finite, positive points.
func logLogFit(_ x: [Double], _ y: [Double]) -> (slope: Double, intercept: Double, points: Int) {
    let pts = zip(x, y).filter { $0.0 > 0 && $0.1 > 0 && $0.0.isFinite && $0.1.isFinite }.map { (log($0.0), log($0.1)) }
    guard pts.count >= 2 else { return (.nan, .nan, pts.count) }
    let n = Double(pts.count)
    let mx = pts.reduce(0) { $0 + $1.0 } / n, my = pts.reduce(0) { $0 + $1.1 } / n
    let sxx = pts.reduce(0) { $0 + ($1.0 - mx) * ($1.0 - mx) }, sxy = pts.reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
    guard sxx > 0 else { return (.nan, .nan, pts.count) }
    let slope = sxy / sxx
    return (slope, my - slope * mx, pts.count)
}

/// The fitted power law drawn over the points' x range.
func fitSeries(_ fit: (slope: Double, intercept: Double, points: Int), xs: [Double]) -> PlotSeries {
    let lo = xs.filter { $0 > 0 }.min() ?? 1, hi = xs.max() ?? 1
    let grid = (0...20).map { lo * pow(hi / lo, Double($0) / 20) }
    return PlotSeries(name: String(format: "fit: slope %.2f", fit.slope), x: grid,
                      y: grid.map { exp(fit.intercept + fit.slope * log($0)) }, dashed: true)
}

/// The theory's power law with the given slope, through the points' geometric mean.
func theorySeries(slope: Double, xs: [Double], ys: [Double]) -> PlotSeries {
    let pts = zip(xs, ys).filter { $0.0 > 0 && $0.1 > 0 && $0.1.isFinite }
    guard !pts.isEmpty else { return PlotSeries(name: "theory", x: [], y: []) }
    let mx = pts.reduce(0) { $0 + log($1.0) } / Double(pts.count), my = pts.reduce(0) { $0 + log($1.1) } / Double(pts.count)
    let grid = pts.map(\.0).sorted()
    return PlotSeries(name: String(format: "theory: slope %.2f", slope), x: grid,
                      y: grid.map { exp(my + slope * (log($0) - mx)) }, dashed: true)
}

/// A theory table's row for one seed: the seed as a key, and only the value the slope is fitted to.
func perSeed(_ row: ResultRow, seed: Int, keep value: String) -> ResultRow {
    ResultRow(keys: row.keys.merging(["seed": ResultRow.key(seed)]) { $1 }, values: [value: row.values[value] ?? .nan])
}

/// The 95% percentile-bootstrap interval, over seeds, of the log-log slope of `y` (per-seed table) against
/// `x(alpha)`: each draw resamples the seeds, averages each α over the drawn seeds and refits.
func slopeInterval(_ perSeed: AggregatedTable, y: String, x: (Double) -> Double) -> (text: String, contains: (Double) -> Bool) {
    guard let ci = Bootstrap.interval(seeds: perSeed.seeds, statistic: { perSeed.slopeOverSeeds($0, group: "alpha", y: y, x: x) }) else {
        return ("", { _ in false })
    }
    return (String(format: ", 95%% bootstrap interval [%.2f, %.2f] over %d seeds", ci.lo, ci.hi, perSeed.seeds.count),
            { $0 >= ci.lo && $0 <= ci.hi })
}

/// Theory check 1: the test length needed for a target in-domain error scales like 1/α′ (log-log slope 1).
public struct TestLengthTheoryRecipe: Recipe {
    public let name = "T1"
    public let title = "Test length needed vs 1/α′"
    public var tables: [TableSpec] {
        [TableSpec("T1", keys: ["alpha"], values: ["inv_alpha", "length_needed"]),
         TableSpec("T1_seeds", keys: ["seed", "alpha"], values: ["length_needed"])]
    }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed))
        let backend = try lab.runner(model)
        var rows: [ResultRow] = []
        for alpha in lab.size.theoryAlphas {
            var needed = Double.nan
            for l in 1...lab.size.theoryMaxLength {
                let r = try lab.evaluate(backend, model.config, domain: .inDomain, alpha: alpha, length: l)
                if r.error <= lab.size.lengthTarget { needed = Double(l); break }
            }
            rows.append(ResultRow(keys: ["alpha": ResultRow.key(alpha)],
                                  values: ["inv_alpha": 1 / Double(alpha), "length_needed": needed]))
        }
        return ["T1": rows, "T1_seeds": rows.map { perSeed($0, seed: seed, keep: "length_needed") }]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        var points = table.series("seeds' mean ± std", x: "alpha", y: "length_needed", style: .points)
        points.x = points.x.map { 1 / $0 }
        let fit = logLogFit(points.x, points.y)
        let missing = table.rows.filter { !($0.mean["length_needed"] ?? .nan).isFinite }.map { $0.key("alpha") }
        let panel = PlotPanel(title: "in-domain error ≤ \(Fmt.num(size.lengthTarget * 100, 0))%: test length needed",
                              xLabel: "1/α′", yLabel: "test length needed", xLog: true, yLog: true,
                              series: [points, fitSeries(fit, xs: points.x), theorySeries(slope: 1, xs: points.x, ys: points.y)])
        let note = missing.isEmpty ? "" : "; not reached by l = \(size.theoryMaxLength) at α′ = \(missing.joined(separator: ", "))"
        let interval = slopeInterval(t[1], y: "length_needed") { 1 / $0 }
        return (SVGFigure(title: "T1 — " + title, panels: [panel]), [
            Claim("T1", "test length needed scales like 1/α′ (log-log slope)", paper: "slope 1 (theory, l_ts ≳ 1/α′)",
                  ours: String(format: "slope %.2f over %d α′ values", fit.slope, fit.points) + interval.text + note,
                  held: abs(fit.slope - 1) <= 0.5),
            Claim("T1", "the theory's slope 1 lies in the 95% bootstrap interval over seeds", paper: "slope 1",
                  ours: interval.text.isEmpty ? "no interval (fewer than 2 seeds)" : String(format: "slope %.2f", fit.slope) + interval.text,
                  held: interval.contains(1)),
        ])
    }
}

/// Theory check 2: training iterations needed for a target in-domain error scale like α^{-2/3}.
public struct IterationsTheoryRecipe: Recipe {
    public let name = "T2"
    public let title = "Training iterations needed vs training α"
    public var tables: [TableSpec] {
        [TableSpec("T2", keys: ["alpha"], values: ["steps_needed", "final_error"]),
         TableSpec("T2_seeds", keys: ["seed", "alpha"], values: ["steps_needed"])]
    }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        var rows: [ResultRow] = []
        for alpha in lab.size.theoryAlphas {
            var config = lab.config(seed: seed)
            config.alpha = alpha
            config.probeEvery = 0
            config.evalEvery = lab.size.iterationsEvalEvery
            config.evalPrompts = lab.size.iterationsEvalPrompts
            let model = try lab.model(config)
            let evals = model.records(with: "eval").filter { $0["eval"] as? String == "id" }
                .map { (step: JSONNumber.double($0["step"]), error: JSONNumber.double($0["error"])) }
                .sorted { $0.step < $1.step }
            let needed = evals.first { $0.error <= lab.size.iterationsTarget }?.step ?? .nan
            rows.append(ResultRow(keys: ["alpha": ResultRow.key(alpha)],
                                  values: ["steps_needed": needed, "final_error": evals.last?.error ?? .nan]))
        }
        return ["T2": rows, "T2_seeds": rows.map { perSeed($0, seed: seed, keep: "steps_needed") }]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        let points = table.series("seeds' mean ± std", x: "alpha", y: "steps_needed", style: .points)
        let fit = logLogFit(points.x, points.y)
        let missing = table.rows.filter { !($0.mean["steps_needed"] ?? .nan).isFinite }.map { $0.key("alpha") }
        let panel = PlotPanel(title: "in-domain error ≤ \(Fmt.num(size.iterationsTarget * 100, 0))% (α′ = 0.8, l = 20): steps needed",
                              xLabel: "training α", yLabel: "SGD steps needed", xLog: true, yLog: true,
                              series: [points, fitSeries(fit, xs: points.x), theorySeries(slope: -2.0 / 3, xs: points.x, ys: points.y)])
        let note = missing.isEmpty ? "" : "; not reached at α = \(missing.joined(separator: ", "))"
        let interval = slopeInterval(t[1], y: "steps_needed") { $0 }
        return (SVGFigure(title: "T2 — " + title, panels: [panel]), [
            Claim("T2", "iterations needed scale like α^(−2/3) (log-log slope)", paper: "slope −0.67 (theory, T = Θ(α^(−2/3)))",
                  ours: String(format: "slope %.2f over %d α values", fit.slope, fit.points) + interval.text + note,
                  held: abs(fit.slope + 2.0 / 3) <= 0.35),
            Claim("T2", "the theory's slope −2/3 lies in the 95% bootstrap interval over seeds", paper: "slope −0.67",
                  ours: interval.text.isEmpty ? "no interval (fewer than 2 seeds)" : String(format: "slope %.2f", fit.slope) + interval.text,
                  held: interval.contains(-2.0 / 3)),
        ])
    }
}
