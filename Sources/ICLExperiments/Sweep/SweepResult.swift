import Foundation
import ICLCore
import ICLKit

/// A finished sweep's results and their files: `sweep.csv` (tidy: one row per grid point, seed, measure point
/// and metric), `means.csv` (mean ± std over seeds), `measure-<k>.svg` per measure and `summary.md`. The CSV and
/// SVG bytes depend on the measurements alone, so a sharded run merges to the bytes of an unsharded one.
public struct SweepResult {
    let study: SweepStudy
    /// Every part, grid points in grid order, seeds ascending within a point.
    let parts: [ResultPart]

    /// The measures, re-read from their labels.
    var measures: [SweepMeasure] { study.measures.compactMap { try? SweepMeasure($0) } }
    var axisFields: [String] { study.axes.map(\.field) }

    /// The measure-point columns of the CSVs: the union over the measures, in a fixed order.
    var pointColumns: [String] {
        let used = Set(measures.flatMap(\.pointColumns))
        return ["domain", "length", "method", "rate", "layer", "head"].filter(used.contains)
    }

    /// The figure file of measure k (0-based).
    static func figureName(_ k: Int) -> String { "measure-\(k + 1).svg" }
    public var figureNames: [String] { measures.indices.map(Self.figureName) }

    /// One measure's rows over every point and seed, as an aggregated table keyed by the axes and its point
    /// columns (mean and std over seeds and random-pruning draws).
    func table(_ m: SweepMeasure) -> AggregatedTable {
        let keys = axisFields + m.pointColumns
        var rows: [ResultRow] = []
        for part in parts {
            let point = pointValues(part.unit)
            for r in part.tables[m.label] ?? [] {
                rows.append(ResultRow(keys: r.keys.merging(point) { $1 }, values: r.values))
            }
        }
        return AggregatedTable(spec: TableSpec(m.label, keys: keys, values: m.metrics), rows: rows)
    }

    /// The axis values of a part's unit name.
    func pointValues(_ unit: String) -> [String: String] {
        for p in Sweeper.points(study.axes) where Sweeper.unit(p) == unit {
            return Dictionary(uniqueKeysWithValues: p.map { ($0.field, $0.value) })
        }
        return [:]
    }

