import ICLCore

/// The model-dependent half of a training run: the resident model, how its state becomes a checkpoint,
/// and the mechanism probes. The trainer's schedule, evaluation, signals and resume are shared.
protocol ModelSession {
    var runner: ModelRunner { get }
    /// Reads the state back; nil when a weight is no longer finite (the run diverged).
    func snapshot(config: Config, step: Int) throws -> AnyCheckpoint?
    /// Probe records for metrics.jsonl (empty when the model has none).
    func probes(config: Config, bank: PatternBank) throws -> [[String: Any]]
}

extension AnyCheckpoint {
    func write(to path: String) throws {
        switch self {
        case .oneLayer(let c): try c.write(to: path)
        case .gpt2(let c): try c.write(to: path)
        }
    }
}

/// The paper's one-layer model (SGD with a neuron mask).
struct OneLayerSession: ModelSession {
    let backend: Backend
    let mask: [Float]
    var runner: ModelRunner { backend }

    func snapshot(config: Config, step: Int) throws -> AnyCheckpoint? {
        let w = try backend.readWeights()
        guard w.packed.allSatisfy(\.isFinite) else { return nil }
        return .oneLayer(Checkpoint(config: config, weights: w, step: step, mask: mask))
    }

    func probes(config: Config, bank: PatternBank) throws -> [[String: Any]] {
        let w = try backend.readWeights()
        return [PromptSpec.Domain.inDomain, .outOfDomain].map { domain in
            let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, stream: RNGStream.checkPrompts.rawValue)
            var rec = Probes.measure(w, config: config, bank: bank, spec: spec).record
            rec["probe"] = domain.rawValue
            return rec
        }
    }
}

/// The GPT-2-style model (AdamW; the moments are part of the checkpoint).
struct GPT2Session: ModelSession {
    let backend: GPT2Backend
    var runner: ModelRunner { backend }

    func snapshot(config: Config, step: Int) throws -> AnyCheckpoint? {
        let w = try backend.readWeights()
        guard w.packed.allSatisfy(\.isFinite) else { return nil }
        return .gpt2(GPT2Checkpoint(config: config, weights: w, adam: try backend.readAdam(), step: step))
    }

    func probes(config: Config, bank: PatternBank) throws -> [[String: Any]] {
        let w = try backend.readWeights()
        return [PromptSpec.Domain.inDomain, .outOfDomain].map { domain in
            let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, stream: RNGStream.checkPrompts.rawValue)
            var rec = GPT2Probes.measure(w, spec: spec).record
            rec["probe"] = domain.rawValue
            return rec
        }
    }
}
