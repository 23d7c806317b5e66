import ICLCore
import ICLKit

/// `icl eval --checkpoint FILE [--ood] [--alpha A] [--length L] [--s1 S] [--prompts N] [--set k=v] [--config FILE]
/// [--device D] [--variant V] [--pipeline P] [--json]`.
enum EvalCommand {
    static let spec = CommandSpec(
        name: "eval",
        summary: "evaluates a checkpoint: the ICL error on fresh prompts of unseen in-domain tasks (or OOD tasks with --ood)",
        options: [
            .valued("checkpoint", "FILE", "the checkpoint.safetensors to evaluate (written by `icl train` or `icl prune`)",
                    required: true),
            .flag("ood", "out-of-domain tasks (the ODR patterns, coefficients summing to S1) instead of unseen in-domain ones"),
            .valued("alpha", "A", "α′ of the prompts (the config field alphaTest)", default: "the checkpoint's alphaTest",
                    allowed: "[0, 1]"),
            .valued("length", "L", "context length (the config field lTest)", default: "the checkpoint's lTest",
                    allowed: "≥ 1 (GPT-2-style: ≤ lTrain)"),
            .valued("s1", "S", "sum of the ODR coefficients, for --ood (the config field S1)", default: "the checkpoint's S1",
                    allowed: "> 0"),
            .valued("prompts", "N", "fresh prompts to evaluate (the config field evalPrompts)",
                    default: "the checkpoint's evalPrompts", allowed: "≥ 1"),
            .valued("set", "KEY=VALUE", "changes an evaluation field of the checkpoint's config; the options above win",
                    default: "none", allowed: fieldList(Config.evaluationFields), repeatable: true),
            .valued("config", "FILE", "a JSON config (e.g. the run's config.json) on top of the checkpoint's; only evaluation fields may differ",
                    default: "none", allowed: "a .json file whose other fields match the checkpoint's"),
            CommonSpecs.device, CommonSpecs.variant, CommonSpecs.pipeline, CommonSpecs.json,
        ],
        refused: [
            ("seed", "the checkpoint's seed fixed the pattern basis and tasks the model learned, so evaluating under another seed would test other patterns"),
            CommonSpecs.modelFromCheckpoint,
        ],
        examples: ["icl eval --checkpoint runs/train/checkpoint.safetensors",
                   "icl eval --checkpoint runs/train/checkpoint.safetensors --ood --set S1=1.5 --prompts 2000 --json"])

    static func run(_ args: Arguments) throws {
        let path = try args.required("checkpoint")
        let factory = try CommonOptions.factory(args)
        let ckpt = try AnyCheckpoint.read(path: path)
        var config = try CommonOptions.evaluationConfig(args, checkpoint: ckpt.config)
        if let s1 = try args.float("s1") { config.S1 = s1 }
        if let alpha = try args.float("alpha") { config.alphaTest = alpha }
        if let l = try args.int("length", min: 1) { config.lTest = l }
        if let n = try args.int("prompts", min: 1) { config.evalPrompts = n }
        try config.validate()
        let bank = PatternBank(config: config)
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