    /// sweep.csv: axes…, seed, measure, point columns…, metric, value.
    public func tidyCSV() -> String {
        let header = axisFields + ["seed", "measure"] + pointColumns + ["metric", "value"]
        var lines = [header.map(csvCell).joined(separator: ",")]
        for part in parts {
            let point = pointValues(part.unit)
            for m in measures {
                for r in part.tables[m.label] ?? [] {
                    for metric in m.metrics {
                        guard let v = r.values[metric] else { continue }
                        let cells = axisFields.map { point[$0] ?? "" } + [String(part.seed), m.label]
                            + pointColumns.map { r.keys[$0] ?? "" } + [metric, number(v)]
                        lines.append(cells.map(csvCell).joined(separator: ","))
                    }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// means.csv: axes…, measure, point columns…, metric, n, mean, std.
    public func meansCSV() -> String {
        let header = axisFields + ["measure"] + pointColumns + ["metric", "n", "mean", "std"]
        var lines = [header.map(csvCell).joined(separator: ",")]
        for m in measures {
            let t = table(m)
            for r in t.rows {
                for metric in Self.present(m.metrics, in: t) where r.mean[metric] != nil {
                    let cells = axisFields.map { r.key($0) } + [m.label] + pointColumns.map { r.keys[$0] ?? "" }
                        + [metric, String(r.n), number(r.mean[metric]!), number(r.std[metric]!)]
                    lines.append(cells.map(csvCell).joined(separator: ","))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Measure k's figure: a panel per metric (and per test length when a measure varies both l and the pruning
    /// rate), mean ± std over seeds. Along x: the measure's own varied column (several l, or the pruning rate),
    /// else the first grid axis; one series per combination of the rest.
    public func figure(_ k: Int) -> SVGFigure {
        let m = measures[k], t = table(m)
        let x: String? = m.xColumn ?? study.axes.first?.field
        let axisNumbers = study.axes.first.flatMap { $0.numbers }
        let categorical = x != nil && x == study.axes.first?.field && axisNumbers == nil
        func xValue(_ r: AggregatedTable.Row) -> Double {
            guard let x else { return 1 }
            if categorical { return Double((study.axes[0].values.firstIndex(of: r.key(x)) ?? 0) + 1) }
            return r.number(x)
        }
        // The series: every combination of the other key columns that vary, in the order rows first appear.
        // Several test lengths beside another x (pruning at l = 4, 8, 12): a panel per length, not more series.
        let lengths = Array(Set(t.rows.map { $0.key("length") })).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        let splitByLength = x != "length" && lengths.count > 1
        let panelLengths: [String?] = splitByLength ? lengths : [nil]
        let others = t.spec.keyColumns.filter { c in c != x && !(splitByLength && c == "length") && Set(t.rows.map { $0.key(c) }).count > 1 }
        var groups: [[String]] = []
        for r in t.rows where !groups.contains(others.map { r.key($0) }) { groups.append(others.map { r.key($0) }) }
        let panels = m.metrics.flatMap { metric in panelLengths.compactMap { length -> PlotPanel? in
            let panelRows = t.rows.filter { r in length.map { r.key("length") == $0 } ?? true }
            guard panelRows.contains(where: { ($0.mean[metric] ?? .nan).isFinite }) else { return nil }
            let series = groups.map { g -> PlotSeries in
                let rs = panelRows.filter { r in zip(others, g).allSatisfy { r.key($0.0) == $0.1 } && r.mean[metric] != nil }
                    .sorted { xValue($0) < xValue($1) }
                let mean = rs.map { $0.mean[metric]! }, std = rs.map { $0.std[metric] ?? 0 }
                let bands = rs.contains { $0.n > 1 }
                let name = others.isEmpty ? "mean ± std over seeds" : zip(others, g).map { Self.seriesLabel($0.0, $0.1) }.joined(separator: " ")
                return PlotSeries(name: name, x: rs.map(xValue), y: mean,
                                  lower: bands ? zip(mean, std).map { $0 - $1 } : nil,
                                  upper: bands ? zip(mean, std).map { $0 + $1 } : nil,
                                  style: x == nil || rs.count == 1 ? .points : .line,
                                  dashed: zip(others, g).contains { $0.0 == "method" && $0.1 == "random" })
            }
            var xLabel = x.map { $0 == "length" ? "context length l" : $0 == "rate" ? "pruning rate R" : $0 } ?? "(one point)"
            if categorical { xLabel += " (" + study.axes[0].values.enumerated().map { "\($0.offset + 1) = \($0.element)" }.joined(separator: ", ") + ")" }
            let title = metric.replacingOccurrences(of: "_", with: " ") + (length.map { " at l = " + $0 } ?? "")
            return PlotPanel(title: title, xLabel: xLabel,
                             yLabel: metric.replacingOccurrences(of: "_", with: " ") + " (mean ± std over seeds)", series: series)
        } }
        var figure = SVGFigure(title: "icl sweep — " + m.label, panels: panels,
                               columns: splitByLength ? lengths.count : min(panels.count, 2))
        // Room for the legend: about 30% of a panel's width holds a series name.
        let longest = panels.flatMap { $0.series.map(\.name.count) }.max() ?? 0
        figure.panelWidth = min(900, max(460, Double(longest) * 7 / 0.3))
        return figure
    }

    /// A series' name part for one key column: axes as `field=value`, the measure's own columns shorter.
    static func seriesLabel(_ column: String, _ value: String) -> String {
        switch column {
        case "method", "domain": return value
        case "length": return "l=" + value
        case "rate": return "R=" + value
        case "layer": return "layer " + value
        case "head": return value == "mean" || value == "best" ? value + " head" + (value == "mean" ? "s" : "") : "head " + value
        default: return column + "=" + value
        }
    }

    /// summary.md: what was swept, then per measure a table of mean ± std over seeds, then the files.
    public func summary() -> String {
        let seconds = parts.reduce(0) { $0 + $1.seconds }
        let devices = Array(Set(parts.map(\.device))).sorted()
        var command = "icl sweep"
        for a in study.axes { command += " --grid \(a.field)=\(a.values.joined(separator: ","))" }
        command += " --seeds \(study.seeds)"
        for m in study.measures { command += " --measure \"\(m)\"" }
        if let cap = study.promptCap { command += " --prompts \(cap)" }
        var md = ["# Sweep summary", "", "`\(command)`", "",
                  "\(Sweeper.points(study.axes).count) grid point(s) × \(study.seeds) seed(s), \(parts.count) trained models, \(String(format: "%.0f", seconds)) s of training and measurement, on \(devices.joined(separator: "; ")).",
                  "Base config (each grid point sets its fields; seed k = 1…K replaces `seed`): `\(study.config)`.", "",
                  "Values are means ± sample standard deviations over seeds (and random-pruning draws); `sweep.csv` has every seed's value."]
        for (k, m) in measures.enumerated() {
            let t = table(m), metrics = Self.present(m.metrics, in: t)
            let columns = t.spec.keyColumns.filter { c in Set(t.rows.map { $0.key(c) }).count > 1 || axisFields.contains(c) }
            md += ["", "## `\(m.label)`", "", "Figure: `\(Self.figureName(k))`.", "",
                   "| " + (columns + ["n"] + metrics).joined(separator: " | ") + " |",
                   "|" + String(repeating: "---|", count: columns.count + 1 + metrics.count)]
            for r in t.rows {
                let cells = columns.map { r.key($0) } + [String(r.n)] + metrics.map { metric in
                    guard let mu = r.mean[metric], mu.isFinite else { return "" }
                    return String(format: "%.4g ± %.2g", mu, r.std[metric] ?? 0)
                }
                md.append("| " + cells.joined(separator: " | ") + " |")
            }
        }
        md += ["", "## Files", "", "- `sweep.csv`: one row per grid point, seed, measure, measure point and metric",
               "- `means.csv`: mean and std over seeds per grid point, measure point and metric",
               "- " + figureNames.map { "`\($0)`" }.joined(separator: ", ") + ": one figure per measure, in the order above",
               "- `parts/`: each (grid point, seed)'s measurements; `models/`: the trained models"]
        return md.joined(separator: "\n") + "\n"
    }

    /// The metrics some row of `t` has a value of (a GPT-2 probe has only same_attention).
    static func present(_ metrics: [String], in t: AggregatedTable) -> [String] {
        metrics.filter { metric in t.rows.contains { ($0.mean[metric] ?? .nan).isFinite } }
    }

    /// Writes every file into `dir`, each atomically.
    func write(to dir: String) throws {
        try AtomicFile.write(Data(tidyCSV().utf8), to: dir + "/sweep.csv")
        try AtomicFile.write(Data(meansCSV().utf8), to: dir + "/means.csv")
        for k in measures.indices {
            try AtomicFile.write(Data(figure(k).render().utf8), to: dir + "/" + Self.figureName(k))
        }
        try AtomicFile.write(Data(summary().utf8), to: dir + "/summary.md")
    }

    private func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "" }

    private func csvCell(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains(" ") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
