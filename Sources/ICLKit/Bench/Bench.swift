import Foundation
import ICLCore
import ICLOpenCL

/// One row of `icl bench`: a kernel's time, or an end-to-end throughput.
public struct BenchRow: Sendable {
    /// The kind of row: one kernel's launch, a training step, or a batch of inference.
    public enum What: String, Sendable { case kernel, train, infer }
    /// Whether the row times a kernel, training or inference.
    public var what: What
    /// The kernel's name, or "train step", "inference" or "cpu-reference train step".
    public var name: String
    /// The pipeline's name, or "reference" for the CPU reference.
    public var pipeline: String
    /// Prompts per launch or step (B).
    public var batch: Int
    /// Median seconds per launch (kernel) or per prompt-batch (train: per step; infer: per `batch` prompts).
    public var seconds: Double
    /// (max − min) / median over the repeats.
    public var spread: Double
    /// Useful FLOPs and bytes per launch or per step (0 where the model has no FLOP count).
    public var flops: Double
    /// Bytes moved per launch or per step (0 where the model has no byte count).
    public var bytes: Double
    /// Prompts processed per second (end-to-end rows).
    public var promptsPerSecond: Double
    /// Kernel launches per training step, counted by the context over the steps after the warm-up (train rows of a
    /// device pipeline).
    public var launchesPerStep: Double?

    /// Achieved GFLOP/s: `flops / seconds / 1e9` (0 when `seconds` is 0).
    public var gflops: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
    /// Achieved GB/s: `bytes / seconds / 1e9` (0 when `seconds` is 0).
    public var gbs: Double { seconds > 0 ? bytes / seconds / 1e9 : 0 }
}

/// What `icl bench` measures, and how hard.
public struct BenchOptions: Sendable {
    /// End-to-end batch sizes.
    public var batches: [Int]
    /// The batch of the per-kernel rows (0: none).
    public var kernelBatch: Int
    /// Pipelines to measure (nil: every pipeline the model and variant can run).
    public var pipelines: [Pipeline]?
    /// Pruning rates whose compacted models' inference is timed (one-layer model).
    public var pruneRates: [Double]
    /// Whether to time the CPU reference too.
    public var reference: Bool
    /// Fewer and shorter repeats.
    public var quick: Bool

    /// The defaults for a model: B ∈ {64, 1024, 16384} and kernels at 1024 for the one-layer model; B ∈ {64, 256}
    /// and kernels at 64 for the GPT-2-style one.
    public init(model: ModelKind) {
        let gpt2 = model == .gpt2
        batches = gpt2 ? [64, 256] : [64, 1024, 16384]
        kernelBatch = gpt2 ? 64 : 1024
        pipelines = nil
        pruneRates = gpt2 ? [] : [0, 0.2, 0.4]
        reference = true
        quick = false
    }
}

/// Everything one `icl bench` run measured, in one run on one device.
public struct BenchReport: Sendable {
    /// The device the run measured.
    public var device: DeviceEntry
    /// The kernel variant the run used.
    public var variant: KernelVariant
    /// The pipelines measured, with the device path each ran.
    public var pipelines: [PipelineDescription]
    /// The device's measured peak FMA rate and copy bandwidth.
    public var ceilings: Ceilings
    /// Training FLOPs per prompt (0 for the GPT-2-style model, which has no FLOP count).
    public var trainFlopsPerPrompt: Double
    /// Inference FLOPs per prompt (0 for the GPT-2-style model, which has no FLOP count).
    public var inferFlopsPerPrompt: Double
    /// Per-kernel rows at `options.kernelBatch`.
    public var kernels: [BenchRow]
    /// Training then inference rows for every batch and pipeline, then the CPU reference's training row.
    public var endToEnd: [BenchRow]
    /// Inference of compacted (pruned) models at the largest batch: (rate, neurons left, row).
    public var pruned: [(rate: Double, m: Int, row: BenchRow)]
    /// Timed repeats per measurement.
    public var repeats: Int

    /// The latency floor of a training row: launches per step × the empty kernel's launch latency, as a fraction of
    /// the row's seconds per step. With the host round trip (`ceilings.launchLatencyUs`, the default) it is what the
    /// launches cost if each waited for the one before; `backToBack` uses `ceilings.launchIssueUs`, what they cost
    /// enqueued in a row (the step loop's case). Near or above 1, the step is bound by launches, not by FLOPs or
    /// bytes. Nil for rows without a launch count.
    public func latencyFloor(_ row: BenchRow, backToBack: Bool = false) -> Double? {
        guard let launches = row.launchesPerStep, row.seconds > 0 else { return nil }
        return launches * (backToBack ? ceilings.launchIssueUs : ceilings.launchLatencyUs) * 1e-6 / row.seconds
    }
}

