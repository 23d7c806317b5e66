import ICLCore
import ICLOpenCL

/// Where to run, as written on the command line (`--device`, env `ICL_DEVICE`):
/// `cpu-reference`, `opencl` (the best OpenCL device: a GPU if any), `opencl:N`, `opencl:gpu`, `opencl:cpu`.
public enum DeviceChoice: Equatable, Sendable {
    case cpuReference
    case opencl(Selector)

    public enum Selector: Equatable, Sendable { case best, index(Int), gpu, cpu }

    public static func parse(_ text: String) throws -> DeviceChoice {
        switch text {
        case "cpu-reference", "cpu-ref", "reference": return .cpuReference
        case "opencl": return .opencl(.best)
        case "opencl:gpu": return .opencl(.gpu)
        case "opencl:cpu": return .opencl(.cpu)
        default:
            if text.hasPrefix("opencl:"), let n = Int(text.dropFirst(7)), n >= 0 { return .opencl(.index(n)) }
            throw UsageError("unknown device '\(text)'; use cpu-reference, opencl, opencl:N, opencl:gpu or opencl:cpu (see `icl devices`).")
        }
    }

    /// Picks the OpenCL device this choice names among those present.
    public static func pick(_ selector: Selector, from devices: [CLDeviceInfo]) throws -> CLDeviceInfo {
        switch selector {
        case .best:
            return devices.first(where: { $0.kind == .gpu }) ?? devices.first(where: { $0.kind == .accelerator })
                ?? devices[0]
        case .index(let n):
            guard n < devices.count else {
                throw UsageError("there is no OpenCL device \(n); this machine has \(devices.count) (see `icl devices`).")
            }
            return devices[n]
        case .gpu:
            guard let d = devices.first(where: { $0.kind == .gpu }) else {
                throw UsageError("no OpenCL GPU was found; use --device opencl:cpu or --device cpu-reference (see `icl devices`).")
            }
            return d
        case .cpu:
            guard let d = devices.first(where: { $0.kind == .cpu }) else {
                throw UsageError("no OpenCL CPU device was found; install pocl-opencl-icd or use --device cpu-reference.")
            }
            return d
        }
    }
}

/// A mistake in how the tool was called (exit code 2).
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Opens backends for a config on a chosen device.
public struct BackendFactory {
    public let choice: DeviceChoice
    /// `auto`, `cpu` or `gpu` kernel variant (ignored by the CPU reference).
    public let variant: String
    /// `auto`, `pattern`, `fused` or `unfused` training pipeline (OpenCL only).
    public let pipeline: String

    public init(choice: DeviceChoice, variant: String = "auto", pipeline: String = "auto") {
        self.choice = choice
        self.variant = variant
        self.pipeline = pipeline
    }

    /// The pipeline to force, or nil for the backend's choice.
    public func chosenPipeline() throws -> Pipeline? {
        if pipeline == "auto" { return nil }
        guard let p = Pipeline(rawValue: pipeline) else {
            throw UsageError("unknown pipeline '\(pipeline)'; use auto, pattern, fused or unfused.")
        }
        return p
    }

    /// The OpenCL context of this choice, or nil for the CPU reference.
    public func openContext() throws -> CLContext? {
        guard case .opencl(let selector) = choice else { return nil }
        let device = try DeviceChoice.pick(selector, from: try CLDevices.all())
        return try CLContext(device: device)
    }

    public func kernelVariant(for device: CLDeviceInfo) throws -> KernelVariant {
        guard let v = KernelVariant.parse(variant, device: device) else {
            throw UsageError("unknown kernel variant '\(variant)'; use auto, cpu or gpu.")
        }
        return v
    }

    /// A GPT-2-style model backend holding `weights` and the AdamW moments.
    public func makeGPT2(config: Config, bank: PatternBank, weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>,
                         context: CLContext? = nil) throws -> GPT2Backend {
        let backend: GPT2Backend
        if let ctx = try context ?? openContext() {
            backend = try OpenCLGPT2Backend(config: config, bank: bank, context: ctx, variant: try kernelVariant(for: ctx.device))
        } else {
            backend = GPT2CPUReferenceBackend(config: config, bank: bank)
        }
        try backend.load(weights: weights, adam: adam)
        return backend
    }

    /// A backend holding `weights` (m may be below config.m for a compacted model).
    public func make(config: Config, bank: PatternBank, weights: ModelWeights<Float>, mask: [Float],
                     context: CLContext? = nil) throws -> Backend {
        let backend: Backend
        if let ctx = try context ?? openContext() {
            let variant = try kernelVariant(for: ctx.device), pipeline = try chosenPipeline()
            if variant == .gpu && pipeline != nil && pipeline != .unfused {
                throw UsageError("the \(pipeline!.rawValue) pipeline runs the CPU kernel variant; use --variant cpu or --pipeline unfused.")
            }
            backend = try OpenCLBackend(config: config, bank: bank, context: ctx, variant: variant, m: weights.m,
                                        pipeline: pipeline)
        } else {
            backend = CPUReferenceBackend(config: config, bank: bank)
        }
        try backend.load(weights: weights, mask: mask)
        return backend
    }
}
