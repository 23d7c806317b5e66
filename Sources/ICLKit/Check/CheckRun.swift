import ICLCore
import ICLOpenCL

/// One result of `icl check`: a check case's tensor comparisons, or a training run's agreement with the CPU reference.
public struct CheckItem: Sendable {
    /// The model checked.
    public var model: ModelKind
    /// The kernel variant checked.
    public var variant: KernelVariant
    /// The pipeline and device path of a whole-step or training check; nil for the per-op kernel checks.
    public var pipeline: PipelineDescription?
    /// The check case's or training run's name.
    public var caseName: String
    /// Per-tensor comparisons (empty for a training agreement).
    public var comparisons: [TensorComparison]
    /// A training agreement: the worst relative loss gap over the steps, and its bound.
    public var agreement: (steps: Int, worst: Double, bound: Double)?

    /// True when every comparison passed, or the training agreement's worst gap is within its bound.
    public var passed: Bool {
        if let a = agreement { return a.worst <= a.bound }
        return comparisons.allSatisfy(\.passed)
    }
}

/// Which kernel variants `icl check` runs: both, the device's own (`auto`), or one.
public enum CheckVariants: Sendable {
    case both, auto, only(KernelVariant)
}

/// How much `icl check` runs: the paper's and awkward sizes with 20 training steps, or (`quick`) small awkward sizes
/// with 5, every kernel, pipeline, variant and path all the same; quick is what a simulator or a slow device can run.
public enum CheckSize: Sendable {
    case full, quick

    /// The one-layer cases.
    public var cases: [CheckCase] { self == .full ? CheckCase.standard : CheckCase.quick }
    /// The GPT-2-style model's whole-step cases.
    public var gpt2Cases: [GPT2CrossCheck.Case] {
        self == .full ? GPT2CrossCheck.cases : GPT2CrossCheck.cases.filter { $0.shape.width < 64 }
    }
    /// Training steps compared with the reference.
    public var steps: Int { self == .full ? 20 : 5 }
    /// The one-layer training agreement's config.
    public var trainingConfig: Config {
        var c = self == .full ? Config() : CheckCase.quick[0].config
        c.batch = self == .full ? 64 : 16
        c.xi = 0.3
        return c
    }
}

/// `icl check`: every kernel of a model against the CPU reference on an OpenCL device, at the paper's and awkward
/// sizes; every pipeline over whole steps (each device path the device can run); and 20 training steps of each
/// pipeline against the reference's losses.
public enum CheckRun {
    /// The largest relative loss gap over 20 training steps that passes.
    public static let agreementBound = 1e-3

    /// Runs the checks, handing each result to `report` as it comes; returns how many failed.
    public static func run(device: DeviceContext, model: ModelKind, variants choice: CheckVariants, size: CheckSize = .full,
                           report: (CheckItem) throws -> Void) throws -> Int {
        let context = device.context
        let variants: [KernelVariant]
        switch choice {
        case .both: variants = [.cpu, .gpu]
        case .auto: variants = [KernelVariant.forDevice(context.device)]
        case .only(let v): variants = [v]
        }
        var failures = 0
        func emit(_ item: CheckItem) throws {
            if !item.passed { failures += 1 }
            try report(item)
        }
        if model == .gpt2 {
            for variant in variants {
                for c in size.gpt2Cases {
                    try emit(CheckItem(model: .gpt2, variant: variant, pipeline: nil, caseName: c.name,
                                       comparisons: try GPT2CrossCheck.wholeStep(context: context, variant: variant, c)))
                }
                let worst = try GPT2CrossCheck.trainingAgreement(context: context, variant: variant, steps: size.steps,
                                                                 small: size == .quick)
                try emit(CheckItem(model: .gpt2, variant: variant,
                                   pipeline: PipelineDescription(pipeline: .gpt2, variant: variant, path: .portable),
                                   caseName: "train \(size.steps) steps B=\(size == .quick ? 4 : 8)", comparisons: [],
                                   agreement: (size.steps, worst, agreementBound)))
            }
            return failures
        }
        let paths = try DevicePath.supported(for: context)
        for variant in variants {
            for c in size.cases {
                let r = try CrossCheck.run(context: context, variant: variant, check: c)
                try emit(CheckItem(model: .onelayer, variant: variant, pipeline: nil, caseName: c.name,
                                   comparisons: r.comparisons))
            }
            for pipeline in Pipeline.oneLayer.reversed() {
                for path in pipeline == .pattern && variant == .cpu ? paths : [.portable] {
                    let cfg = size.trainingConfig
                    let pairs = try CrossCheck.trainingAgreement(context: context, variant: variant, config: cfg,
                                                                 steps: size.steps, pipeline: pipeline, path: path)
                    let worst = pairs.map { Double(abs($0.device - $0.reference)) / max(Double(abs($0.reference)), 1e-12) }
                        .max() ?? 0
                    try emit(CheckItem(model: .onelayer, variant: variant,
                                       pipeline: PipelineDescription(pipeline: pipeline, variant: variant,
                                                                     path: pipeline == .pattern ? path : .portable),
                                       caseName: "train \(size.steps) steps B=\(cfg.batch)", comparisons: [],
                                       agreement: (size.steps, worst, agreementBound)))
                }
            }
            // The fused pipelines over whole steps, at every check size, on every path of the variant.
            for pipeline in [Pipeline.fused, .pattern] {
                for path in pipeline == .pattern && variant == .cpu ? paths : [.portable] {
                    for c in size.cases {
                        let r = try CrossCheck.runPipeline(context: context, check: c, pipeline: pipeline, variant: variant,
                                                           path: path)
                        try emit(CheckItem(model: .onelayer, variant: variant, pipeline: r.pipeline, caseName: c.name,
                                           comparisons: r.comparisons))
                    }
                }
            }
        }
        return failures
    }

    /// `icl check --dump FILE`: one batch through the unfused kernels of `variant`, written as safetensors.
    public static func dump(device: DeviceContext, path: String, variant: KernelVariant) throws {
        try CheckDump.write(path: path, context: device.context, variant: variant)
    }
}
