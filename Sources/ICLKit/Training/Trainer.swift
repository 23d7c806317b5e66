import Foundation
import ICLCore
import ICLOpenCL

/// What one `icl train` run needs.
public struct TrainRequest {
    /// The model, data and schedule to train.
    public var config: Config
    /// Output folder: checkpoint.safetensors, metrics.jsonl, config.json.
    public var outDir: String
    /// Continue from `outDir/checkpoint.safetensors` instead of starting fresh.
    public var resume: Bool
    /// Where to train: the CPU reference or an OpenCL device, with its variant and pipeline.
    public var factory: BackendFactory
    /// Draw the progress bar / progress lines on stderr.
    public var showProgress: Bool
    /// Context lengths evaluated (both domains) at the end, besides config.lTest.
    public var finalLengths: [Int]
    /// Keep every step's loss in the summary (tests of determinism); off, memory stays flat over long runs.
    public var keepLosses = false

    /// A request to train `config` into `outDir`, fresh or resumed, with progress shown unless told otherwise.
    public init(config: Config, outDir: String, resume: Bool, factory: BackendFactory, showProgress: Bool = true,
                finalLengths: [Int] = []) {
        self.config = config; self.outDir = outDir; self.resume = resume
        self.factory = factory; self.showProgress = showProgress; self.finalLengths = finalLengths
    }

    /// `outDir/checkpoint.safetensors`.
    public var checkpointPath: String { outDir + "/checkpoint.safetensors" }
    /// `outDir/metrics.jsonl`.
    public var metricsPath: String { outDir + "/metrics.jsonl" }
}

/// The outcome of a run: final losses, evaluations and throughput.
public struct TrainSummary {
    /// The device the run trained on, in words.
    public var device: String
    /// The step the run started from (0 when fresh, the checkpoint's step when resumed).
    public var startStep: Int
    /// The config's total steps.
    public var steps: Int
    /// Wall-clock seconds of the run, evaluations and checkpoints included.
    public var seconds: Double
    /// The loss of the last step run (NaN when no step ran).
    public var lastLoss: Float
    /// The latest evaluations: in-domain then out-of-domain.
    public var evals: [EvalResult]
    /// Evaluations at the end for every requested length, both domains, sorted by length.
    public var finalEvals: [EvalResult]
    /// The checkpoint written at the end.
    public var checkpointPath: String
    /// Loss of every step run in this invocation, when the request asked to keep them.
    public var losses: [Float]

    /// Seconds inside training steps only (no evaluation or checkpoints).
    public var trainSeconds: Double
    /// Training prompts per second of step time.
    public var promptsPerSecond: Double
}

