import ICLCore
import ICLOpenCL

/// `icl check --model gpt2`: the GPT-2-style engine against GPT2Reference in Double. A whole step (every
/// kernel: read-in, LayerNorm, matmuls with their epilogues, causal attention, read-out, hinge and all the
/// backward kernels) is compared output by output and gradient by gradient, at the default shape and an
/// awkward one; then 20 AdamW steps with on-device sampling are compared in loss. The op-by-op checks,
/// AdamW alone and the sampler are in GPT2CrossCheckTests.
public enum GPT2CrossCheck {
    /// One shape, batch and context length at which the GPT-2-style engine is checked.
    public struct Case {
        /// The case's name, with its sizes, as reports print it.
        public var name: String
        /// The GPT-2-style model's width, layers, heads, token width d and maximum tokens.
        public var shape: GPT2Shape
        /// Prompts per batch (B).
        public var batch: Int
        /// Context examples per prompt (l; 0 leaves only the query).
        public var length: Int
    }

    /// The default model on sampled prompts, and an awkward one (head width 4, odd d, T = 8 and T = 1).
    public static let cases: [Case] = [
        Case(name: "default W=64 L=3 H=2, l=20, B=4", shape: GPT2Shape(), batch: 4, length: 20),
        Case(name: "awkward W=12 L=2 H=3 d=9, l=7, B=5", shape: GPT2Shape(width: 12, layers: 2, heads: 3, d: 9, maxTokens: 9),
             batch: 5, length: 7),
        Case(name: "awkward W=12 L=2 H=3 d=9, l=0, B=1", shape: GPT2Shape(width: 12, layers: 2, heads: 3, d: 9, maxTokens: 9),
             batch: 1, length: 0),
    ]

    /// One whole step of `c` on `variant`: F, the loss and every gradient tensor.
    public static func wholeStep(context: CLContext, variant: KernelVariant, _ c: Case) throws -> [TensorComparison] {
        var config = Config()
        if c.shape.d != config.d {    // a small pattern bank for the awkward token width (d = 8 + d_Y)
            config.M1 = 4; config.M2 = 4; config.M1ood = 2; config.dX = 8; config.dY = c.shape.d - 8
        }
        config.lTrain = max(1, c.length)
        config.seed = 11
        let spec = PromptSpec(bank: PatternBank(config: config), domain: .inDomain, tasks: TaskSets.train(config),
                              alpha: config.alpha, length: c.length, K: config.K, seed: config.seed,
                              stream: RNGStream.checkPrompts.rawValue)
        let batch = PromptSampler.sample(spec, step: 0, batch: c.batch)
        var w = GPT2Weights<Float>.initial(shape: c.shape, seed: 21)
        w.outWeight = w.outWeight.map { $0 * 20 }    // margins below 1, so the hinge passes gradients back
        let engine = try GPT2Engine(context: context, shape: c.shape, variant: variant, capacity: c.batch)
        try engine.state.load(weights: w, adam: GPT2AdamState(shape: c.shape))
        let dev = try engine.gradients(prompts: batch.prompts, labels: batch.labels, batch: c.batch, length: c.length)
        let wd = w.converted(to: Double.self), prompts = batch.prompts.map(Double.init)
        let trace = GPT2Reference.forward(wd, prompts: prompts, batch: c.batch, length: c.length)
        let hinge = ReferenceHinge.evaluate(F: trace.F, labels: batch.labels.map(Double.init))
        let ref = GPT2Reference.backward(wd, prompts: prompts, trace: trace, dF: hinge.dF)
        var out = [TensorComparison(kernel: "forward + read-out", tensor: "F", device: dev.F, reference: trace.F,
                                    rtol: 1e-4, scaledAtol: 1e-4),
                   TensorComparison(kernel: "hinge", tensor: "loss", device: [dev.stats.loss], reference: [hinge.loss],
                                    rtol: 1e-5, scaledAtol: 0)]
        for (a, b) in zip(dev.gradients.named, ref.named) {
            out.append(TensorComparison(kernel: "backward", tensor: "∂" + a.name, device: a.values, reference: b.values,
                                        rtol: 1e-3, scaledAtol: 1e-4))
        }
        return out
    }

    /// 20 AdamW steps (B = 8, l = 10, default shape) on the device and in the Float reference on the same
    /// prompts: the worst relative loss gap.
    /// `small`: a two-layer model of width 12 on 4 prompts of l = 4, its read-out scaled up so that margins fall below
    /// 1 and the loss moves (for a slow device or a simulator).
    public static func trainingAgreement(context: CLContext, variant: KernelVariant, steps: Int = 20,
                                         small: Bool = false) throws -> Double {
        var c = Config()
        c.seed = 5
        c.lTrain = small ? 4 : 10
        let shape = small ? GPT2Shape(width: 12, layers: 2, heads: 3, d: c.d, maxTokens: c.lTrain + 1)
                          : GPT2Shape(d: c.d, maxTokens: c.lTrain + 1)
        let B = small ? 4 : 8
        let optimizer = GPT2Optimizer(lr: 3e-3, warmup: 3, steps: 40)
        let hostSpec = PromptSpec.training(c, bank: PatternBank(config: c))
        let spec = try SpecBuffers(context: context, spec: hostSpec)
        let engine = try GPT2Engine(context: context, shape: shape, variant: variant, capacity: B)
        var w = GPT2Weights<Float>.initial(shape: shape, seed: c.seed)
        if small { w.outWeight = w.outWeight.map { $0 * 20 } }
        var state = GPT2AdamState<Float>(shape: shape)
        try engine.state.load(weights: w, adam: state)
        var worst = 0.0
        for step in 0..<steps {
            let s = try engine.trainStep(spec: spec, step: step, batch: B, optimizer: optimizer)
            let batch = PromptSampler.sample(hostSpec, step: step, batch: B)
            let r = GPT2Reference.trainStep(weights: &w, state: &state, prompts: batch.prompts, labels: batch.labels,
                                            batch: B, length: c.lTrain, step: step, optimizer: optimizer).hinge.loss
            worst = max(worst, abs(Double(s.loss) - Double(r)) / max(abs(Double(r)), 1e-12))
        }
        return worst
    }
}
