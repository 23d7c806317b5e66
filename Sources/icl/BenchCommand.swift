import Foundation
import ICLCore
import ICLKit
import ICLOpenCL

/// `icl bench [--device D] [--variant V] [--set k=v] [--batch 64,1024,16384] [--kernel-batch B] [--json] [--quick]`.
enum BenchCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "bench",
                                 options: CommonOptions.valued.union(["batch", "kernel-batch", "pipelines", "prune-rates"]),
                                 flags: ["json", "quick", "no-reference"])
        let config = try CommonOptions.config(args)
        let factory = try CommonOptions.factory(args)
        guard let context = try factory.openContext() else {
            throw UsageError("`icl bench` measures an OpenCL device; pick one with --device opencl (the CPU reference's rate is reported beside it).")
        }
        let variant = try factory.kernelVariant(for: context.device)
        let batches = try (args.value("batch") ?? "64,1024,16384").split(separator: ",").map { text -> Int in
            guard let b = Int(text), b >= 1 else { throw UsageError("--batch takes sizes like 64,1024,16384; got '\(text)'.") }
            return b
        }
        let kernelBatch = try args.int("kernel-batch", min: 0) ?? 1024
        let pipelines = try (args.value("pipelines") ?? "pattern,fused,unfused").split(separator: ",").map { text -> Pipeline in
            guard let p = Pipeline(rawValue: String(text)) else {
                throw UsageError("--pipelines takes a list of pattern, fused, unfused; got '\(text)'.")
            }
            return p
        }
        // Every argument is checked before anything is measured.
        let rates = try (args.value("prune-rates") ?? "0,0.2,0.4").split(separator: ",").map { text -> Double in
            guard let r = Double(text), r >= 0, r < 1 else {
                throw UsageError("--prune-rates takes rates in [0, 1) like 0,0.2,0.4; got '\(text)'.")
            }
            return r
        }
        let json = args.has("json")
        if config.isGPT2 {
            try benchGPT2(context: context, config: config, variant: variant, batches: args.value("batch") == nil ? [64, 256] : batches,
                          quick: args.has("quick"), reference: !args.has("no-reference"), json: json)
            return
        }
        var bench = Bench(context: context, config: config, variant: variant)
        if args.has("quick") { bench.repeats = 3; bench.minSeconds = 0.1 }

        let dev = context.device
        let head: [String: Any] = ["what": "device", "name": dev.name, "platform": dev.platformName,
                                   "driver": dev.driverVersion, "kind": dev.kind.rawValue, "variant": variant.rawValue,
                                   "d": config.d, "l": config.lTrain, "m": config.m]
        if json { Output.json(head) } else {
            print("device: \(dev.summary), \(variant.rawValue) kernels")
            print("model: d = \(config.d), l = \(config.lTrain), m = \(config.m); useful FLOPs per prompt: train \(Int(bench.trainFlopsPerPrompt)), inference \(Int(bench.inferFlopsPerPrompt))")
        }
        let ceil = try Ceilings.measure(context: context, repeats: args.has("quick") ? 2 : 5)
        if json {
            Output.json(["what": "ceiling", "peak_gflops": ceil.gflops, "copy_gbs": ceil.copyGBs])
        } else {
            print(String(format: "measured ceilings: %.1f GFLOP/s (FP32 FMA probe), %.1f GB/s (copy probe)\n", ceil.gflops, ceil.copyGBs))
        }

        let kernels = kernelBatch > 0 ? try bench.kernels(batch: kernelBatch) : []
        if !json && !kernels.isEmpty {
            print("kernels at B = \(kernelBatch) (device event timers, median of \(max(bench.repeats, 5))):")
            print("  pipeline  kernel                  µs/launch  spread  GFLOP/s  %peak   GB/s  %copy")
        }
        for r in kernels {
            if json {
                Output.json(["what": "kernel", "name": r.name, "pipeline": r.pipeline, "B": r.batch, "us": r.seconds * 1e6,
                             "spread": r.spread, "gflops": r.gflops, "gbs": r.gbs,
                             "pct_peak_flops": 100 * r.gflops / ceil.gflops, "pct_copy_bw": 100 * r.gbs / ceil.copyGBs])
            } else {
                print("  " + pad(r.pipeline, 8) + "  " + pad(r.name, 22) + String(format: " %10.1f  %5.1f%%  %7.1f  %5.1f  %5.1f  %5.1f",
                             r.seconds * 1e6, 100 * r.spread, r.gflops, 100 * r.gflops / ceil.gflops, r.gbs,
                             100 * r.gbs / ceil.copyGBs))
            }
        }

        if !json { print("\nend to end (prompts sampled on the device; initial weights, step size 0, so every prompt runs the backward pass; median of \(bench.repeats) repeats):") }
        if !json { print("  what   pipeline  B        prompts/s      spread  model GFLOP/s  %peak") }
        var rows: [BenchRow] = []
        for B in batches {
            for p in pipelines { rows.append(try bench.train(batch: B, pipeline: p)) }
        }
        for B in batches {
            for p in pipelines { rows.append(try bench.infer(batch: B, pipeline: p)) }
        }
        if !args.has("no-reference") { rows.append(try bench.cpuReference(batch: 64)) }
        // Pruned models run on smaller kernels: inference at the largest batch for m − ⌊R·m⌋ neurons.
        let pruneBatch = batches.max() ?? 16384
        var pruneRows: [(rate: Double, m: Int, row: BenchRow)] = []
        for r in rates {
            var c = config
            c.m = config.m - Int((r * Double(config.m)).rounded(.down))
            var pb = Bench(context: context, config: c, variant: variant)
            pb.repeats = bench.repeats
            pb.minSeconds = bench.minSeconds
            pruneRows.append((r, c.m, try pb.infer(batch: pruneBatch, pipeline: pipelines[0])))
        }
        for r in rows {
            if json {
                Output.json(["what": r.what, "pipeline": r.pipeline, "B": r.batch, "l": config.lTrain, "m": config.m,
                             "d": config.d, "prompts_per_s": r.promptsPerSecond, "spread": r.spread,
                             "gflops": r.gflops, "pct_peak_flops": 100 * r.gflops / ceil.gflops])
            } else {
                print("  " + pad(r.what, 5) + "  " + pad(r.pipeline, 9) + " " + pad("\(r.batch)", 7)
                      + String(format: "  %13.0f  %5.1f%%  %7.1f  %5.1f", r.promptsPerSecond, 100 * r.spread, r.gflops,
                               100 * r.gflops / ceil.gflops))
            }
        }
        if !json && !pruneRows.isEmpty {
            print("\npruned models (compacted W_O), inference at B = \(pruneBatch), \(pipelines[0].rawValue) pipeline:")
            print("  rate   m     prompts/s      spread  speed-up")
        }
        let base = pruneRows.first { $0.rate == 0 }?.row.promptsPerSecond ?? pruneRows.first?.row.promptsPerSecond ?? 1
        for p in pruneRows {
            if json {
                Output.json(["what": "infer-pruned", "pipeline": p.row.pipeline, "rate": p.rate, "B": p.row.batch,
                             "l": config.lTrain, "m": p.m, "d": config.d, "prompts_per_s": p.row.promptsPerSecond,
                             "speedup": p.row.promptsPerSecond / base])
            } else {
                print(String(format: "  %.2f   %-4d  %13.0f  %5.1f%%  %.2f×", p.rate, p.m, p.row.promptsPerSecond,
                             100 * p.row.spread, p.row.promptsPerSecond / base))
            }
        }
    }
}

