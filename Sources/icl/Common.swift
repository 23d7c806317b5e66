import Foundation
import ICLCore
import ICLKit

/// Options every model command shares: --config, --set, --seed, --model, --device, --variant, --pipeline, --json.
enum CommonOptions {
    /// The config: `base` (the defaults, or a checkpoint's config), then the fields of --config FILE, --model, each
    /// --set and --seed; validated.
    static func config(_ args: Arguments, base: Config = Config()) throws -> Config {
        var c = base
        if let path = args.value("config") { try c.merge(jsonFile: path) }
        if let model = args.value("model") { try c.set("model", model) }
        for assignment in args.all("set") {
            for part in assignment.split(separator: " ") { try c.apply(assignment: String(part)) }
        }
        if let seed = args.value("seed") { try c.set("seed", seed) }
        try c.validate()
        return c
    }

    /// A checkpoint's config with --config and --set changing its evaluation fields only (`icl eval`, `icl probe`):
    /// the rest describes the trained model. `allowed` is a subset of Config.evaluationFields.
    /// `instead` names the option that replaces an evaluation field the command does not take from the config.
    static func evaluationConfig(_ args: Arguments, checkpoint: Config, allowed: Set<String> = Config.evaluationFields,
                                 instead: [String: String] = [:]) throws -> Config {
        let c = try config(args, base: checkpoint)
        let changed = c.differingFields(from: checkpoint).filter { !allowed.contains($0) }
        if let field = changed.first(where: { instead[$0] != nil }) {
            throw UsageError("`icl \(args.spec.name)` does not read the config field '\(field)' of --set and --config; use \(instead[field]!) instead.")
        }
        guard changed.isEmpty else {
            let names = changed.map { "'\($0)'" }.joined(separator: ", ")
            throw UsageError("`icl \(args.spec.name)` takes --set and --config for the evaluation fields \(fieldList(allowed)) only; \(names) \(changed.count == 1 ? "describes" : "describe") the trained model and \(changed.count == 1 ? "comes" : "come") from the checkpoint.")
        }
        return c
    }

    /// The device from --device, else $ICL_DEVICE, else the best OpenCL device.
    static func device(_ args: Arguments) throws -> DeviceChoice {
        let text = args.value("device") ?? ProcessInfo.processInfo.environment["ICL_DEVICE"] ?? "opencl"
        guard let choice = DeviceChoice(name: text) else {
            throw UsageError("unknown device '\(text)'; use cpu-reference, opencl, opencl:N, opencl:gpu or opencl:cpu (see `icl devices`).")
        }
        return choice
    }

    /// --variant (env ICL_VARIANT), default auto.
    static func variant(_ args: Arguments) throws -> VariantChoice {
        let text = args.value("variant") ?? ProcessInfo.processInfo.environment["ICL_VARIANT"] ?? "auto"
        guard let v = VariantChoice(rawValue: text) else {
            throw UsageError("unknown kernel variant '\(text)'; use auto, cpu or gpu.")
        }
        return v
    }

    /// --pipeline (env ICL_PIPELINE): nil for auto.
    static func pipeline(_ args: Arguments) throws -> Pipeline? {
        let text = args.value("pipeline") ?? ProcessInfo.processInfo.environment["ICL_PIPELINE"] ?? "auto"
        if text == "auto" { return nil }
        guard let p = Pipeline(rawValue: text) else {
            throw UsageError("unknown pipeline '\(text)'; use auto, \(Pipeline.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return p
    }

    /// The backends of --device, --variant and --pipeline. A kernel variant or pipeline asked for on the command line
    /// with the CPU reference is refused: it has neither, and the option would be ignored.
    static func factory(_ args: Arguments) throws -> BackendFactory {
        let factory = BackendFactory(choice: try device(args), variant: try variant(args), pipeline: try pipeline(args))
        if factory.choice == .cpuReference {
            if let v = args.value("variant"), v != "auto" {
                throw UsageError("--variant \(v) picks the shape of OpenCL kernels, and the CPU reference (--device cpu-reference) runs none; drop it or pick an OpenCL device.")
            }
            if let p = args.value("pipeline"), p != "auto" {
                throw UsageError("--pipeline \(p) picks how an OpenCL device runs a step, and the CPU reference (--device cpu-reference) has one way; drop it or pick an OpenCL device.")
            }
        }
        return factory
    }
}

/// A library remedy as option advice.
func advice(_ remedy: Remedy?) -> String {
    switch remedy {
    case nil: return ""
    case .startFresh: return " Drop --resume to start a new run."
    case .resumeOrOtherOut: return " Pass --resume to continue it, or choose another --out."
    case .otherOut: return " Or choose another --out."
    case .resumeLater: return " Continue with --resume once the device works."
    case .otherDevice: return " Use --device opencl:cpu or --device cpu-reference (see `icl devices`)."
    case .cpuReference: return " Or run on the CPU reference: --device cpu-reference."
    case .listDevices: return " See `icl devices`."
    }
}

/// The flag advice for a library error about a pipeline that cannot run (exit code 2).
func usageAdvice(_ e: PipelineError) -> UsageError {
    switch e.reason {
    case .workGroupSize: return UsageError(e.message + " Use --variant cpu or another --device.")
    case .tileLocalMemory: return UsageError(e.message + " Use --pipeline unfused, the other --variant, or a shorter prompt (--set).")
    case .basisTooLarge: return UsageError(e.message + " Use --pipeline fused or --pipeline unfused.")
    case .wrongModel: return UsageError(e.message + " Use --pipeline auto.")
    case .localMemory: return UsageError(e.message + " Use --variant cpu, or a smaller maxTokens (--set).")
    }
}

/// stdout output: human lines, or one JSON object per line with --json.
enum Output {
    static func json(_ record: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    static func percent(_ x: Double) -> String { String(format: "%.4f (%.2f%%)", x, 100 * x) }
}