/// A training run of either model (SGD for the one-layer model, AdamW for the GPT-2-style one): steps,
/// evaluation cadence, metrics, checkpoints and resume.
public enum Trainer {
    /// Trains as `req` asks, resuming or starting fresh; a diverged loss or device failure throws a RunError, SIGINT/SIGTERM throws Interrupted.
    public static func run(_ req: TrainRequest) throws -> TrainSummary {
        let config = req.config
        try config.validate()
        let fm = FileManager.default
        var startStep = 0
        var resumed: AnyCheckpoint?
        if !req.resume {
            do {
                try fm.createDirectory(atPath: req.outDir, withIntermediateDirectories: true)
            } catch {
                throw RunError("cannot create the output folder '\(req.outDir)': \(error.localizedDescription).")
            }
        } else if !fm.fileExists(atPath: req.outDir) {
            throw UsageError("resuming needs a checkpoint at '\(req.checkpointPath)', and there is none.", remedy: .startFresh)
        }
        let lock = try OutputLock(folder: req.outDir)
        defer { withExtendedLifetime(lock) {} }
        OutputLock.removeStaleTemporaries(in: req.outDir)
        if req.resume {
            guard fm.fileExists(atPath: req.checkpointPath) else {
                throw UsageError("resuming needs a checkpoint at '\(req.checkpointPath)', and there is none.", remedy: .startFresh)
            }
            let ckpt = try AnyCheckpoint.read(path: req.checkpointPath)
            let changed = config.differingFields(from: ckpt.config).filter { !Config.scheduleFields.contains($0) }
            guard changed.isEmpty else {
                throw UsageError("cannot resume with a different \(changed.joined(separator: ", ")) than the checkpoint's; only \(Config.scheduleFields.sorted().joined(separator: ", ")) may change when resuming.")
            }
            if case .oneLayer(let c) = ckpt, c.keptNeurons != nil {
                throw UsageError("'\(req.checkpointPath)' is a compacted (pruned) checkpoint and cannot be trained further; train with a mask instead.")
            }
            resumed = ckpt
            startStep = ckpt.step
            MetricsLog.truncate(path: req.metricsPath, afterStep: startStep)
        } else {
            if fm.fileExists(atPath: req.checkpointPath) {
                throw UsageError("'\(req.outDir)' already holds a run (checkpoint.safetensors).", remedy: .resumeOrOtherOut)
            }
        }
        try AtomicFile.write(Data((config.jsonString(pretty: true) + "\n").utf8), to: req.outDir + "/config.json")
        let bank = PatternBank(config: config)
        let session: ModelSession
        switch resumed {
        case .gpt2(let c)?:
            session = GPT2Session(backend: try req.factory.makeGPT2(config: config, bank: bank, weights: c.weights, adam: c.adam))
        case .oneLayer(let c)?:
            session = OneLayerSession(backend: try req.factory.make(config: config, bank: bank, weights: c.weights, mask: c.mask),
                                      mask: c.mask)
        case nil where config.isGPT2:
            let shape = config.gpt2Shape
            session = GPT2Session(backend: try req.factory.makeGPT2(
                config: config, bank: bank, weights: GPT2Weights<Float>.initial(shape: shape, seed: config.seed),
                adam: GPT2AdamState<Float>(shape: shape)))
        case nil:
            let mask = [Float](repeating: 1, count: config.m)
            session = OneLayerSession(backend: try req.factory.make(config: config, bank: bank, weights: .initial(config), mask: mask),
                                      mask: mask)
        }
        let backend = session.runner
        let metrics = try MetricsLog(path: req.metricsPath, truncate: !req.resume)
        let progress = Progress(start: startStep, total: config.steps)
        progress.enabled = req.showProgress

        var lastCheckpoint = startStep
        // Seconds since this invocation began, and of them in training steps (metrics' wall_s, train_s).
        let began = Date()
        var trainSeconds = 0.0
        func diverged(_ step: Int, _ what: String) -> RunError {
            RunError("training diverged: \(what) at step \(step); the last good checkpoint (step \(lastCheckpoint)) is kept at '\(req.checkpointPath)'. Lower the \(config.isGPT2 ? "learning rate (adamLR = \(config.adamLR))" : "step size (lr = \(config.lr))").")
        }
        func checkpoint(_ step: Int) throws {
            guard let snapshot = try session.snapshot(config: config, step: step) else {
                throw diverged(step, "the weights became non-finite")
            }
            try snapshot.write(to: req.checkpointPath)
        }
        func evaluate(_ step: Int, length: Int? = nil) throws -> [EvalResult] {
            let results = try [PromptSpec.Domain.inDomain, .outOfDomain].map {
                try Evaluator.evaluate(backend, config: config, bank: bank, domain: $0, length: length,
                                       prompts: config.evalPrompts)
            }
            for r in results {
                var rec = r.record
                rec["step"] = step
                rec["eval"] = r.domain.rawValue
                rec["train_s"] = trainSeconds
                rec["wall_s"] = Date().timeIntervalSince(began)
                metrics.append(rec)
            }
            return results
        }

        func probe(_ step: Int) throws {
            for var rec in try session.probes(config: config, bank: bank) {
                rec["step"] = step
                metrics.append(rec)
            }
        }

        if !req.resume { try checkpoint(0) }
        if !req.resume && config.probeEvery > 0 { try probe(0) }
        var losses: [Float] = []
        var lastLoss = Float.nan
        var evals: [EvalResult] = []
        let endStep = max(startStep, config.steps)
        // Steps after which the trainer needs the weights (evaluation, probe, checkpoint); between two of them the
        // backend may run a step ahead of the loss checks (ModelRunner.trainSteps).
        func needsWeights(after done: Int) -> Bool {
            done == config.steps || (config.evalEvery > 0 && done % config.evalEvery == 0)
                || (config.probeEvery > 0 && done % config.probeEvery == 0)
                || (config.checkpointEvery > 0 && done % config.checkpointEvery == 0)
        }
        var done = startStep
        while done < endStep {
            var segmentEnd = done + 1
            while segmentEnd < endStep && !needsWeights(after: segmentEnd) { segmentEnd += 1 }
            var stopping = false
            let t0 = Date(), trainedBefore = trainSeconds
            do {
                try backend.trainSteps(done..<segmentEnd) { step, stats in
                    trainSeconds = trainedBefore + Date().timeIntervalSince(t0)
                    done = step + 1
                    guard stats.loss.isFinite else { throw diverged(done, "the loss became \(stats.loss)") }
                    if req.keepLosses { losses.append(stats.loss) }
                    lastLoss = stats.loss
                    if done % config.logEvery == 0 || done == config.steps {
                        metrics.appendLoss(step: done, loss: Double(stats.loss), trainError: stats.errorRate,
                                           trainSeconds: trainSeconds, wallSeconds: Date().timeIntervalSince(began))
                    }
                    progress.update(step: done, loss: stats.loss)
                    stopping = StopSignal.received != 0
                    return !stopping
                }
            } catch let e as CLError {
                throw RunError("the OpenCL device failed during step \(done + 1) (\(e)); the last checkpoint (step \(lastCheckpoint)) is intact at '\(req.checkpointPath)'.", remedy: .resumeLater)
            }
            trainSeconds = trainedBefore + Date().timeIntervalSince(t0)
            if done == segmentEnd {
                if (config.evalEvery > 0 && done % config.evalEvery == 0) || done == config.steps {
                    evals = try evaluate(done)
                    let note = String(format: "id err %.4f  ood err %.4f ", evals[0].error, evals[1].error)
                    if req.showProgress { progress.line("step \(done): " + note) }
                }
                if config.probeEvery > 0 && done % config.probeEvery == 0 { try probe(done) }
                if (config.checkpointEvery > 0 && done % config.checkpointEvery == 0) || done == config.steps {
                    try checkpoint(done)
                    lastCheckpoint = done
                }
            }
            if stopping || StopSignal.received != 0 {
                if lastCheckpoint != done { try checkpoint(done) }
                throw Interrupted(signal: StopSignal.received, step: done, checkpointPath: req.checkpointPath)
            }
        }
        let seconds = Date().timeIntervalSince(began)
        if evals.isEmpty { evals = try evaluate(max(startStep, config.steps)) }
        var finalEvals: [EvalResult] = []
        for l in Set(req.finalLengths + [config.lTest]).sorted() {
            finalEvals += l == config.lTest ? evals : try evaluate(max(startStep, config.steps), length: l)
        }
        let ran = max(0, config.steps - startStep)
        return TrainSummary(device: backend.deviceDescription, startStep: startStep, steps: config.steps,
                            seconds: seconds, lastLoss: lastLoss, evals: evals, finalEvals: finalEvals, checkpointPath: req.checkpointPath,
                            losses: losses,
                            trainSeconds: trainSeconds,
                            promptsPerSecond: trainSeconds > 0 ? Double(ran * config.batch) / trainSeconds : 0)
    }
}
