import ICLCore

/// E8: the GPT-2-style model's attention from the query token on context tokens that share the query's relevant
/// pattern, over training, per layer: the mean over heads and the best head (the paper: it jumps to ≈0.8
/// mid-training). A layer with one head fully on the pattern and one at chance has a mean of ≈0.7, so the claim
/// is judged on both.
public struct LayerAttentionRecipe: Recipe {
    public let name = "E8"
    public let title = "Per-layer attention on same-pattern contexts over training (GPT-2-style model)"
    public var tables: [TableSpec] {
        [TableSpec("E8", keys: ["domain", "layer", "head", "step"], values: ["same_attention"]),
         TableSpec("E8_heads", keys: ["seed", "domain", "layer", "head", "step"], values: ["same_attention"])]
    }

    public func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]] {
        let model = try lab.model(lab.config(seed: seed, model: "gpt2"))
        let records = model.records(with: "probe")
        // [domain][layer] → per-step head values, in step order.
        var series: [String: [[(step: Double, heads: [Double])]]] = [:]
        for r in records {
            let domain = r["probe"] as? String ?? "", step = JSONNumber.double(r["step"])
            let layers = (r["head_same_attention"] as? [Any] ?? []).map { JSONNumber.doubles($0) }
            if series[domain] == nil { series[domain] = Array(repeating: [], count: layers.count) }
            for (k, heads) in layers.enumerated() where k < series[domain]!.count { series[domain]![k].append((step, heads)) }
        }
        var rows: [ResultRow] = [], heads: [ResultRow] = []
        for domain in series.keys.sorted() {
            for (k, points) in series[domain]!.enumerated() {
                // The best head of this seed and layer: the one that ends highest on in-domain prompts (the
                // same head is followed over training and on OOD prompts).
                let reference = series["id"]?[k].last?.heads ?? points.last?.heads ?? []
                let best = reference.indices.max { reference[$0] < reference[$1] } ?? 0
                for p in points {
                    let keys = ["domain": domain, "layer": ResultRow.key(k + 1), "step": ResultRow.key(p.step)]
                    let mean = p.heads.reduce(0, +) / Double(max(1, p.heads.count))
                    rows.append(ResultRow(keys: keys.merging(["head": "mean"]) { $1 }, values: ["same_attention": mean]))
                    rows.append(ResultRow(keys: keys.merging(["head": "best"]) { $1 },
                                          values: ["same_attention": p.heads.indices.contains(best) ? p.heads[best] : .nan]))
                    for (h, x) in p.heads.enumerated() {
                        heads.append(ResultRow(keys: keys.merging(["seed": ResultRow.key(seed), "head": ResultRow.key(h + 1)]) { $1 },
                                               values: ["same_attention": x]))
                    }
                }
            }
        }
        return ["E8": rows, "E8_heads": heads]
    }

    public func report(_ t: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim]) {
        let table = t[0]
        var layers: [String] = []
        for r in table.rows where !layers.contains(r.key("layer")) { layers.append(r.key("layer")) }
        let panels = ["id", "ood"].map { domain in
            PlotPanel(title: domain == "id" ? "in-domain prompts" : "OOD prompts", xLabel: "training step",
                      yLabel: "query's attention on same-pattern contexts",
                      series: layers.flatMap { layer in
                          [table.series("layer \(layer), mean of heads", x: "step", y: "same_attention",
                                        where: ["domain": domain, "layer": layer, "head": "mean"]),
                           table.series("layer \(layer), best head", x: "step", y: "same_attention",
                                        where: ["domain": domain, "layer": layer, "head": "best"], dashed: true)]
                      },
                      referenceLines: [(y: 0.8, label: "0.8")])
        }
        /// The claim on one reading (mean of heads or best head): per layer, start → end and the first step at
        /// ≥ 0.8; held when some layer crosses 0.8 before the end and ends at ≥ 0.8.
        func judge(_ head: String) -> (ours: String, held: Bool) {
            var parts: [String] = []
            var held = false
            for layer in layers {
                let rs = table.rows(where: ["domain": "id", "layer": layer, "head": head]).sorted { $0.number("step") < $1.number("step") }
                guard let first = rs.first, let last = rs.last else { continue }
                let end = last.mean["same_attention"] ?? .nan
                let crossing = rs.first { ($0.mean["same_attention"] ?? 0) >= 0.8 }
                if end >= 0.8, let c = crossing, c.number("step") < last.number("step") { held = true }
                parts.append("layer \(layer): \(Fmt.num(first.mean["same_attention"])) → \(Fmt.num(end)) ± \(Fmt.num(last.std["same_attention"]))"
                             + (crossing.map { " (≥ 0.8 from step \(Int($0.number("step"))))" } ?? ""))
            }
            return (parts.joined(separator: "; "), held)
        }
        let mean = judge("mean"), best = judge("best")
        return (SVGFigure(title: "E8 — " + title, panels: panels), [
            Claim("E8", "some layer's attention on same-pattern contexts (mean of its heads) reaches ≈0.8 during training and stays",
                  paper: "jumps to ≈0.8 mid-training", ours: mean.ours, held: mean.held),
            Claim("E8", "some layer's best head reaches ≈0.8 on same-pattern contexts during training and stays",
                  paper: "jumps to ≈0.8 mid-training", ours: best.ours, held: best.held),
        ])
    }
}
