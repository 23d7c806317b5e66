import Foundation
import ICLCore
import ICLKit

/// `icl train [--model onelayer|gpt2] [--out DIR] [--resume] [--steps N] [--quiet] [common options]`.
enum TrainCommand {
    static let spec = CommandSpec(
        name: "train",
        summary: "trains the model; writes DIR/checkpoint.safetensors, DIR/metrics.jsonl and DIR/config.json, and prints the ICL error on unseen in-domain and OOD tasks",
        options: [
            .valued("out", "DIR", "the run's folder", default: "runs/train"),
            .flag("resume", "continue the run in --out from its checkpoint (bit for bit as if never stopped); --set and --config may change only the schedule fields"),
            .valued("steps", "N", "training steps (the config field steps)", default: "the config's steps, 2000", allowed: "≥ 0"),
            .flag("quiet", "no progress lines on stderr"),
        ] + CommonSpecs.runOptions + [CommonSpecs.json],
        examples: ["icl train --set steps=300 --out runs/small",
                   "icl train --device cpu-reference --set \"steps=3 batch=16 evalPrompts=50\" --out runs/tiny --json",
                   "icl train --out runs/small --resume --steps 600"])

    static func run(_ args: Arguments) throws {
        let outDir = args.value("out") ?? "runs/train"
        var config: Config
        if args.has("resume") {
            // The checkpoint's config, with the command's --config, --set and --seed on top (Trainer refuses a change
            // to anything but the schedule).
            config = try CommonOptions.config(args, base: try AnyCheckpoint.read(path: outDir + "/checkpoint.safetensors").config)
        } else {
            config = try CommonOptions.config(args)
        }
        if let steps = try args.int("steps", min: 0) { config.steps = steps }
        let json = args.has("json")
        let request = TrainRequest(config: config, outDir: outDir, resume: args.has("resume"),
                                   factory: try CommonOptions.factory(args), showProgress: !args.has("quiet") && !json,
                                   finalLengths: [4, 10].filter { !config.isGPT2 || $0 <= config.lTrain })
        StopSignal.install()
        let s = try Trainer.run(request)
        if json {
            Output.json(["what": "train", "device": s.device, "steps": s.steps, "start_step": s.startStep,
                         "seconds": s.seconds, "train_seconds": s.trainSeconds, "prompts_per_s": s.promptsPerSecond, "final_loss": Double(s.lastLoss),
                         "checkpoint": s.checkpointPath, "metrics": request.metricsPath,
                         "config_file": outDir + "/config.json"])
            for e in s.finalEvals { Output.json(e.record) }
            return
        }
        print("device: \(s.device)")
        print(String(format: "trained steps %d..%d, batch %d, in %.1f s (%.1f s in %@ steps: %.0f prompts/s); last batch loss %.4f",
                     s.startStep, s.steps, config.batch, s.seconds, s.trainSeconds, config.isGPT2 ? "AdamW" : "SGD", s.promptsPerSecond, s.lastLoss))
        print(String(format: "ICL classification error on %d fresh prompts per cell (α′ = %.2f, S1 = %.2f):",
                     config.evalPrompts, config.alphaTest, config.S1))
        print("   l   unseen in-domain tasks   OOD tasks")
        for l in Set(s.finalEvals.map(\.length)).sorted() {
            let id = s.finalEvals.first { $0.length == l && $0.domain == .inDomain }!
            let ood = s.finalEvals.first { $0.length == l && $0.domain == .outOfDomain }!
            let idText = Output.percent(id.error).padding(toLength: 22, withPad: " ", startingAt: 0)
            print(String(format: "%4d   ", l) + idText + "   " + Output.percent(ood.error))
        }
        print("checkpoint: \(s.checkpointPath)   metrics: \(request.metricsPath)   config: \(outDir)/config.json")
    }
}
