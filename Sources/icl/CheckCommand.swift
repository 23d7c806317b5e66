import Foundation
import ICLCore
import ICLKit
import ICLOpenCL

/// `icl check [--device opencl…] [--variant auto|cpu|gpu|both] [--dump FILE] [--json]`: every kernel against
/// the CPU reference at the paper's and awkward sizes, plus a 20-step training agreement run.
enum CheckCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "check", options: ["device", "variant", "dump", "seed", "model"],
                                 flags: ["json"])
        let model = args.value("model") ?? "onelayer"
        guard ["onelayer", "gpt2"].contains(model) else {
            throw UsageError("unknown model '\(model)'; use onelayer or gpt2.")
        }
        var deviceText = args.value("device") ?? ProcessInfo.processInfo.environment["ICL_DEVICE"] ?? "opencl"
        if deviceText == "cpu-reference" {
            throw UsageError("`icl check` compares an OpenCL device with the CPU reference; pick an OpenCL device (--device opencl).")
        }
        if !deviceText.hasPrefix("opencl") { deviceText = "opencl" }
        let factory = BackendFactory(choice: try DeviceChoice.parse(deviceText))
        guard let context = try factory.openContext() else { return }
        let variantText = args.value("variant") ?? "both"
        let variants: [KernelVariant]
        switch variantText {
        case "both": variants = [.cpu, .gpu]
        case "auto": variants = [KernelVariant.forDevice(context.device)]
        default:
            guard let v = KernelVariant(rawValue: variantText) else {
                throw UsageError("unknown kernel variant '\(variantText)'; use both, auto, cpu or gpu.")
            }
            variants = [v]
        }
        let json = args.has("json")
        if model == "gpt2" {
            try checkGPT2(context: context, variants: variants, json: json)
            return
        }
        if let path = args.value("dump") {
            try CheckDump.write(path: path, context: context, variant: variants[0])
            if !json { print("wrote one batch, its outputs and gradients to \(path)") }
        }
        if !json { print("device: \(context.device.summary)") }
        var failures = 0
        for variant in variants {
            for c in CheckCase.standard {
                let report = try CrossCheck.run(context: context, variant: variant, check: c)
                if !report.passed { failures += 1 }
                if json {
                    for t in report.comparisons {
                        Output.json(["variant": variant.rawValue, "case": c.name, "kernel": t.kernel, "tensor": t.tensor,
                                     "max_abs": t.maxAbsError, "max_rel": t.maxRelError, "passed": t.passed])
                    }
                } else {
                    print("\n[\(variant.rawValue) kernels] \(c.name): \(report.passed ? "pass" : "FAIL")")
                    for t in report.comparisons { print("  " + t.line) }
                }
            }
            let pipelines: [Pipeline] = variant == .cpu ? [.unfused, .fused, .pattern] : [.unfused]
            for pipeline in pipelines {
                var cfg = Config()
                cfg.batch = 64
                cfg.xi = 0.3
                let pairs = try CrossCheck.trainingAgreement(context: context, variant: variant, config: cfg, steps: 20,
                                                             pipeline: pipeline)
                let worst = pairs.map { Double(abs($0.device - $0.reference)) / max(Double(abs($0.reference)), 1e-12) }.max() ?? 0
                let ok = worst <= 1e-3
                if !ok { failures += 1 }
                let label = "\(variant.rawValue) kernels, \(pipeline.rawValue)"
                if json {
                    Output.json(["variant": variant.rawValue, "pipeline": pipeline.rawValue, "case": "train 20 steps B=64",
                                 "kernel": "training", "tensor": "loss", "max_rel": worst, "passed": ok])
                } else {
                    print(String(format: "\n[%@] 20 training steps vs CPU reference: worst relative loss gap %.2e (≤ 1e-3): %@",
                                 label, worst, ok ? "pass" : "FAIL"))
                }
            }
        }
        // The fused pipelines (CPU variant) over whole steps, at every check size.
        for pipeline in [Pipeline.fused, .pattern] where variants.contains(.cpu) {
            for c in CheckCase.standard {
                let report = try CrossCheck.runFused(context: context, check: c, pipeline: pipeline)
                if !report.passed { failures += 1 }
                if json {
                    for t in report.comparisons {
                        Output.json(["variant": "cpu", "pipeline": pipeline.rawValue, "case": c.name, "kernel": t.kernel,
                                     "tensor": t.tensor, "max_abs": t.maxAbsError, "max_rel": t.maxRelError, "passed": t.passed])
                    }
                } else {
                    print("\n[cpu kernels, \(pipeline.rawValue) pipeline] \(c.name): \(report.passed ? "pass" : "FAIL")")
                    for t in report.comparisons { print("  " + t.line) }
                }
            }
        }
        if failures > 0 { throw RunError("\(failures) cross-check(s) failed; see the lines marked FAIL above.") }
        if !json { print("\nall cross-checks passed") }
    }

    /// The GPT-2-style engine: whole steps at three sizes and 20 training steps, per variant.
    static func checkGPT2(context: CLContext, variants: [KernelVariant], json: Bool) throws {
        if !json { print("device: \(context.device.summary)\nmodel: GPT-2-style") }
        var failures = 0
        for variant in variants {
            for c in GPT2CrossCheck.cases {
                let comparisons = try GPT2CrossCheck.wholeStep(context: context, variant: variant, c)
                let passed = comparisons.allSatisfy(\.passed)
                if !passed { failures += 1 }
                if json {
                    for t in comparisons {
                        Output.json(["model": "gpt2", "variant": variant.rawValue, "case": c.name, "kernel": t.kernel,
                                     "tensor": t.tensor, "max_abs": t.maxAbsError, "max_rel": t.maxRelError, "passed": t.passed])
                    }
                } else {
                    print("\n[\(variant.rawValue) kernels] \(c.name): \(passed ? "pass" : "FAIL")")
                    for t in comparisons { print("  " + t.line) }
                }
            }
            let worst = try GPT2CrossCheck.trainingAgreement(context: context, variant: variant)
            let ok = worst <= 1e-3
            if !ok { failures += 1 }
            if json {
                Output.json(["model": "gpt2", "variant": variant.rawValue, "case": "train 20 steps B=8", "kernel": "training",
                             "tensor": "loss", "max_rel": worst, "passed": ok])
            } else {
                print(String(format: "\n[%@ kernels] 20 AdamW steps vs CPU reference: worst relative loss gap %.2e (≤ 1e-3): %@",
                             variant.rawValue, worst, ok ? "pass" : "FAIL"))
            }
        }
        if failures > 0 { throw RunError("\(failures) GPT-2 cross-check(s) failed; see the lines marked FAIL above.") }
        if !json { print("\nall GPT-2 cross-checks passed") }
    }
}
