import ICLCore

/// The ways a training step can run on a device:
/// - `pattern`: the one-layer model fused, in the coordinates of the prompt basis (three launches: tables, tiles
///   whose last one sums the partials, grads + SGD; prompts never built);
/// - `fused`: the one-layer model dense fused (four launches: precompute, tiles sampling prompts in registers,
///   reduce, grads + SGD);
/// - `unfused`: the one-layer model one kernel per op, every intermediate in device memory (nine launches; what
///   the per-op cross-checks run);
/// - `gpt2`: the GPT-2-style model's engine (sample, read-in, blocks, read-out, backward, AdamW).
public enum Pipeline: String, CaseIterable, Sendable {
    case pattern, fused, unfused, gpt2

    /// The pipelines of the one-layer model.
    public static let oneLayer: [Pipeline] = [.pattern, .fused, .unfused]
}

/// What a pipeline says about itself to `bench`, `check` and the run's device line.
public struct PipelineDescription: Sendable, Equatable {
    public var pipeline: Pipeline
    public var variant: KernelVariant
    /// The target-specific code the host chose for this device (see `DevicePath`).
    public var path: DevicePath

    public init(pipeline: Pipeline, variant: KernelVariant, path: DevicePath) { (self.pipeline, self.variant, self.path) = (pipeline, variant, path) }

    /// E.g. "cpu kernels, pattern pipeline, avx512 path".
    public var summary: String {
        "\(variant.rawValue) kernels, \(pipeline.rawValue) pipeline, \(path.rawValue) path"
    }
}

/// One kernel of a pipeline as `icl bench` times it: its name, the useful work of one launch, and the launch.
public struct BenchKernel {
    public var name: String
    /// Useful floating-point operations and bytes moved per launch (model counts, not executed instructions).
    public var flops: Double
    public var bytes: Double
    /// Enqueues one timed launch and returns its event (nil when the device has no event timers).
    public var launch: () throws -> CLEvent?
}

/// One way of running a training step on an OpenCL device: it owns its programs and workspaces, and reads and
/// writes the weights through the state the backend owns (the one-layer model's `OneLayerDeviceState`, the
/// GPT-2-style model's `GPT2DeviceState`), which it was given when it was built. `OpenCLBackend` drives every
/// pipeline through this protocol alone: the pipelined step loop, the statistics ring and evaluation.
public protocol TrainingPipeline: AnyObject {
    var description: PipelineDescription { get }
    /// Steps whose (loss, errors) can wait on the device in separate slots of the statistics buffer (≥ 1).
    var statsSlots: Int { get }
    /// Enqueues one whole training step (nothing waits); returns the buffer whose slot `statsSlot` (floats
    /// 2·statsSlot and 2·statsSlot + 1) receives the batch's (mean loss, errors), computed before the update.
    func enqueueTrainStep(step: Int, statsSlot: Int) throws -> CLBuffer<Float>
    /// Mean loss and errors of the resident model on prompts 0..<count of `spec` (drawn at step 0).
    func evaluate(_ spec: SpecBuffers, prompts count: Int) throws -> BatchStats
    /// The weights were replaced from outside a training step (drop anything derived from the old ones).
    func weightsReplaced()
    /// The pipeline's kernels at its training batch, for `icl bench`.
    func benchKernels() throws -> [BenchKernel]
    /// The prompts and labels of `step` as the pipeline's own sampler draws them, where that sampler lives inside a
    /// fused kernel (for the sampler cross-check); nil where prompts come from the shared `sample_prompts`.
    func sampledPrompts(step: Int) throws -> PromptBatch?
}

extension TrainingPipeline {
    public func sampledPrompts(step: Int) throws -> PromptBatch? { nil }
}
