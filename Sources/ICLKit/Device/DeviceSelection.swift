import ICLCore
import ICLOpenCL

/// The kernel shape a device runs (`cpu`: a work-item per prompt; `gpu`: a work-group per prompt).
public typealias KernelVariant = ICLOpenCL.KernelVariant
/// A way of running a training step (`pattern`, `fused`, `unfused` for the one-layer model; `gpt2`).
public typealias Pipeline = ICLOpenCL.Pipeline
/// The target-specific kernel code the host chose for a device (`avx512`, `portable`).
public typealias DevicePath = ICLOpenCL.DevicePath
/// A pipeline's name, variant and device path.
public typealias PipelineDescription = ICLOpenCL.PipelineDescription
/// Why a pipeline cannot run a model, variant or config.
public typealias PipelineError = ICLOpenCL.PipelineError

/// Which model: the paper's one-layer transformer, or the GPT-2-style one (PAPER.md §6).
public enum ModelKind: String, CaseIterable, Sendable {
    case onelayer, gpt2

    /// The model a config describes (its `model` field).
    public init(_ config: Config) { self = config.isGPT2 ? .gpt2 : .onelayer }
}

/// Where to run: the CPU reference, or an OpenCL device: the best one (a GPU if any), the N-th of `DeviceList.all()`,
/// the first GPU or the first CPU.
public enum DeviceChoice: Equatable, Sendable {
    case cpuReference
    case opencl(Selector)

    /// Which OpenCL device: the best (a GPU, else an accelerator, else the first), the N-th listed, the first GPU or the first CPU.
    public enum Selector: Equatable, Sendable { case best, index(Int), gpu, cpu }

    /// Parses `cpu-reference`, `opencl`, `opencl:N`, `opencl:gpu` or `opencl:cpu`; nil for anything else.
    public init?(name text: String) {
        switch text {
        case "cpu-reference", "cpu-ref", "reference": self = .cpuReference
        case "opencl": self = .opencl(.best)
        case "opencl:gpu": self = .opencl(.gpu)
        case "opencl:cpu": self = .opencl(.cpu)
        default:
            guard text.hasPrefix("opencl:"), let n = Int(text.dropFirst(7)), n >= 0 else { return nil }
            self = .opencl(.index(n))
        }
    }

    /// Picks the OpenCL device this choice names among those present.
    static func pick(_ selector: Selector, from devices: [CLDeviceInfo]) throws -> CLDeviceInfo {
        switch selector {
        case .best:
            return devices.first(where: { $0.kind == .gpu }) ?? devices.first(where: { $0.kind == .accelerator })
                ?? devices[0]
        case .index(let n):
            guard n < devices.count else {
                throw UsageError("there is no OpenCL device \(n); this machine has \(devices.count).", remedy: .listDevices)
            }
            return devices[n]
        case .gpu:
            guard let d = devices.first(where: { $0.kind == .gpu }) else {
                throw UsageError("no OpenCL GPU was found.", remedy: .otherDevice)
            }
            return d
        case .cpu:
            guard let d = devices.first(where: { $0.kind == .cpu }) else {
                throw UsageError("no OpenCL CPU device was found; installing pocl-opencl-icd gives one.", remedy: .cpuReference)
            }
            return d
        }
    }
}

/// The kernel variant to run: by device type (`auto`: GPUs and accelerators `gpu`, the rest `cpu`), or forced.
public enum VariantChoice: String, CaseIterable, Sendable {
    case auto, cpu, gpu

    /// The kernel variant for `device`: by its type for `auto`, else the forced one.
    public func resolve(for device: CLDeviceInfo) -> KernelVariant {
        switch self {
        case .auto: return KernelVariant.forDevice(device)
        case .cpu: return .cpu
        case .gpu: return .gpu
        }
    }
}

/// Opens backends for a config on a chosen device.
public struct BackendFactory {
    /// The CPU reference or the OpenCL device to open.
    public let choice: DeviceChoice
    /// The kernel variant to run, resolved per device.
    public let variant: VariantChoice
    /// The pipeline to run, or nil for the rule's choice (`PipelineRule`).
    public let pipeline: Pipeline?

    /// A factory for `choice`, with the variant by device type and the pipeline by rule unless given.
    public init(choice: DeviceChoice, variant: VariantChoice = .auto, pipeline: Pipeline? = nil) {
        self.choice = choice
        self.variant = variant
        self.pipeline = pipeline
    }

    /// The OpenCL context of this choice, or nil for the CPU reference.
    public func openContext() throws -> DeviceContext? {
        guard case .opencl(let selector) = choice else { return nil }
        let device = try DeviceChoice.pick(selector, from: try DeviceList.devices())
        return DeviceContext(try CLContext(device: device))
    }

    /// A GPT-2-style model backend holding `weights` and the AdamW moments.
    public func makeGPT2(config: Config, bank: PatternBank, weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>,
                         context: DeviceContext? = nil) throws -> GPT2Backend {
        let backend: GPT2Backend
        if let ctx = try context ?? openContext() {
            backend = try OpenCLBackend<GPT2DeviceState>.gpt2(config: config, bank: bank, context: ctx.context,
                                                              variant: variant.resolve(for: ctx.context.device),
                                                              pipeline: pipeline)
        } else {
            backend = GPT2CPUReferenceBackend(config: config, bank: bank)
        }
        try backend.load(weights: weights, adam: adam)
        return backend
    }

    /// A backend holding `weights` (m may be below config.m for a compacted model).
    public func make(config: Config, bank: PatternBank, weights: ModelWeights<Float>, mask: [Float],
                     context: DeviceContext? = nil) throws -> Backend {
        let backend: Backend
        if let ctx = try context ?? openContext() {
            backend = try OpenCLBackend<OneLayerDeviceState>.oneLayer(
                config: config, bank: bank, context: ctx.context, variant: variant.resolve(for: ctx.context.device),
                m: weights.m, pipeline: pipeline)
        } else {
            backend = CPUReferenceBackend(config: config, bank: bank)
        }
        try backend.load(weights: weights, mask: mask)
        return backend
    }
}

/// An opened OpenCL device (its context and queue), to share between the backends of one process.
public final class DeviceContext {
    let context: CLContext
    init(_ context: CLContext) { self.context = context }

    /// The device as `DeviceList` describes it.
    public var device: DeviceEntry { DeviceEntry(context.device, path: try? DevicePath.best(for: context)) }
}
