import Foundation
import ICLCore
import ICLKit

/// `icl check [--model onelayer|gpt2] [--device opencl…] [--variant auto|cpu|gpu|both] [--quick] [--dump FILE] [--json]`: every
/// kernel against the CPU reference at the paper's and awkward sizes, every pipeline over whole steps on each device
/// path, and 20 training steps of each pipeline against the reference.
enum CheckCommand {
    static let spec = CommandSpec(
        name: "check",
        summary: "cross-checks every OpenCL kernel and pipeline against the CPU reference and prints pass/fail per tensor",
        options: [
            .valued("model", "M", "which model's kernels", default: "onelayer", allowed: "onelayer, gpt2"),
            .valued("device", "D", "the OpenCL device to check (see `icl devices`)",
                    default: "$ICL_DEVICE, else the best OpenCL device (a GPU if there is one)",
                    allowed: "opencl, opencl:N, opencl:gpu, opencl:cpu"),
            .valued("variant", "V", "kernel variants to check", default: "both", allowed: "both, auto, cpu, gpu"),
            .valued("dump", "FILE", "also write one one-layer batch, its outputs and gradients as safetensors",
                    default: "none (no dump)"),
            .flag("quick", "small awkward sizes and 5 training steps instead of the paper's sizes and 20: every kernel, pipeline, variant and path still runs (for a simulator or a slow device)"),
            CommonSpecs.json,
        ],
        refused: [
            ("pipeline", "it checks every pipeline the model and device can run"),
            ("set", "it checks at fixed sizes, the paper's and awkward ones, not at a config's"),
            ("config", "it checks at fixed sizes, the paper's and awkward ones, not at a config's"),
            ("seed", "its cases use fixed seeds so that a failure can be reproduced"),
        ],
        examples: ["icl check", "icl check --quick", "icl check --variant cpu --dump batch.safetensors", "icl check --model gpt2 --json"])

    static func run(_ args: Arguments) throws {
        let modelText = args.value("model") ?? "onelayer"
        guard let model = ModelKind(rawValue: modelText) else {
            throw UsageError("unknown model '\(modelText)'; use onelayer or gpt2.")
        }
        var choice = try CommonOptions.device(args)
        if choice == .cpuReference {
            if args.value("device") != nil {
                throw UsageError("`icl check` compares an OpenCL device with the CPU reference; pick an OpenCL device (--device opencl).")
            }
            choice = .opencl(.best)
        }
        let variantText = args.value("variant") ?? "both"
        let variants: CheckVariants
        switch variantText {
        case "both": variants = .both
        case "auto": variants = .auto
        default:
            guard let v = KernelVariant(rawValue: variantText) else {
                throw UsageError("unknown kernel variant '\(variantText)'; use both, auto, cpu or gpu.")
            }
            variants = .only(v)
        }
        let json = args.has("json")
        if args.value("dump") != nil && model != .onelayer {
            throw UsageError("--dump writes a one-layer batch; drop --model gpt2.")
        }
        guard let device = try BackendFactory(choice: choice).openContext() else { return }
        if let path = args.value("dump") {
            let variant: KernelVariant
            if case .only(let v) = variants { variant = v } else { variant = .cpu }
            try CheckRun.dump(device: device, path: path, variant: variant)
        }
        if !json {
            print("device: \(device.device.summary), \(device.device.path?.rawValue ?? "unprobed") path")
            if model == .gpt2 { print("model: GPT-2-style") }
        }
        let failures = try CheckRun.run(device: device, model: model, variants: variants,
                                        size: args.has("quick") ? .quick : .full) { item in
            let label = "\(item.variant.rawValue) kernels" + (item.pipeline.map {
                ", \($0.pipeline.rawValue) pipeline, \($0.path.rawValue) path" } ?? "")
            if let a = item.agreement {
                if json {
                    Output.json(["model": item.model.rawValue, "variant": item.variant.rawValue,
                                 "pipeline": item.pipeline?.pipeline.rawValue ?? "", "path": item.pipeline?.path.rawValue ?? "",
                                 "case": item.caseName, "kernel": "training", "tensor": "loss", "max_rel": a.worst,
                                 "passed": item.passed])
                } else {
                    print(String(format: "\n[%@] %d training steps vs CPU reference: worst relative loss gap %.2e (≤ %.0e): %@",
                                 label, a.steps, a.worst, a.bound, item.passed ? "pass" : "FAIL"))
                }
                return
            }
            if json {
                for t in item.comparisons {
                    Output.json(["model": item.model.rawValue, "variant": item.variant.rawValue,
                                 "pipeline": item.pipeline?.pipeline.rawValue ?? "", "path": item.pipeline?.path.rawValue ?? "",
                                 "case": item.caseName, "kernel": t.kernel, "tensor": t.tensor, "max_abs": t.maxAbsError,
                                 "max_rel": t.maxRelError, "passed": t.passed])
                }
            } else {
                print("\n[\(label)] \(item.caseName): \(item.passed ? "pass" : "FAIL")")
                for t in item.comparisons { print("  " + t.line) }
            }
        }
        let what = model == .gpt2 ? "GPT-2 cross-check" : "cross-check"
        if failures == 0 && !json { print("\nall \(what)s passed") }
        // Last, where the dump went (also when a check failed: the file is written).
        if let path = args.value("dump") {
            if json { Output.json(["dump": path]) } else { print("dump: one batch, its outputs and gradients in \(path)") }
        }
        if failures > 0 { throw RunError("\(failures) \(what)(s) failed; see the lines marked FAIL above.") }
    }
}
