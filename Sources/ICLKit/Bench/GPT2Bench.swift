import Foundation
import ICLCore
import ICLOpenCL

/// `icl bench --model gpt2`: the GPT-2-style model's matmul kernels (GFLOP/s against the measured
/// ceiling) and its end-to-end training and inference rates (prompts/s and tokens/s).
public struct GPT2Bench {
    public let context: CLContext
    public let config: Config
    public let variant: KernelVariant
    public var repeats = 5
    /// Each timed repeat runs at least this long (several calls when one is shorter).
    public var minSeconds = 0.25

    public init(context: CLContext, config: Config, variant: KernelVariant) {
        self.context = context; self.config = config; self.variant = variant
    }

    public struct MatmulRow {
        public var name: String
        public var rows: Int, inputs: Int, outputs: Int
        public var timing: GPT2Program.MatmulTiming
    }

    /// The model's four matmul shapes at `batch` prompts (rows = batch · (l + 1) tokens).
    public func matmuls(batch: Int) throws -> [MatmulRow] {
        let s = config.gpt2Shape, rows = batch * (config.lTrain + 1)
        let engine = try GPT2Engine(context: context, shape: s, variant: variant, capacity: 1)
        return try [("attn.qkv", s.width, 3 * s.width), ("attn.proj", s.width, s.width),
                    ("mlp.fc", s.width, s.mlpWidth), ("mlp.fc2", s.mlpWidth, s.width)].map { name, i, o in
            MatmulRow(name: name, rows: rows, inputs: i, outputs: o,
                      timing: try engine.program.benchMatmul(rows: rows, inputs: i, outputs: o, repeats: repeats))
        }
    }

    /// Median prompts/s (and relative spread) of `body`, which runs `prompts` prompts per call.
    func rate(prompts: Int, _ body: () throws -> Void) throws -> (perSecond: Double, spread: Double) {
        let seconds = try Timing.repeated(repeats: repeats, minSeconds: minSeconds, unitsPerCall: prompts, body)
        let s = Timing.summary(seconds.map { 1 / $0 })
        return (s.median, s.spread)
    }

    /// Training prompts/s at `batch` (sample + forward + backward + AdamW, 4 steps per repeat).
    public func train(batch: Int) throws -> (perSecond: Double, spread: Double) {
        var c = config
        c.batch = batch
        let backend = try OpenCLGPT2Backend(config: c, bank: PatternBank(config: c), context: context, variant: variant)
        var step = 0
        return try rate(prompts: 4 * batch) {
            for _ in 0..<4 { _ = try backend.trainStep(step: step); step += 1 }
        }
    }

    /// Inference prompts/s on `count` prompts.
    public func infer(prompts count: Int) throws -> (perSecond: Double, spread: Double) {
        let backend = try OpenCLGPT2Backend(config: config, bank: PatternBank(config: config), context: context, variant: variant)
        let spec = PromptSpec.evaluation(config, bank: PatternBank(config: config), domain: .inDomain)
        return try rate(prompts: count) { _ = try backend.evaluate(spec, prompts: count) }
    }

    /// The CPU reference's training prompts/s at `batch`.
    public func cpuReference(batch: Int) throws -> Double {
        var c = config
        c.batch = batch
        let backend = GPT2CPUReferenceBackend(config: c, bank: PatternBank(config: c))
        let t0 = monotonicNanoseconds()
        for step in 0..<2 { _ = try backend.trainStep(step: step) }
        return Double(2 * batch) / (Double(monotonicNanoseconds() - t0) / 1e9)
    }
}
