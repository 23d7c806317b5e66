import Foundation
import ICLCore
import ICLOpenCL

/// One row of `icl bench`: a kernel's time, or an end-to-end throughput.
public struct BenchRow: Sendable {
    public var what: String          // "kernel", "train", "infer", "ceiling"
    public var name: String
    public var pipeline: String
    public var batch: Int
    public var seconds: Double       // median per launch / per step
    public var spread: Double        // (max − min) / median over repeats
    public var flops: Double         // per launch / per step
    public var bytes: Double
    public var promptsPerSecond: Double

    public var gflops: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
    public var gbs: Double { seconds > 0 ? bytes / seconds / 1e9 : 0 }
}

/// `icl bench`: per-kernel times against the device's measured ceilings, end-to-end training and
/// inference throughput over batch sizes, and the CPU reference's rate, all in one run.
public struct Bench {
    public let context: CLContext
    public let config: Config
    public let variant: KernelVariant
    public var repeats = 5
    /// Minimum seconds per timed repeat of an end-to-end measurement.
    public var minSeconds = 0.25

    public init(context: CLContext, config: Config, variant: KernelVariant) {
        self.context = context; self.config = config; self.variant = variant
    }

    var d: Double { Double(config.d) }
    var L: Double { Double(config.attendQuery ? config.lTrain + 1 : config.lTrain) }
    var m: Double { Double(config.m) }

    /// Useful FLOPs of one prompt's training step with the restructured math (multiply-add = 2):
    /// forward v = A p_q (2d²), scores and context sum (4Ld), g = C c (2md); backward dc and dC (4md),
    /// dattn and dv (4Ld), dA (2d²).
    public var trainFlopsPerPrompt: Double { 4 * d * d + 8 * L * d + 6 * m * d }
    public var inferFlopsPerPrompt: Double { 2 * d * d + 4 * L * d + 2 * m * d }

    /// A backend at the paper's initial weights with a zero step size: the weights never move, every prompt's
    /// margin stays below 1, so every step runs the whole backward pass (the most work a step can do, and what
    /// a dense framework always does). In a real run, prompts past the margin skip it and steps get cheaper.
    func backend(batch: Int, pipeline: Pipeline) throws -> OpenCLBackend {
        var c = config
        c.batch = batch
        c.lr = 0
        let b = try OpenCLBackend(config: c, bank: PatternBank(config: c), context: context, variant: variant,
                                  pipeline: pipeline)
        try b.load(weights: ModelWeights<Float>.initial(c), mask: [Float](repeating: 1, count: c.m))
        return b
    }

    /// Repeats `body` (which runs `unitsPerCall` units) until each repeat lasts ≥ minSeconds; per-unit samples.
    func timeRepeated(unitsPerCall: Int, _ body: () throws -> Void) throws -> [Double] {
        try Timing.repeated(repeats: repeats, minSeconds: minSeconds, unitsPerCall: unitsPerCall, body)
    }

    /// Steps per timed call of the training loop: the trainer's loop runs this many or more between the points
    /// where it needs the weights (evaluations, checkpoints), each one's stats read and checked by the host.
    static let stepsPerRun = 32

    /// End-to-end training: the trainer's step loop (sample + forward + backward + update, with every step's
    /// loss and errors read back and checked; `trainSteps` keeps the device ahead of the host), `stepsPerRun`
    /// steps at a time.
    public func train(batch: Int, pipeline: Pipeline) throws -> BenchRow {
        let b = try backend(batch: batch, pipeline: pipeline)
        let n = Bench.stepsPerRun
        var step = 0
        let samples = try timeRepeated(unitsPerCall: n) {
            try b.trainSteps(step..<(step + n)) { _, stats in stats.loss.isFinite }
            step += n
        }
        let (med, spread) = Timing.summary(samples)
        return BenchRow(what: "train", name: "train step", pipeline: pipeline.rawValue, batch: batch, seconds: med,
                        spread: spread, flops: trainFlopsPerPrompt * Double(batch), bytes: 0,
                        promptsPerSecond: Double(batch) / med)
    }

