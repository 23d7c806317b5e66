import Foundation
import ICLCore
import ICLKit

/// A trained model of a reproduction: its checkpoint and the metrics it logged (probes, evaluations).
public struct TrainedModel {
    public var config: Config
    public var saved: AnyCheckpoint
    public var metricsPath: String

    /// The one-layer model's checkpoint (the recipes that prune it or read its neurons run on that model only).
    public var checkpoint: Checkpoint {
        guard case .oneLayer(let c) = saved else { preconditionFailure("a one-layer recipe was given the GPT-2-style model") }
        return c
    }

    /// Every metrics.jsonl record that has `field` (e.g. "probe" or "eval").
    public func records(with field: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o[field] != nil else { return nil }
            return o
        }
    }
}

/// What the recipes share: the base config, the size, the device, and trained models cached under
/// `<out>/models/` (a model several recipes need is trained once per process and reused from disk by
/// later runs, including an interrupted run's partial training, which resumes).
public final class ReproduceLab {
    public let size: ReproduceSize
    public let base: Config
    public let factory: BackendFactory
    public let outDir: String
    let log: (String) -> Void
    private var models: [String: TrainedModel] = [:]
    /// The lab's one device (nil for the CPU reference), opened on first use.
    private lazy var context = OpenedOnce<DeviceContext?>(factory.openContext)

    public init(size: ReproduceSize, base: Config, factory: BackendFactory, outDir: String,
                log: @escaping (String) -> Void) {
        self.size = size; self.base = base; self.factory = factory; self.outDir = outDir; self.log = log
    }

    /// The base config of one seed: the paper's defaults (plus the user's --set), with this seed, probes at
    /// the size's cadence and evaluations only at the end.
    public func config(seed: Int, model: String = "onelayer") -> Config {
        var c = base
        c.seed = UInt64(seed)
        c.model = model
        c.probeEvery = size.probeEvery
        if c.isGPT2 {
            c.steps = size.gpt2Steps
            c.batch = size.gpt2Batch
            c.probeEvery = size.gpt2ProbeEvery
        }
        c.evalEvery = 0
        c.checkpointEvery = 0
        c.evalPrompts = size.evalPrompts
        return c
    }

    /// The model `config` trains to, from the cache or trained now.
    public func model(_ config: Config) throws -> TrainedModel {
        let key = config.jsonString()
        if let m = models[key] { return m }
        let folder = outDir + "/models/seed\(config.seed)-" + String(FNV1a.hash64(key), radix: 16)
        let req0 = TrainRequest(config: config, outDir: folder, resume: false, factory: factory, showProgress: false)
        var done = false
        if FileManager.default.fileExists(atPath: req0.checkpointPath) {
            let ckpt = try AnyCheckpoint.read(path: req0.checkpointPath)
            done = ckpt.step >= config.steps
        }
        if !done {
            var req = req0
            req.resume = FileManager.default.fileExists(atPath: req0.checkpointPath)
            let started = Date()
            let summary = try Trainer.run(req)
            log(String(format: "trained seed %d (α = %g, %d steps) in %.1f s", Int(config.seed), Double(config.alpha),
                       config.steps, Date().timeIntervalSince(started)) + " on " + summary.device)
        }
        let model = TrainedModel(config: config, saved: try AnyCheckpoint.read(path: req0.checkpointPath),
                                 metricsPath: req0.metricsPath)
        models[key] = model
        return model
    }

    /// A backend holding `weights` (possibly pruned), on the lab's one device context.
    public func backend(_ config: Config, weights: ModelWeights<Float>) throws -> Backend {
        return try factory.make(config: config, bank: PatternBank(config: config), weights: weights,
                                mask: [Float](repeating: 1, count: weights.m), context: try context.value())
    }

    /// A backend holding a trained model of either kind.
    public func runner(_ model: TrainedModel) throws -> ModelRunner {
        switch model.saved {
        case .oneLayer(let c): return try backend(model.config, weights: c.weights)
        case .gpt2(let c):
            return try factory.makeGPT2(config: model.config, bank: PatternBank(config: model.config), weights: c.weights,
                                        adam: c.adam, context: try context.value())
        }
    }

    /// The device the lab runs on, in words.
    public func deviceDescription() throws -> String {
        guard let ctx = try context.value() else { return "cpu-reference (plain Swift, Float32)" }
        return "\(ctx.device.name) (\(ctx.device.platform), driver \(ctx.device.driver))"
    }

    /// ICL error of `backend`'s model on fresh prompts of `domain` at α′, l and (for OOD) S1.
    public func evaluate(_ backend: ModelRunner, _ config: Config, domain: PromptSpec.Domain, alpha: Float? = nil,
                         length: Int, S1: Float? = nil, prompts: Int? = nil) throws -> EvalResult {
        var c = config
        if let S1 { c.S1 = S1 }
        return try Evaluator.evaluate(backend, config: c, bank: PatternBank(config: c), domain: domain, alpha: alpha,
                                      length: length, prompts: prompts ?? (config.isGPT2 ? size.gpt2EvalPrompts : size.evalPrompts))
    }
}

/// A value made on first use and kept; a failed attempt is retried on the next use.
private final class OpenedOnce<Value> {
    private let make: () throws -> Value
    private var made: Value?

    init(_ make: @escaping () throws -> Value) { self.make = make }

    func value() throws -> Value {
        if let made { return made }
        let value = try make()
        made = value
        return value
    }
}
