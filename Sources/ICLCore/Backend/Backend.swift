/// Loss and errors of one batch.
public struct BatchStats: Equatable, Sendable {
    /// Mean hinge loss over the batch.
    public var loss: Float
    /// Prompts with sign(F) ≠ z.
    public var errors: Int
    public var prompts: Int
    public init(loss: Float, errors: Int, prompts: Int) {
        self.loss = loss; self.errors = errors; self.prompts = prompts
    }
    public var errorRate: Double { prompts == 0 ? 0 : Double(errors) / Double(prompts) }

    /// The evaluation loop of every backend: prompts 0..<count in chunks of at most `chunk`, `run(first, n)` giving a
    /// chunk's (mean loss, errors); the chunks' losses are combined weighted by their sizes.
    public static func accumulate(_ count: Int, chunk: Int,
                                  _ run: (_ first: Int, _ n: Int) throws -> (loss: Float, errors: Int)) rethrows -> BatchStats {
        var lossSum: Double = 0, errors = 0
        for first in stride(from: 0, to: count, by: chunk) {
            let n = min(chunk, count - first)
            let s = try run(first, n)
            lossSum += Double(s.loss) * Double(n)
            errors += s.errors
        }
        return BatchStats(loss: Float(lossSum / Double(max(count, 1))), errors: errors, prompts: count)
    }
}

/// What the trainer and the evaluator drive: one model resident on a device (the CPU reference or an
/// OpenCL device). Only scalars come back per step.
///
/// A step is: sample the step's prompts → forward → hinge gradient → backward → update. Prompts are a
/// pure function of (seed, step, prompt index), so two backends given the same weights and step draw the
/// same prompts.
public protocol ModelRunner: AnyObject {
    /// A line naming the device and driver.
    var deviceDescription: String { get }
    /// One optimiser step on the training prompts of `step`; returns that batch's loss and errors
    /// (computed before the update).
    func trainStep(step: Int) throws -> BatchStats
    /// The steps of `steps` in order, calling `after(step, stats)` with each one's `trainStep` result. A device
    /// may run later steps before `after` sees this one (so the host's checks never stall the device); when
    /// `after` returns false, no further step starts, but the steps already started finish and are reported
    /// too. Once this returns, every step it reported has updated the weights and no step is in flight.
    func trainSteps(_ steps: Range<Int>, after: (Int, BatchStats) throws -> Bool) throws
    /// Loss and errors of the resident model on prompts 0..<count of `spec` (drawn at step 0).
    func evaluate(_ spec: PromptSpec, prompts count: Int) throws -> BatchStats
}

/// The paper's one-layer model on a device, trained by SGD with a neuron mask.
public protocol Backend: ModelRunner {
    /// Replaces the resident weights and neuron mask ([m] of 0/1).
    func load(weights: ModelWeights<Float>, mask: [Float]) throws
    /// Copies the resident weights back to the host.
    func readWeights() throws -> ModelWeights<Float>
}

/// The GPT-2-style model on a device, trained by AdamW (the moments stay resident too).
public protocol GPT2Backend: ModelRunner {
    func load(weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>) throws
    func readWeights() throws -> GPT2Weights<Float>
    func readAdam() throws -> GPT2AdamState<Float>
}

extension ModelRunner {
    /// One step at a time: each step's stats are seen before the next starts.
    public func trainSteps(_ steps: Range<Int>, after: (Int, BatchStats) throws -> Bool) throws {
        for step in steps {
            guard try after(step, try trainStep(step: step)) else { return }
        }
    }

    /// Host-side evaluation (the CPU references): prompts 0..<count of `spec` sampled in chunks of `size`,
    /// `outputs(prompts, batch)` gives F [batch], and the hinge loss and errors are accumulated.
    func hostEvaluate(_ spec: PromptSpec, prompts count: Int, chunk size: Int,
                      outputs: ([Float], Int) -> [Float]) -> BatchStats {
        BatchStats.accumulate(count, chunk: size) { first, n in
            let batch = PromptSampler.sample(spec, step: 0, batch: n, firstPrompt: first)
            let h = ReferenceHinge.evaluate(F: outputs(batch.prompts, n), labels: batch.labels)
            return (h.loss, h.errors)
        }
    }
}
