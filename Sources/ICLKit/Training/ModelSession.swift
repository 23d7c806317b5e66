import ICLCore

/// The model-dependent half of a training run: the resident model, how its state becomes a checkpoint,
/// and the mechanism probes. The trainer's schedule, evaluation, signals and resume are shared.
protocol ModelSession {
    var runner: ModelRunner { get }
    /// Reads the state back; nil when a weight is no longer finite (the run diverged).
    func snapshot(config: Config, step: Int) throws -> AnyCheckpoint?
    /// Reads the weights back once and returns the probe of that model on one spec's prompts.
    func prober(config: Config, bank: PatternBank) throws -> (PromptSpec) -> [String: Any]
}

extension ModelSession {
    /// Probe records for metrics.jsonl: in-domain and OOD prompts of the check stream.
    func probes(config: Config, bank: PatternBank) throws -> [[String: Any]] {
        let probe = try prober(config: config, bank: bank)
        return [PromptSpec.Domain.inDomain, .outOfDomain].map { domain in
            let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, stream: RNGStream.checkPrompts.rawValue)
            var rec = probe(spec)
            rec["probe"] = domain.rawValue
            return rec
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
        return .oneLayer(Checkpoint(config: config, weights: w, step: step, mask: mask, device: backend.deviceDescription))
    }

    func prober(config: Config, bank: PatternBank) throws -> (PromptSpec) -> [String: Any] {
        let w = try backend.readWeights()
        return { Probes.measure(w, config: config, bank: bank, spec: $0).record }
    }
}

/// The GPT-2-style model (AdamW; the moments are part of the checkpoint).
struct GPT2Session: ModelSession {
    let backend: GPT2Backend
    var runner: ModelRunner { backend }

    func snapshot(config: Config, step: Int) throws -> AnyCheckpoint? {
        let w = try backend.readWeights()
        guard w.packed.allSatisfy(\.isFinite) else { return nil }
        return .gpt2(GPT2Checkpoint(config: config, weights: w, adam: try backend.readAdam(), step: step,
                                    device: backend.deviceDescription))
    }

    func prober(config: Config, bank: PatternBank) throws -> (PromptSpec) -> [String: Any] {
        let w = try backend.readWeights()
        return { GPT2Probes.measure(w, spec: $0).record }
    }
}
