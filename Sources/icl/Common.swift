import Foundation
import ICLCore
import ICLKit

/// Options every model command shares: --config, --set, --seed, --device, --variant, --json.
enum CommonOptions {
    static let valued: Set<String> = ["config", "set", "seed", "device", "variant", "pipeline", "model"]
    static let flags: Set<String> = ["json"]

    /// The config from defaults, --config FILE, then each --set and --seed, validated.
    static func config(_ args: Arguments) throws -> Config {
        var c = Config()
        if let path = args.value("config") { c = try Config.load(jsonFile: path) }
        if let model = args.value("model") { try c.set("model", model) }
        try applyOverrides(&c, args)
        try c.validate()
        return c
    }

    static func applyOverrides(_ c: inout Config, _ args: Arguments) throws {
        for assignment in args.all("set") {
            for part in assignment.split(separator: " ") { try c.apply(assignment: String(part)) }
        }
        if let seed = args.value("seed") { try c.set("seed", seed) }
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

    /// The backends of --device, --variant and --pipeline.
    static func factory(_ args: Arguments) throws -> BackendFactory {
        BackendFactory(choice: try device(args), variant: try variant(args), pipeline: try pipeline(args))
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
    case .cpuVariantOnly: return UsageError(e.message + " Use --variant cpu or --pipeline unfused.")
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
