import ICLCore
import ICLKit

/// `icl eval --checkpoint FILE [--ood] [--alpha A] [--length L] [--s1 S] [--prompts N] [--json]`.
enum EvalCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "eval",
                                 options: ["checkpoint", "alpha", "length", "s1", "prompts", "device", "variant", "pipeline"],
                                 flags: ["ood", "json"])
        guard let path = args.value("checkpoint") else {
            throw UsageError("`icl eval` needs --checkpoint FILE (a checkpoint.safetensors written by `icl train`).")
        }
        let ckpt = try AnyCheckpoint.read(path: path)
        var config = ckpt.config
        if let s1 = try args.float("s1") { config.S1 = s1 }
        if let alpha = try args.float("alpha") { config.alphaTest = alpha }
        if let l = try args.int("length", min: 1) { config.lTest = l }
        if let n = try args.int("prompts", min: 1) { config.evalPrompts = n }
        try config.validate()
        let bank = PatternBank(config: config)
        let factory = try CommonOptions.factory(args)
        let backend: ModelRunner
        switch ckpt {
        case .oneLayer(let c): backend = try factory.make(config: config, bank: bank, weights: c.weights, mask: c.mask)
        case .gpt2(let c): backend = try factory.makeGPT2(config: config, bank: bank, weights: c.weights, adam: c.adam)
        }
        let domain: PromptSpec.Domain = args.has("ood") ? .outOfDomain : .inDomain
        let r = try Evaluator.evaluate(backend, config: config, bank: bank, domain: domain, prompts: config.evalPrompts)
        if args.has("json") {
            var rec = r.record
            rec["checkpoint"] = path
            rec["step"] = ckpt.step
            rec["device"] = backend.deviceDescription
            Output.json(rec)
            return
        }
        let what = domain == .inDomain ? "unseen in-domain tasks" : String(format: "OOD tasks (S1 = %.2f)", config.S1)
        print(String(format: "%@ at step %d, %@, α′ = %.2f, l = %d, %d prompts:", path, ckpt.step, what,
                     r.alpha, r.length, r.stats.prompts))
        print("error \(Output.percent(r.error))  (\(r.stats.errors) wrong)  hinge loss \(String(format: "%.4f", r.stats.loss))")
    }
}
