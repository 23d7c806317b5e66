import Foundation
import ICLCore
import ICLKit

/// `icl probe --checkpoint FILE [--ood] [--length L] [--prompts N] [--json]`: the mechanism probes of PAPER.md §5
/// (attention on same-pattern contexts, projection norms, neuron alignment) for a checkpoint.
enum ProbeCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "probe", options: ["checkpoint", "length", "prompts"], flags: ["ood", "json"])
        guard let path = args.value("checkpoint") else {
            throw UsageError("`icl probe` needs --checkpoint FILE (a checkpoint.safetensors written by `icl train`).")
        }
        let ckpt = try Checkpoint.read(path: path)
        let config = ckpt.config
        let bank = PatternBank(config: config)
        let domain: PromptSpec.Domain = args.has("ood") ? .outOfDomain : .inDomain
        let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, length: try args.int("length", min: 1),
                                         stream: RNGStream.checkPrompts.rawValue)
        let p = Probes.measure(ckpt.weights, config: config, bank: bank, spec: spec,
                               prompts: try args.int("prompts", min: 1) ?? 256)
        if args.has("json") {
            var rec = p.record
            rec["checkpoint"] = path
            rec["step"] = ckpt.step
            rec["domain"] = domain.rawValue
            Output.json(rec)
            return
        }
        print("\(path) at step \(ckpt.step), \(domain == .inDomain ? "unseen in-domain" : "OOD") prompts, l = \(spec.length):")
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
}
