import Foundation
import ICLCore

/// E6: attention over training — summed attention on context columns sharing the query's relevant
/// pattern, and the norms of W_Q p_query and W_K p_i with their projections onto the relevant pattern.
public struct AttentionMechanismRecipe: Recipe {
    public let name = "E6"
    public let title = "Attention mechanism over training"
    static let values = ["same_attention", "query_norm", "key_norm", "query_projection", "key_projection"]
    public var tables: [TableSpec] { [TableSpec("E6", keys: ["domain", "step"], values: Self.values)] }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed))
        let rows = model.records(with: "probe").map { r in
            ResultRow(keys: ["domain": r["probe"] as? String ?? "", "step": ResultRow.key(JSONNumber.double(r["step"]))],
                      values: Dictionary(uniqueKeysWithValues: Self.values.map { ($0, JSONNumber.double(r[$0])) }))
        }
        return ["E6": rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        let panels = [
            PlotPanel(title: "summed attention on same-pattern contexts", xLabel: "training step",
                      yLabel: "attention weight",
                      series: [table.series("in-domain prompts", x: "step", y: "same_attention", where: ["domain": "id"]),
                               table.series("OOD prompts", x: "step", y: "same_attention", where: ["domain": "ood"])],
                      referenceLines: [(y: 0.9, label: "0.9")]),
            PlotPanel(title: "query and key norms (in-domain prompts)", xLabel: "training step", yLabel: "norm",
                      series: [table.series("‖W_Q p_query‖", x: "step", y: "query_norm", where: ["domain": "id"]),
                               table.series("its projection on the pattern", x: "step", y: "query_projection",
                                            where: ["domain": "id"], dashed: true),
                               table.series("‖W_K p_i‖", x: "step", y: "key_norm", where: ["domain": "id"]),
                               table.series("its projection on the pattern", x: "step", y: "key_projection",
                                            where: ["domain": "id"], dashed: true)]),
        ]
        let id = table.rows(where: ["domain": "id"]).sorted { $0.number("step") < $1.number("step") }
        let ood = table.rows(where: ["domain": "ood"]).sorted { $0.number("step") < $1.number("step") }
        let first = id.first, last = id.last
        let endSame = last?.mean["same_attention"] ?? .nan
        let qStart = first?.mean["query_norm"] ?? .nan, qEnd = last?.mean["query_norm"] ?? .nan
        let pEnd = last?.mean["query_projection"] ?? .nan
        return (SVGFigure(title: "E6 — " + title, panels: panels), [
            Claim("E6", "summed attention on same-pattern contexts ≥ 0.9 at the end of training (in-domain)",
                  paper: "≈0.4 → ≈1.0",
                  ours: "\(Fmt.num(first?.mean["same_attention"])) → \(Fmt.num(endSame)) ± \(Fmt.num(last?.std["same_attention"], 3)) (OOD → \(Fmt.num(ood.last?.mean["same_attention"])))",
                  held: endSame >= 0.9),
            Claim("E6", "‖W_Q p_query‖ grows, along the relevant pattern", paper: "≈0.45 → ≈1.5",
                  ours: "\(Fmt.num(qStart)) → \(Fmt.num(qEnd)); projection on the pattern \(Fmt.num(pEnd)) at the end",
                  held: qEnd >= 2 * qStart && pEnd >= 0.5 * qEnd),
        ])
    }
}

/// E7: neurons over training — for each row of W_O W_V, the angle of its label part to q (≈0 for
/// a_i > 0, ≈π for a_i < 0) and of its feature part to μ̄, averaged over the large-magnitude neurons.
public struct NeuronMechanismRecipe: Recipe {
    public let name = "E7"
    public let title = "Neuron mechanism over training (rows of W_O W_V)"
    static let values = ["label_angle_positive", "label_angle_negative", "feature_angle", "aligned_fraction",
                         "large_fraction"]
    public var tables: [TableSpec] { [TableSpec("E7", keys: ["step"], values: Self.values)] }