/// `icl bench --model gpt2`: matmul GFLOP/s against the measured ceiling, training and inference rates.
func benchGPT2(context: CLContext, config: Config, variant: KernelVariant, batches: [Int], quick: Bool, reference: Bool,
               json: Bool) throws {
    var bench = GPT2Bench(context: context, config: config, variant: variant)
    if quick { bench.repeats = 3; bench.minSeconds = 0.1 }
    let s = config.gpt2Shape, tokens = config.lTrain + 1
    let dev = context.device
    let ceil = try Ceilings.measure(context: context, repeats: quick ? 2 : 5)
    if json {
        Output.json(["what": "device", "name": dev.name, "platform": dev.platformName, "driver": dev.driverVersion,
                     "kind": dev.kind.rawValue, "variant": variant.rawValue, "model": "gpt2", "width": s.width,
                     "layers": s.layers, "heads": s.heads, "l": config.lTrain, "d": config.d])
        Output.json(["what": "ceiling", "peak_gflops": ceil.gflops, "copy_gbs": ceil.copyGBs])
    } else {
        print("device: \(dev.summary), \(variant.rawValue) kernels")
        print("model: GPT-2-style, width \(s.width), \(s.layers) layers, \(s.heads) heads, l = \(config.lTrain) (\(tokens) tokens), \(GPT2Weights<Float>.parameterCount(s)) parameters")
        print(String(format: "measured ceilings: %.1f GFLOP/s (FP32 FMA probe), %.1f GB/s (copy probe)\n", ceil.gflops, ceil.copyGBs))
        print("matmul kernels at B = 64 prompts (\(64 * tokens) token rows; device event timers, median):")
        print("  matmul      shape             forward GFLOP/s  %peak   dX GFLOP/s  %peak   dW GFLOP/s  %peak")
    }
    for m in try bench.matmuls(batch: 64) {
        let g = m.timing.gflops
        if json {
            Output.json(["what": "matmul", "name": m.name, "rows": m.rows, "inputs": m.inputs, "outputs": m.outputs,
                         "forward_gflops": g.forward, "input_grad_gflops": g.inputGrad, "weight_grad_gflops": g.weightGrad,
                         "pct_peak_forward": 100 * g.forward / ceil.gflops])
        } else {
            print("  " + pad(m.name, 10) + "  " + pad("\(m.rows)×\(m.inputs)→\(m.outputs)", 16)
                  + String(format: "  %14.1f  %5.1f  %11.1f  %5.1f  %11.1f  %5.1f", g.forward, 100 * g.forward / ceil.gflops,
                           g.inputGrad, 100 * g.inputGrad / ceil.gflops, g.weightGrad, 100 * g.weightGrad / ceil.gflops))
        }
    }
    if !json { print("\nend to end (prompts sampled on the device; median of \(bench.repeats) repeats):\n  what   B      prompts/s   tokens/s  spread") }
    var rows: [(what: String, batch: Int, rate: (perSecond: Double, spread: Double))] = []
    for B in batches { rows.append(("train", B, try bench.train(batch: B))) }
    rows.append(("infer", 1024, try bench.infer(prompts: 1024)))
    if reference { rows.append(("train", 8, (try bench.cpuReference(batch: 8), 0))) }
    for (n, r) in rows.enumerated() {
        let what = reference && n == rows.count - 1 ? "cpu-reference" : r.what
        if json {
            Output.json(["what": r.what, "device": what == "cpu-reference" ? "cpu-reference" : "opencl", "model": "gpt2",
                         "B": r.batch, "l": config.lTrain, "d": config.d, "prompts_per_s": r.rate.perSecond,
                         "tokens_per_s": r.rate.perSecond * Double(tokens), "spread": r.rate.spread])
        } else {
            print("  " + pad(what == "cpu-reference" ? "train (CPU reference)" : r.what, 5) + "  " + pad("\(r.batch)", 5)
                  + String(format: "  %10.0f  %9.0f  %5.1f%%", r.rate.perSecond, r.rate.perSecond * Double(tokens), 100 * r.rate.spread))
        }
    }
}

/// Left-aligns `text` in a column of `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
