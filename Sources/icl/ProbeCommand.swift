import Foundation
import ICLCore
import ICLKit

/// `icl probe --checkpoint FILE [--ood] [--length L] [--prompts N] [--set k=v] [--config FILE] [--json]`: the
/// mechanism probes of PAPER.md §5 (attention on same-pattern contexts, projection norms, neuron alignment) for a
/// one-layer checkpoint; for a GPT-2-style one, each layer's and each head's attention on same-pattern contexts (E8).
enum ProbeCommand {
    static let probeFields: Set<String> = ["alphaTest", "lTest", "S1", "M1ood"]

    static let spec = CommandSpec(
        name: "probe",
        summary: "the trained model's mechanism (PAPER.md §5): attention on same-pattern contexts (per layer and head for GPT-2), projection norms, neuron alignment",
        options: [
            .valued("checkpoint", "FILE", "a checkpoint.safetensors of either model (written by `icl train`)", required: true),
            .flag("ood", "probe on out-of-domain prompts instead of unseen in-domain ones"),
            .valued("length", "L", "context length of the probe prompts (the config field lTest)",
                    default: "the checkpoint's lTest", allowed: "≥ 1 (GPT-2-style: ≤ lTrain)"),
            .valued("prompts", "N", "fresh prompts to probe on", default: "256", allowed: "≥ 1"),
            .valued("set", "KEY=VALUE", "changes a field of the probe prompts in the checkpoint's config; --length wins",
                    default: "none", allowed: fieldList(probeFields), repeatable: true),
            .valued("config", "FILE", "a JSON config (e.g. the run's config.json) on top of the checkpoint's; only those fields may differ",
                    default: "none", allowed: "a .json file whose other fields match the checkpoint's"),
            CommonSpecs.json,
        ],
        refused: CommonSpecs.hostOnlyRefusals("the probes are the CPU reference's forward pass") + [
            ("seed", "the checkpoint's seed fixed the pattern basis and tasks the model learned, and the probes measure alignment with those patterns"),
            CommonSpecs.modelFromCheckpoint,
        ],
        examples: ["icl probe --checkpoint runs/train/checkpoint.safetensors",
                   "icl probe --checkpoint runs/train/checkpoint.safetensors --ood --set alphaTest=1 --prompts 512 --json"])

    static func run(_ args: Arguments) throws {
        let path = try args.required("checkpoint")
        let prompts = try args.int("prompts", min: 1) ?? 256
        let saved = try AnyCheckpoint.read(path: path)
        var config = try CommonOptions.evaluationConfig(args, checkpoint: saved.config, allowed: probeFields,
                                                         instead: ["evalPrompts": "--prompts"])
        if let l = try args.int("length", min: 1) { config.lTest = l }
        try config.validate()
        let bank = PatternBank(config: config)
        let domain: PromptSpec.Domain = args.has("ood") ? .outOfDomain : .inDomain
        let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, stream: RNGStream.checkPrompts.rawValue)
        let ckpt: Checkpoint
        switch saved {
        case .oneLayer(let c): ckpt = c
        case .gpt2(let c):
            try printGPT2(GPT2Probes.measure(c.weights, spec: spec, prompts: prompts), args: args, path: path, step: c.step,
                          domain: domain, spec: spec, prompts: prompts)
            return
        }
        let p = Probes.measure(ckpt.weights, config: config, bank: bank, spec: spec, prompts: prompts)
        if args.has("json") {
            Output.json(record(p.record, path: path, step: ckpt.step, domain: domain, spec: spec, prompts: prompts))
            return
        }
        print(String(format: "%@ at step %d, %d %@ prompts, α′ = %.2f, l = %d:", path, ckpt.step, prompts,
                     domain == .inDomain ? "unseen in-domain" : "OOD", spec.alpha, spec.length))
        print(String(format: "summed attention on contexts sharing the query's pattern %.3f, on the others %.3f",
                     p.sameAttention, p.otherAttention))
        print(String(format: "mean ‖W_Q p_q‖ %.3f (projection on its pattern %.3f), mean ‖W_K p_i‖ %.3f (projection %.3f)",
                     p.queryNorm, p.queryProjection, p.keyNorm, p.keyProjection))
        let order = p.labelMagnitude.indices.sorted { p.labelMagnitude[$0] > p.labelMagnitude[$1] }
        print("largest neurons of W_O W_V (label part: magnitude, angle to q; feature part: magnitude, angle to μ̄):")
        for n in order.prefix(6) {
            print(String(format: "  neuron %3d  a %+.3f  label %.3f at %5.1f°  feature %.3f at %5.1f°", n, p.a[n],
                         p.labelMagnitude[n], p.labelAngle[n] * 180 / .pi, p.featureMagnitude[n],
                         p.featureAngle[n] * 180 / .pi))
        }
    }

    /// A probe's `--json` record with what was probed: the checkpoint, its step, the prompts' domain, l and α′.
    static func record(_ probe: [String: Any], path: String, step: Int, domain: PromptSpec.Domain, spec: PromptSpec,
                       prompts: Int) -> [String: Any] {
        probe.merging(["checkpoint": path, "step": step, "domain": domain.rawValue, "length": spec.length,
                       "alpha": Double("\(spec.alpha)") ?? 0, "prompts": prompts]) { $1 }
    }

    /// The GPT-2-style model's probe: every layer's attention on same-pattern contexts, the mean over heads and
    /// each head (a layer with one head on the pattern and one at chance shows ≈0.7 as the mean).
    static func printGPT2(_ p: GPT2AttentionProbe, args: Arguments, path: String, step: Int, domain: PromptSpec.Domain,
                          spec: PromptSpec, prompts: Int) throws {
        if args.has("json") {
            var rec = p.record
            rec["best_head_same_attention"] = p.bestHeadSameAttention
            Output.json(record(rec, path: path, step: step, domain: domain, spec: spec, prompts: prompts))
            return
        }
        print(String(format: "%@ (GPT-2-style) at step %d, %d %@ prompts, α′ = %.2f, l = %d:", path, step, prompts,
                     domain == .inDomain ? "unseen in-domain" : "OOD", spec.alpha, spec.length))
        print("query's summed attention on contexts sharing its pattern, per layer (mean over heads) and per head:")
        for (k, heads) in p.headSameAttention.enumerated() {
            let each = heads.enumerated().map { String(format: "head %d %.3f", $0.offset + 1, $0.element) }
            print(String(format: "  layer %d  mean %.3f  ", k + 1, p.sameAttention[k]) + each.joined(separator: "  "))
        }
    }
}
