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
    static func factory(_ args: Arguments) throws -> BackendFactory {
        let text = args.value("device") ?? ProcessInfo.processInfo.environment["ICL_DEVICE"] ?? "opencl"
        let variant = args.value("variant") ?? ProcessInfo.processInfo.environment["ICL_VARIANT"] ?? "auto"
        guard ["auto", "cpu", "gpu"].contains(variant) else {
            throw UsageError("unknown kernel variant '\(variant)'; use auto, cpu or gpu.")
        }
        let pipeline = args.value("pipeline") ?? ProcessInfo.processInfo.environment["ICL_PIPELINE"] ?? "auto"
        let factory = BackendFactory(choice: try DeviceChoice.parse(text), variant: variant, pipeline: pipeline)
        _ = try factory.chosenPipeline()
        return factory
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
