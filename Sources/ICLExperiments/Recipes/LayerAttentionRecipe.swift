import ICLCore

/// E8: the GPT-2-style model's per-layer attention from the query token on context tokens that share the
/// query's relevant pattern, over training (the paper: it jumps to ≈0.8 mid-training).
public struct LayerAttentionRecipe: Recipe {
    public let name = "E8"
    public let title = "Per-layer attention on same-pattern contexts over training (GPT-2-style model)"
    public var tables: [TableSpec] { [TableSpec("E8", keys: ["domain", "layer", "step"], values: ["same_attention"])] }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed, model: "gpt2"))
        var rows: [ResultRow] = []
        for r in model.records(with: "probe") {
            for (layer, same) in JSONNumber.doubles(r["layer_same_attention"]).enumerated() {
                rows.append(ResultRow(keys: ["domain": r["probe"] as? String ?? "", "layer": ResultRow.key(layer + 1),
                                             "step": ResultRow.key(JSONNumber.double(r["step"]))],
                                      values: ["same_attention": same]))
            }
        }
        return ["E8": rows]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        var layers: [String] = []
        for r in table.rows where !layers.contains(r.key("layer")) { layers.append(r.key("layer")) }
        let panels = ["id", "ood"].map { domain in
            PlotPanel(title: domain == "id" ? "in-domain prompts" : "OOD prompts", xLabel: "training step",
                      yLabel: "query's attention on same-pattern contexts",
                      series: layers.map { table.series("layer \($0)", x: "step", y: "same_attention",
                                                        where: ["domain": domain, "layer": $0]) },
                      referenceLines: [(y: 0.8, label: "0.8")])
        }
        var parts: [String] = []
        var best = 0.0, crossedBeforeEnd = false
        for layer in layers {
            let rs = table.rows(where: ["domain": "id", "layer": layer]).sorted { $0.number("step") < $1.number("step") }
            guard let first = rs.first, let last = rs.last else { continue }
            let end = last.mean["same_attention"] ?? .nan
            let crossing = rs.first { ($0.mean["same_attention"] ?? 0) >= 0.8 }
            if end >= best { best = end; crossedBeforeEnd = crossing != nil && crossing!.number("step") < last.number("step") }
            parts.append("layer \(layer): \(Fmt.num(first.mean["same_attention"])) → \(Fmt.num(end))"
                         + (crossing.map { " (≥ 0.8 from step \(Int($0.number("step"))))" } ?? ""))
        }
        return (SVGFigure(title: "E8 — " + title, panels: panels), [
            Claim("E8", "some layer's attention on same-pattern contexts reaches ≈0.8 during training and stays",
                  paper: "jumps to ≈0.8 mid-training", ours: parts.joined(separator: "; "),
                  held: best >= 0.8 && crossedBeforeEnd),
        ])
    }
}