/// `icl bench`: per-kernel times against the device's measured ceilings, end-to-end training and inference throughput
/// over batch sizes, the CPU reference's rate and pruned models' inference, all in one run, for either model. Every
/// pipeline is measured through `TrainingPipeline` and `OpenCLBackend`, as training runs it.
public struct Bench {
    let context: CLContext
    /// The model configuration being measured.
    public let config: Config
    /// The kernel variant resolved for the device.
    public let variant: KernelVariant
    /// Timed repeats per measurement (3 with `quick`).
    public var repeats = 5
    /// Minimum seconds per timed repeat of an end-to-end measurement.
    public var minSeconds = 0.25

    /// A bench of `config` on `device`, with `variant` resolved against the device.
    public init(device: DeviceContext, config: Config, variant: VariantChoice) {
        context = device.context
        self.config = config
        self.variant = variant.resolve(for: device.context.device)
    }

    var flops: ModelFlops? { Bench.flops(config) }

    /// The model FLOP counts of a one-layer config (nil for the GPT-2-style model, which has none).
    static func flops(_ c: Config) -> ModelFlops? {
        c.isGPT2 ? nil : ModelFlops(ModelShape(dX: c.dX, dY: c.dY, length: c.lTrain, m: c.m, attendQuery: c.attendQuery))
    }

    /// The pipelines of the model (every one-layer pipeline has both kernel variants).
    public var runnablePipelines: [Pipeline] {
        config.isGPT2 ? [.gpt2] : Pipeline.oneLayer
    }