    /// End-to-end inference: sample + forward + statistics for `batch` fresh prompts.
    public func infer(batch: Int, pipeline: Pipeline) throws -> BenchRow {
        let b = try backend(batch: 64, pipeline: pipeline)
        let spec = PromptSpec.evaluation(config, bank: b.bank, domain: .inDomain, length: config.lTrain)
        let samples = try timeRepeated(unitsPerCall: 1) { _ = try b.evaluate(spec, prompts: batch) }
        let (med, spread) = Timing.summary(samples)
        return BenchRow(what: "infer", name: "inference", pipeline: pipeline.rawValue, batch: batch, seconds: med,
                        spread: spread, flops: inferFlopsPerPrompt * Double(batch), bytes: 0,
                        promptsPerSecond: Double(batch) / med)
    }

    /// The CPU reference's training rate (plain Swift, one thread).
    public func cpuReference(batch: Int) throws -> BenchRow {
        var c = config
        c.batch = batch
        let b = CPUReferenceBackend(config: c, bank: PatternBank(config: c))
        var step = 0
        var r = Bench(context: context, config: c, variant: variant)
        r.repeats = 3
        r.minSeconds = 0.5
        let samples = try r.timeRepeated(unitsPerCall: 1) { _ = try b.trainStep(step: step); step += 1 }
        let (med, spread) = Timing.summary(samples)
        return BenchRow(what: "train", name: "cpu-reference train step", pipeline: "reference", batch: batch,
                        seconds: med, spread: spread, flops: trainFlopsPerPrompt * Double(batch), bytes: 0,
                        promptsPerSecond: Double(batch) / med)
    }