    /// Angles of one probe record, over the large neurons: ‖row‖ ≥ ½ × the median ‖row‖.
    static func summarize(_ r: [String: Any], a: [Float]) -> [String: Double] {
        let fm = JSONNumber.doubles(r["feature_magnitude"]), fa = JSONNumber.doubles(r["feature_angle"])
        let lm = JSONNumber.doubles(r["label_magnitude"]), la = JSONNumber.doubles(r["label_angle"])
        guard fm.count == a.count, fa.count == a.count, lm.count == a.count, la.count == a.count, !a.isEmpty else {
            return [:]
        }
        let norms = zip(fm, lm).map { ($0 * $0 + $1 * $1).squareRoot() }
        let median = norms.sorted()[norms.count / 2]
        let large = norms.indices.filter { norms[$0] >= 0.5 * median }
        func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
        let positive = large.filter { a[$0] > 0 }, negative = large.filter { a[$0] < 0 }
        let aligned = large.filter { a[$0] > 0 ? la[$0] <= .pi / 4 : la[$0] >= 3 * .pi / 4 }
        return ["label_angle_positive": mean(positive.map { la[$0] }),
                "label_angle_negative": mean(negative.map { la[$0] }),
                "feature_angle": mean(large.map { fa[$0] }),
                "aligned_fraction": Double(aligned.count) / Double(max(1, large.count)),
                "large_fraction": Double(large.count) / Double(a.count)]
    }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed))
        let a = model.checkpoint.weights.a
        let rows = model.records(with: "probe").filter { $0["probe"] as? String == "id" }.map { r in
            ResultRow(keys: ["step": ResultRow.key(JSONNumber.double(r["step"]))], values: Self.summarize(r, a: a))
        }
        return ["E7": rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        let panels = [
            PlotPanel(title: "angles of large neurons' parts (radians)", xLabel: "training step", yLabel: "angle (rad)",
                      series: [table.series("label part to q, a_i > 0", x: "step", y: "label_angle_positive"),
                               table.series("label part to q, a_i < 0", x: "step", y: "label_angle_negative"),
                               table.series("feature part to μ̄", x: "step", y: "feature_angle", dashed: true)],
                      referenceLines: [(y: .pi / 4, label: "π/4"),
                                       (y: 3 * .pi / 4, label: "3π/4")]),
            PlotPanel(title: "large neurons whose label part is within π/4 of ±q", xLabel: "training step",
                      yLabel: "fraction", series: [table.series("aligned fraction", x: "step", y: "aligned_fraction"),
                                                   table.series("large fraction of all", x: "step", y: "large_fraction",
                                                                dashed: true)]),
        ]
        let rows = table.rows.sorted { $0.number("step") < $1.number("step") }
        let first = rows.first, last = rows.last
        let pos = last?.mean["label_angle_positive"] ?? .nan, neg = last?.mean["label_angle_negative"] ?? .nan
        func deg(_ x: Double?) -> String { Fmt.num((x ?? .nan) * 180 / .pi, 0) + "°" }
        return (SVGFigure(title: "E7 — " + title, panels: panels), [
            Claim("E7", "large neurons' label part points to +q for a_i > 0 and −q for a_i < 0, within π/4",
                  paper: "≈π/2 → ≈π/8 (and ≈7π/8)",
                  ours: "a>0: \(deg(first?.mean["label_angle_positive"])) → \(deg(pos)); a<0: \(deg(first?.mean["label_angle_negative"])) → \(deg(neg)); aligned \(Fmt.num(100 * (last?.mean["aligned_fraction"] ?? .nan), 0))% of large neurons",
                  held: pos <= .pi / 4 && neg >= 3 * .pi / 4),
            Claim("E7", "large neurons' feature part aligns with μ̄", paper: "≈π/2 → ≈π/8",
                  ours: "\(deg(first?.mean["feature_angle"])) → \(deg(last?.mean["feature_angle"]))",
                  held: (last?.mean["feature_angle"] ?? .nan) <= .pi / 4),
        ])
    }
}

/// Numbers read back from JSONSerialization (NSNumber on every platform).
enum JSONNumber {
    static func double(_ x: Any?) -> Double { (x as? NSNumber)?.doubleValue ?? .nan }
    static func doubles(_ x: Any?) -> [Double] { (x as? [Any] ?? []).map { double($0) } }
}
