import ICLCore

/// The one rule that picks a model's pipeline on a device. A new pipeline is one new `TrainingPipeline` type, a case
/// of `Pipeline`, and a line here (and in `OpenCLBackend`'s switch that builds it).
public enum PipelineRule {
    /// The one-layer model: `requested` when given and runnable, else, for the CPU variant, pattern where the prompt
    /// basis fits its tables, else dense fused where the device has its local memory, else unfused; the GPU variant
    /// runs unfused (the fused pipelines have only a CPU variant so far).
    public static func oneLayer(requested: Pipeline?, variant: KernelVariant, shape: ModelShape, spec: PromptSpec,
                                device: CLDeviceInfo) throws -> Pipeline {
        let patternFits = PatternProgram.supports(spec, shape: shape, device: device)
        let fusedFits = FusedPipeline.fits(shape, device: device)
        guard let requested else {
            return variant != .cpu ? .unfused : patternFits ? .pattern : fusedFits ? .fused : .unfused
        }
        if requested == .gpt2 {
            throw PipelineError(.wrongModel, "the gpt2 pipeline runs the GPT-2-style model; the one-layer model runs pattern, fused or unfused.")
        }
        if requested != .unfused && variant == .gpu {
            throw PipelineError(.cpuVariantOnly, "the \(requested.rawValue) pipeline has only the cpu kernel variant so far; the gpu variant runs the unfused pipeline.")
        }
        if requested == .pattern && !patternFits {
            throw PipelineError(.basisTooLarge, "the pattern pipeline needs a prompt basis of at most \(PatternProgram.maxBasis) vectors (M1 + M2 + 1, here \(spec.nRelevant + spec.nIrrelevant + 1)) and its tables in local memory; the fused and unfused pipelines have no such limit.")
        }
        return requested
    }

    /// The GPT-2-style model has one pipeline, its engine.
    public static func gpt2(requested: Pipeline?) throws -> Pipeline {
        guard requested == nil || requested == .gpt2 else {
            throw PipelineError(.wrongModel, "the \(requested!.rawValue) pipeline runs the one-layer model; the GPT-2-style model runs its own engine (pipeline gpt2).")
        }
        return .gpt2
    }
}

/// A pipeline that cannot run the requested model, variant, config or device: says which and what can run instead.
public struct PipelineError: Error, CustomStringConvertible {
    public enum Reason: Sendable {
        /// The pipeline runs the other model.
        case wrongModel
        /// The pipeline has only the CPU kernel variant.
        case cpuVariantOnly
        /// The prompt basis is too large for the pattern pipeline's tables.
        case basisTooLarge
        /// The device lacks the local memory the pipeline's kernels need.
        case localMemory
    }
    public let reason: Reason
    public let message: String
    public init(_ reason: Reason, _ message: String) { self.reason = reason; self.message = message }
    public var description: String { message }
}