    /// Each kernel of both pipelines timed with device events at one batch size.
    public func kernels(batch B: Int) throws -> [BenchRow] {
        var rows: [BenchRow] = []
        let Bd = Double(B), d = self.d, L = self.L, m = self.m, f4 = 4.0
        let cols = Double(config.lTrain + 1)
        func row(_ name: String, _ pipeline: Pipeline, _ flops: Double, _ bytes: Double,
                 _ launch: () throws -> CLEvent?) throws {
            _ = try Timing.seconds(context: context, launch)
            let samples = try (0..<max(repeats, 5)).map { _ in try Timing.seconds(context: context, launch) }
            let (med, spread) = Timing.summary(samples)
            rows.append(BenchRow(what: "kernel", name: name, pipeline: pipeline.rawValue, batch: B, seconds: med,
                                 spread: spread, flops: flops, bytes: bytes, promptsPerSecond: Bd / med))
        }
        // Fused pipeline.
        let fb = try backend(batch: B, pipeline: .fused)
        if let (p, ws) = fb.fusedTrain {
            let tiles = Double(p.tileCount(B))
            let derived = Double(p.derivedCount), part = Double(p.partialCount)
            try row("fused_precompute", .fused, 2 * (d * d * d + m * d * d), f4 * (3 * d * d + m * d + derived)) {
                try p.launchPrecompute(params: fb.params, a: fb.a, ws: ws, timed: true)
            }
            try row("fused_tile (train)", .fused, trainFlopsPerPrompt * Bd, f4 * (tiles * part + derived)) {
                try p.launchTiles(fb.trainSpec, step: 0, batch: B, a: fb.a, ws: ws, train: true, timed: true)
            }
            try row("fused_tile (infer)", .fused, inferFlopsPerPrompt * Bd, f4 * tiles * derived) {
                try p.launchTiles(fb.trainSpec, step: 0, batch: B, a: fb.a, ws: ws, train: false, timed: true)
            }
            try row("fused_reduce", .fused, tiles * part, f4 * (tiles + 1) * part) {
                try p.launchReduce(ws: ws, batch: B, train: true, timed: true)
            }
            let params = 3 * d * d + m * d
            try row("fused_grads_sgd", .fused, 4 * d * d * d + 4 * m * d * d, f4 * (3 * params + part + m)) {
                try p.launchGradsSGD(old: fb.params, new: fb.spare, grads: fb.grads, mask: fb.mask, lr: 0,
                                     ws: ws, timed: true)
            }
        }
        // Pattern-space pipeline.
        let pb = try backend(batch: B, pipeline: .pattern)
        if let (p, ws) = pb.patternTrain {
            let R = Double(pb.trainSpec.basisSize), tiles = Double(p.tileCount(B)), part = Double(p.partialCount)
            let mp = Double(p.paddedNeurons)
            try row("pattern_project", .pattern, 2 * 3 * R * d * d, f4 * 3 * d * d) {
                try p.launchProject(params: pb.params, basis: pb.trainSpec, ws: ws, timed: true)
            }
            try row("pattern_tables", .pattern, 2 * (R * R * d + R * m * d), f4 * (3 * R * d + m * d)) {
                try p.launchTables(params: pb.params, a: pb.a, basis: pb.trainSpec, ws: ws, timed: true)
            }
            // Executed arithmetic per prompt: scores and coefficient sums (~12 L), g (≤ (L+2)·m·2), dc̃ dots and
            // dC̃ (≈ 2·2·R·m), dṽ and dÃ (≈ 8 L + 4 R).
            let perPrompt = 12 * L + 2 * min(R, L + 2) * mp + 4 * R * mp + 8 * L + 4 * R
            try row("pattern_tile (train)", .pattern, perPrompt * Bd, f4 * tiles * part) {
                try p.launchTiles(pb.trainSpec, step: 0, batch: B, ws: ws, train: true, timed: true)
            }
            try row("pattern_tile (infer)", .pattern, (12 * L + 2 * min(R, L + 2) * mp) * Bd, 0) {
                try p.launchTiles(pb.trainSpec, step: 0, batch: B, ws: ws, train: false, timed: true)
            }
            try row("pattern_grads_sgd", .pattern, 2 * (3 * d * m * R + 3 * d * d * R + m * d * R + 3 * R * d * d),
                    f4 * 3 * (3 * d * d + m * d)) {
                try p.launchGradsSGD(old: pb.params, new: pb.spare, grads: pb.grads, mask: pb.mask, lr: 0,
                                     basis: pb.trainSpec, ws: ws, timed: true)
            }
        }
        // Unfused pipeline: one kernel per op.
        let ub = try backend(batch: B, pipeline: .unfused)
        let ws = try ub.workspaceForTraining(), p = ub.trainProgram
        let promptBytes = f4 * Bd * cols * d
        try row("sample_prompts", .unfused, 0, promptBytes) {
            try p.launchSample(ws, ub.trainSpec, step: 0, batch: B, timed: true)
        }
        try row("attention_forward", .unfused, Bd * (4 * d * d + 4 * L * d), promptBytes + f4 * Bd * (3 * d + L)) {
            try p.launchAttentionForward(ws, params: ub.params, batch: B, timed: true)
        }
        try row("mlp_forward", .unfused, Bd * (2 * d * d + 2 * m * d), f4 * Bd * (2 * d + m + 1)) {
            try p.launchMLPForward(ws, params: ub.params, a: ub.a, batch: B, timed: true)
        }
        try row("hinge_grad", .unfused, 4 * Bd, f4 * Bd * 5) { try p.launchHinge(ws, batch: B, timed: true) }
        try row("reduce_stats", .unfused, 2 * Bd, f4 * Bd * 2) { try p.launchReduceStats(ws, batch: B, timed: true) }
        try row("mlp_backward", .unfused, Bd * (2 * m * d + 2 * d * d), f4 * Bd * (2 * m + 2 * d + 1)) {
            try p.launchMLPBackward(ws, params: ub.params, a: ub.a, batch: B, timed: true)
        }
        try row("attention_backward", .unfused, Bd * (4 * L * d + 2 * d * d), promptBytes + f4 * Bd * (3 * d + L)) {
            try p.launchAttentionBackward(ws, params: ub.params, batch: B, timed: true)
        }
        try row("weight_grads", .unfused, 2 * Bd * (3 * d * d + m * d), f4 * Bd * (7 * d + m + cols * d)) {
            try p.launchWeightGrads(ws, grads: ub.grads, batch: B, timed: true)
        }
        let params = 3 * d * d + m * d
        try row("sgd_update", .unfused, 2 * params, f4 * 3 * params) {
            try p.launchSGD(params: ub.params, grads: ub.grads, mask: ub.mask, lr: 0, timed: true)
        }
        return rows
    }
}
