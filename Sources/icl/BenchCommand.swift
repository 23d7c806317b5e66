import Foundation
import ICLCore
import ICLKit

/// `icl bench [--model onelayer|gpt2] [--device D] [--variant V] [--set k=v] [--batch 64,1024,16384] [--kernel-batch B]
/// [--pipelines …] [--prune-rates …] [--no-reference] [--quick] [--json]`.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench",
        summary: "kernel and end-to-end throughput against the device's measured ceilings (FLOP/s, bandwidth, launch latency), with launches per training step; the CPU reference's rate; pruned models' inference",
        options: [
            .valued("batch", "B,B,…", "end-to-end batch sizes", default: "64,1024,16384 (gpt2: 64,256)", allowed: "integers ≥ 1"),
            .valued("kernel-batch", "B", "batch of the per-kernel rows (0: none)", default: "1024 (gpt2: 64)", allowed: "≥ 0"),
            .valued("pipelines", "P,P,…", "pipelines to measure",
                    default: "--pipeline's, else every pipeline the model and variant can run",
                    allowed: Pipeline.allCases.map(\.rawValue).joined(separator: ", ")),
            .valued("prune-rates", "R,R,…", "pruning rates whose compacted models' inference is timed (one-layer model)",
                    default: "0,0.2,0.4 (gpt2: none)", allowed: "rates in [0, 1)"),
            .flag("no-reference", "skip timing the CPU reference"),
            .flag("quick", "fewer and shorter repeats"),
        ] + CommonSpecs.runOptions + [CommonSpecs.json],
        examples: ["icl bench", "icl bench --quick --batch 64 --kernel-batch 64 --prune-rates 0 --no-reference --json",
                   "icl bench --model gpt2 --set \"width=32 layers=2\""])

    static func run(_ args: Arguments) throws {
        let config = try CommonOptions.config(args)
        let factory = try CommonOptions.factory(args)
        var options = BenchOptions(model: ModelKind(config))
        // Every argument is checked before anything is measured.
        if let text = args.value("batch") {
            options.batches = try text.split(separator: ",").map { text -> Int in
                guard let b = Int(text), b >= 1 else { throw UsageError("--batch takes sizes like 64,1024,16384; got '\(text)'.") }
                return b
            }
        }
        if let b = try args.int("kernel-batch", min: 0) { options.kernelBatch = b }
        if let text = args.value("pipelines") {
            options.pipelines = try text.split(separator: ",").map { text -> Pipeline in
                guard let p = Pipeline(rawValue: String(text)) else {
                    throw UsageError("--pipelines takes a list of \(Pipeline.allCases.map(\.rawValue).joined(separator: ", ")); got '\(text)'.")
                }
                return p
            }
        } else if let p = factory.pipeline {
            options.pipelines = [p]
        }
        if let text = args.value("prune-rates") {
            options.pruneRates = try text.split(separator: ",").map { text -> Double in
                guard let r = Double(text), r >= 0, r < 1 else {
                    throw UsageError("--prune-rates takes rates in [0, 1) like 0,0.2,0.4; got '\(text)'.")
                }
                return r
            }
        }
        options.reference = !args.has("no-reference")
        options.quick = args.has("quick")
        guard let device = try factory.openContext() else {
            throw UsageError("`icl bench` measures an OpenCL device; pick one with --device opencl (the CPU reference's rate is reported beside it).")
        }
        let bench = Bench(device: device, config: config, variant: factory.variant)
        // Progress on stderr, one line per measurement, with an ETA from the mean time per measurement so far.
        let began = Date()
        let report = try bench.run(options) { done, total, what in
            guard done < total else { return }
            let elapsed = Date().timeIntervalSince(began)
            let eta = done > 0 ? " (ETA " + Progress.clock(elapsed / Double(done) * Double(total - done)) + ")" : ""
            FileHandle.standardError.write(Data("bench: [\(done + 1)/\(total)] \(what)\(eta)\n".utf8))
        }
        if args.has("json") { printJSON(report, config: config) } else { printTable(report, config: config, options: options) }
    }

    static func printJSON(_ r: BenchReport, config: Config) {
        let d = r.device
        Output.json(["what": "device", "name": d.name, "platform": d.platform, "driver": d.driver, "kind": d.kind,
                     "variant": r.variant.rawValue, "model": config.isGPT2 ? "gpt2" : "onelayer", "d": config.d,
                     "l": config.lTrain, "m": config.m, "path": d.path?.rawValue ?? "unknown"])
        for p in r.pipelines {
            Output.json(["what": "pipeline", "pipeline": p.pipeline.rawValue, "variant": p.variant.rawValue,
                         "path": p.path.rawValue])
        }
        var ceiling: [String: Any] = ["what": "ceiling", "peak_gflops": r.ceilings.gflops, "copy_gbs": r.ceilings.copyGBs,
                                      "launch_latency_us": r.ceilings.launchLatencyUs,
                                      "launch_issue_us": r.ceilings.launchIssueUs]
        if let e = r.ceilings.launchEventUs { ceiling["launch_event_us"] = e }
        Output.json(ceiling)
        for k in r.kernels {
            Output.json(["what": "kernel", "name": k.name, "pipeline": k.pipeline, "B": k.batch, "us": k.seconds * 1e6,
                         "spread": k.spread, "gflops": k.gflops, "gbs": k.gbs,
                         "pct_peak_flops": 100 * k.gflops / r.ceilings.gflops, "pct_copy_bw": 100 * k.gbs / r.ceilings.copyGBs])
        }
        for row in r.endToEnd {
            var rec: [String: Any] = ["what": row.what.rawValue, "pipeline": row.pipeline, "B": row.batch, "l": config.lTrain,
                                      "m": config.m, "d": config.d, "prompts_per_s": row.promptsPerSecond,
                                      "tokens_per_s": row.promptsPerSecond * Double(config.lTrain + 1), "spread": row.spread,
                                      "gflops": row.gflops, "pct_peak_flops": 100 * row.gflops / r.ceilings.gflops]
            if let l = row.launchesPerStep { rec["launches_per_step"] = l }
            if let f = r.latencyFloor(row) { rec["latency_floor"] = f }
            if let f = r.latencyFloor(row, backToBack: true) { rec["latency_floor_back_to_back"] = f }
            Output.json(rec)
        }
        let base = r.pruned.first { $0.rate == 0 }?.row.promptsPerSecond ?? r.pruned.first?.row.promptsPerSecond ?? 1
        for p in r.pruned {
            Output.json(["what": "infer-pruned", "pipeline": p.row.pipeline, "rate": p.rate, "B": p.row.batch,
                         "l": config.lTrain, "m": p.m, "d": config.d, "prompts_per_s": p.row.promptsPerSecond,
                         "speedup": p.row.promptsPerSecond / base])
        }
    }

    static func printTable(_ r: BenchReport, config: Config, options: BenchOptions) {
        let d = r.device, peak = r.ceilings.gflops
        print("device: \(d.summary), \(r.variant.rawValue) kernels")
        print("pipelines: " + r.pipelines.map { "\($0.pipeline.rawValue) (\($0.path.rawValue) path)" }.joined(separator: ", "))
        if config.isGPT2 {
            let s = config.gpt2Shape
            print("model: GPT-2-style, width \(s.width), \(s.layers) layers, \(s.heads) heads, l = \(config.lTrain) (\(config.lTrain + 1) tokens), \(GPT2Weights<Float>.parameterCount(s)) parameters")
        } else {
            print("model: d = \(config.d), l = \(config.lTrain), m = \(config.m); useful FLOPs per prompt: train \(Int(r.trainFlopsPerPrompt)), inference \(Int(r.inferFlopsPerPrompt))")
        }
        print(String(format: "measured ceilings: %.1f GFLOP/s (FP32 FMA probe), %.1f GB/s (copy probe)", peak, r.ceilings.copyGBs))
        let c = r.ceilings
        let event = c.launchEventUs.map { String(format: ", %.1f µs queued → end (device events of profiled launches)", $0) }
            ?? ", no device events (no profiling, or its timestamps are not a clock)"
        print(String(format: "launch latency (empty kernel, median of %d): %.1f µs enqueue → finish (host clock)", Ceilings.launchSamples,
                     c.launchLatencyUs) + event + String(format: "; %.1f µs per launch back to back\n", c.launchIssueUs))
        if !r.kernels.isEmpty {
            let timers = r.ceilings.launchEventUs != nil ? "device event timers" : "host clock: the device's event timers are not a clock"
            print("kernels at B = \(options.kernelBatch) (\(timers), median of \(max(r.repeats, 5))):")
            print("  pipeline  kernel                    µs/launch  spread  GFLOP/s  %peak   GB/s  %copy")
        }
        for k in r.kernels {
            print("  " + pad(k.pipeline, 8) + "  " + pad(k.name, 24) + String(format: " %10.1f  %5.1f%%  %7.1f  %5.1f  %5.1f  %5.1f",
                  k.seconds * 1e6, 100 * k.spread, k.gflops, 100 * k.gflops / peak, k.gbs, 100 * k.gbs / r.ceilings.copyGBs))
        }
        let what = config.isGPT2 ? "prompts sampled on the device" : "prompts sampled on the device; initial weights, step size 0, so every prompt runs the backward pass"
        print("\nend to end (\(what); median of \(r.repeats) repeats):")
        print("  what   pipeline   B        prompts/s      spread  model GFLOP/s  %peak  launches/step  latency floor: waited, back to back")
        for row in r.endToEnd {
            let flops = row.flops > 0 ? String(format: "%13.1f  %5.1f", row.gflops, 100 * row.gflops / peak) : "            -      -"
            var launches = row.launchesPerStep.map { String(format: "  %13.1f", $0) } ?? ""
            if let f = r.latencyFloor(row), let g = r.latencyFloor(row, backToBack: true) {
                launches += String(format: "  %20.1f%%  %13.1f%%", 100 * f, 100 * g)
            }
            print("  " + pad(row.what.rawValue, 5) + "  " + pad(row.pipeline, 9) + "  " + pad("\(row.batch)", 7)
                  + String(format: "  %13.0f  %5.1f%%  ", row.promptsPerSecond, 100 * row.spread) + flops + launches)
        }
        if r.endToEnd.contains(where: { $0.launchesPerStep != nil }) {
            print("  (latency floor: launches/step × a launch latency above, as a share of the step's time: waited, with the enqueue → finish")
            print("   latency, as if each launch waited for the one before; back to back, with the per-launch cost of launches enqueued in a row,")
            print("   as the step loop enqueues them. Near 100%, a step is bound by its launches, not by FLOPs or bytes)")
        }
        guard let first = r.pruned.first else { return }
        print("\npruned models (compacted W_O), inference at B = \(first.row.batch), \(first.row.pipeline) pipeline:")
        print("  rate   m     prompts/s      spread  speed-up")
        let base = r.pruned.first { $0.rate == 0 }?.row.promptsPerSecond ?? first.row.promptsPerSecond
        for p in r.pruned {
            print(String(format: "  %.2f   %-4d  %13.0f  %5.1f%%  %.2f×", p.rate, p.m, p.row.promptsPerSecond,
                         100 * p.row.spread, p.row.promptsPerSecond / base))
        }
    }
}

/// Left-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