    /// A device model at the initial weights. The one-layer model gets a zero step size: the weights never move,
    /// every prompt's margin stays below 1, so every step runs the whole backward pass (the most work a step can do,
    /// and what a dense framework always does); in a real run, prompts past the margin skip it.
    func runner(batch: Int, pipeline: Pipeline, config base: Config? = nil) throws -> (runner: ModelRunner, pipeline: TrainingPipeline) {
        var c = base ?? config
        c.batch = batch
        let bank = PatternBank(config: c)
        if c.isGPT2 {
            let b = try OpenCLBackend<GPT2DeviceState>.gpt2(config: c, bank: bank, context: context, variant: variant,
                                                            pipeline: pipeline)
            return (b, b.pipeline)
        }
        c.lr = 0
        let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: c, bank: bank, context: context, variant: variant,
                                                                pipeline: pipeline)
        return (b, b.pipeline)
    }

    /// Repeats `body` (which runs `unitsPerCall` units) until each repeat lasts ≥ minSeconds; per-unit samples.
    func timeRepeated(unitsPerCall: Int, _ body: () throws -> Void) throws -> [Double] {
        try Timing.repeated(repeats: repeats, minSeconds: minSeconds, unitsPerCall: unitsPerCall, body)
    }

    /// Steps per timed call of the training loop: the trainer's loop runs this many or more between the points
    /// where it needs the weights (evaluations, checkpoints), each one's stats read and checked by the host.
    static let stepsPerRun = 32

    /// End-to-end training: the trainer's step loop (sample + forward + backward + update, with every step's loss and
    /// errors read back and checked; `trainSteps` keeps the device ahead of the host), `stepsPerRun` steps at a time.
    public func train(batch: Int, pipeline: Pipeline) throws -> BenchRow {
        let (b, p) = try runner(batch: batch, pipeline: pipeline)
        let n = Bench.stepsPerRun
        var step = 0
        // Launches are counted from the end of the warm-up call, so one-time work (the pattern pipeline projects the
        // loaded weights once) is not spread over the steps: the steady state's launches per step.
        var warm: (launches: Int, step: Int)? = nil
        let samples = try timeRepeated(unitsPerCall: n) {
            try b.trainSteps(step..<(step + n)) { _, stats in stats.loss.isFinite }
            step += n
            if warm == nil { warm = (context.launchCount, step) }
        }
        let counted = step - (warm?.step ?? 0)
        let launches = counted > 0 ? Double(context.launchCount - (warm?.launches ?? 0)) / Double(counted) : nil
        let (med, spread) = Timing.summary(samples)
        return BenchRow(what: .train, name: "train step", pipeline: p.description.pipeline.rawValue, batch: batch,
                        seconds: med, spread: spread, flops: (flops?.trainPerPrompt ?? 0) * Double(batch), bytes: 0,
                        promptsPerSecond: Double(batch) / med, launchesPerStep: launches)
    }

    /// End-to-end inference: sample + forward + statistics for `batch` fresh prompts.
    public func infer(batch: Int, pipeline: Pipeline, config base: Config? = nil) throws -> BenchRow {
        let c = base ?? config
        let (b, p) = try runner(batch: 64, pipeline: pipeline, config: c)
        let spec = PromptSpec.evaluation(c, bank: PatternBank(config: c), domain: .inDomain, length: c.lTrain)
        let samples = try timeRepeated(unitsPerCall: 1) { _ = try b.evaluate(spec, prompts: batch) }
        let (med, spread) = Timing.summary(samples)
        return BenchRow(what: .infer, name: "inference", pipeline: p.description.pipeline.rawValue, batch: batch,
                        seconds: med, spread: spread, flops: (Bench.flops(c)?.inferPerPrompt ?? 0) * Double(batch), bytes: 0,
                        promptsPerSecond: Double(batch) / med)
    }

    /// The CPU reference's training rate (plain Swift, one thread): B = 64 for the one-layer model, 8 for GPT-2.
    public func cpuReference() throws -> BenchRow {
        var c = config
        c.batch = config.isGPT2 ? 8 : 64
        let bank = PatternBank(config: c)
        let b: ModelRunner = c.isGPT2 ? GPT2CPUReferenceBackend(config: c, bank: bank) : CPUReferenceBackend(config: c, bank: bank)
        var step = 0
        let samples = try Timing.repeated(repeats: 3, minSeconds: 0.5, unitsPerCall: 1) {
            _ = try b.trainStep(step: step)
            step += 1
        }
        let (med, spread) = Timing.summary(samples)
        return BenchRow(what: .train, name: "cpu-reference train step", pipeline: "reference", batch: c.batch,
                        seconds: med, spread: spread, flops: (flops?.trainPerPrompt ?? 0) * Double(c.batch), bytes: 0,
                        promptsPerSecond: Double(c.batch) / med)
    }

    /// Each kernel of `pipeline`, timed with device events, at batch B.
    public func kernels(batch B: Int, pipeline: Pipeline) throws -> [BenchRow] {
        let (_, p) = try runner(batch: B, pipeline: pipeline)
        return try p.benchKernels().map { k in
            _ = try Timing.seconds(context: context, k.launch)
            let samples = try (0..<max(repeats, 5)).map { _ in try Timing.seconds(context: context, k.launch) }
            let (med, spread) = Timing.summary(samples)
            return BenchRow(what: .kernel, name: k.name, pipeline: pipeline.rawValue, batch: B, seconds: med, spread: spread,
                            flops: k.flops, bytes: k.bytes, promptsPerSecond: Double(B) / med)
        }
    }

    /// The whole run: ceilings, kernels, end-to-end rows, the CPU reference and pruned models. Every pipeline in
    /// `options.pipelines` is checked against the rule before anything is measured. `progress(done, total, what)` is
    /// called before each measurement and once at the end (done = total).
    public func run(_ options: BenchOptions, progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> BenchReport {
        var bench = self
        if options.quick { bench.repeats = 3; bench.minSeconds = 0.1 }
        let pipelines = options.pipelines ?? runnablePipelines
        // At the first end-to-end batch: the same programs as that measurement's, so the check builds nothing extra.
        let descriptions = try pipelines.map {
            try bench.runner(batch: options.batches.first ?? 64, pipeline: $0).pipeline.description
        }
        let total = 1 + (options.kernelBatch > 0 ? pipelines.count : 0) + 2 * options.batches.count * pipelines.count
            + (options.reference ? 1 : 0) + (config.isGPT2 ? 0 : options.pruneRates.count)
        var done = 0
        func step(_ what: String) { progress(done, total, what); done += 1 }
        step("ceilings")
        let ceilings = try Ceilings.measure(context: context, repeats: options.quick ? 2 : 5)
        var kernels: [BenchRow] = []
        if options.kernelBatch > 0 {
            for p in pipelines {
                step("\(p.rawValue) kernels at B = \(options.kernelBatch)")
                kernels += try bench.kernels(batch: options.kernelBatch, pipeline: p)
            }
        }
        var rows: [BenchRow] = []
        for what in [BenchRow.What.train, .infer] {
            for B in options.batches {
                for p in pipelines {
                    step("\(what.rawValue) \(p.rawValue) B = \(B)")
                    rows.append(what == .train ? try bench.train(batch: B, pipeline: p) : try bench.infer(batch: B, pipeline: p))
                }
            }
        }
        if options.reference { step("CPU reference"); rows.append(try bench.cpuReference()) }
        // Pruned models run on smaller kernels: inference at the largest batch for m − ⌊R·m⌋ neurons.
        var pruned: [(rate: Double, m: Int, row: BenchRow)] = []
        if !config.isGPT2 {
            let batch = options.batches.max() ?? 16384
            for r in options.pruneRates {
                step("pruned model, rate \(r)")
                var c = config
                c.m = config.m - Int((r * Double(config.m)).rounded(.down))
                pruned.append((r, c.m, try bench.infer(batch: batch, pipeline: pipelines[0], config: c)))
            }
        }
        progress(total, total, "done")
        let f = flops
        return BenchReport(device: DeviceEntry(context.device, path: try? DevicePath.best(for: context)), variant: variant,
                           pipelines: descriptions, ceilings: ceilings, trainFlopsPerPrompt: f?.trainPerPrompt ?? 0,
                           inferFlopsPerPrompt: f?.inferPerPrompt ?? 0, kernels: kernels, endToEnd: rows, pruned: pruned,
                           repeats: bench.repeats)
    }
}
