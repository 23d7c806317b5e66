import ICLCore

/// The one rule that picks a model's pipeline on a device. A new pipeline is one new `TrainingPipeline` type, a case
/// of `Pipeline`, and a line here (and in `OpenCLBackend`'s switch that builds it).
public enum PipelineRule {
    /// The one-layer model: `requested` when given and runnable, else the fastest that fits: pattern where the prompt
    /// basis fits its tables and the device the tile kernel's local memory, else dense fused where the device has its
    /// local memory, else unfused. The same order for both kernel variants. A requested pipeline that cannot run
    /// throws its one-sentence refusal, before anything is built or launched.
    public static func oneLayer(requested: Pipeline?, variant: KernelVariant, shape: ModelShape, spec: PromptSpec,
                                device: CLDeviceInfo) throws -> Pipeline {
        guard let requested else {
            return [Pipeline.pattern, .fused].first {
                (try? check($0, variant: variant, shape: shape, spec: spec, device: device)) != nil
            } ?? .unfused
        }
        if requested == .gpt2 {
            throw PipelineError(.wrongModel, "the gpt2 pipeline runs the GPT-2-style model; the one-layer model runs pattern, fused or unfused.")
        }
        try check(requested, variant: variant, shape: shape, spec: spec, device: device)
        return requested
    }

    /// Throws the refusal of a one-layer pipeline that cannot run this shape and spec on the device.
    static func check(_ pipeline: Pipeline, variant: KernelVariant, shape: ModelShape, spec: PromptSpec,
                      device: CLDeviceInfo) throws {
        switch pipeline {
        case .pattern: _ = try PatternProgram.tileKernel(variant, spec: spec, shape: shape, batch: 1, cpuTile: 1, device: device)
        case .fused: _ = try FusedProgram.tileKernel(variant, shape: shape, batch: 1, cpuTile: 1, device: device)
        case .unfused, .gpt2: break
        }
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
        /// The compiled kernel takes smaller work-groups than the pipeline needs.
        case workGroupSize
        /// The prompt basis is too large for the pattern pipeline's tables.
        case basisTooLarge
        /// The device lacks the local memory the GPT-2 engine's attention needs.
        case localMemory
        /// The device lacks the local memory a one-layer tile kernel of this variant needs.
        case tileLocalMemory
    }
    public let reason: Reason
    public let message: String
    public init(_ reason: Reason, _ message: String) { self.reason = reason; self.message = message }
    public var description: String { message }
}
