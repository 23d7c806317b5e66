import ICLCore
import ICLOpenCL

/// A size at which every kernel is checked against the CPU reference.
public struct CheckCase: Sendable {
    /// The case's name, with its sizes, as reports print it.
    public var name: String
    /// The model configuration of the case.
    public var config: Config
    /// Prompts per batch (B).
    public var batch: Int

    /// The paper's sizes and the awkward ones: 1 prompt, l = 1, odd d, m not a multiple of the
    /// work-group size, the query attending to itself, a long context, a
    /// prompt basis too large for the pattern kernel's 32-entry table reads.
    public static var standard: [CheckCase] {
        var out: [CheckCase] = []
        func add(_ name: String, batch: Int, _ edit: (inout Config) -> Void) {
            var c = Config()
            edit(&c)
            out.append(CheckCase(name: name, config: c, batch: batch))
        }
        add("paper d=40 l=20 m=64 B=256", batch: 256) { _ in }
        add("one prompt B=1", batch: 1) { _ in }
        add("l=1 B=33", batch: 33) { $0.lTrain = 1 }
        add("odd d=9 (M1=4 M2=3 dX=7 dY=2) B=17", batch: 17) {
            $0.M1 = 4; $0.M2 = 3; $0.dX = 7; $0.dY = 2; $0.M1ood = 2
        }
        add("m=37 B=100", batch: 100) { $0.m = 37 }
        add("attendQuery l=5 B=64", batch: 64) { $0.lTrain = 5; $0.attendQuery = true }
        add("l=150 m=130 B=40", batch: 40) { $0.lTrain = 150; $0.m = 130 }
        add("l=15 (16 columns, a multiple of 8) B=24", batch: 24) { $0.lTrain = 15 }
        add("basis of 47 (M2=40 dX=48; pattern tables past 32 entries) B=24", batch: 24) { $0.M2 = 40; $0.dX = 48 }
        return out
    }

    /// Small awkward sizes only (odd d, m and l, one prompt, the query attending to itself), for a slow device or a
    /// simulator: `icl check --quick`.
    public static var quick: [CheckCase] {
        func small(_ name: String, batch: Int, _ edit: (inout Config) -> Void = { _ in }) -> CheckCase {
            var c = Config()
            c.M1 = 4; c.M2 = 3; c.dX = 7; c.dY = 2; c.M1ood = 2; c.m = 13; c.lTrain = 4
            edit(&c)
            return CheckCase(name: name, config: c, batch: batch)
        }
        return [small("small d=9 l=4 m=13 B=6", batch: 6),
                small("small one prompt B=1", batch: 1),
                small("small attendQuery l=2 B=3", batch: 3) { $0.lTrain = 2; $0.attendQuery = true }]
    }
}

/// Results of checking one case with one kernel variant.
public struct CheckReport: Sendable {
    /// The name of the checked case.
    public var caseName: String
    /// The kernel variant the case ran with.
    public var variant: KernelVariant
    /// The pipeline (with its device path) of a whole-step check; nil for the per-op kernel checks.
    public var pipeline: PipelineDescription? = nil
    /// One comparison per kernel output tensor.
    public var comparisons: [TensorComparison]
    /// True when every tensor comparison passed.
    public var passed: Bool { comparisons.allSatisfy(\.passed) }
}

/// Runs each kernel on the same inputs as the CPU reference (computed in Double) and compares.
/// Kernels are checked in isolation: each gets the reference's inputs, so errors do not compound.
public enum CrossCheck {
    /// Non-trivial weights for checks: the paper's init plus noise, so attention is not uniform, ReLUs
    /// are mixed and margins fall on both sides of 1.
    public static func checkWeights(_ c: Config) -> ModelWeights<Float> {
        var w = ModelWeights<Float>.initial(c)
        var g = GaussianSequence(seed: c.seed &+ 99, stream: .initWeights)
        let dd = c.d * c.d
        let n = g.next(3 * dd + c.m * c.d)
        for i in 0..<dd {
            w.WQ[i] += Float(n[i]) * 0.3
            w.WK[i] += Float(n[dd + i]) * 0.3
            w.WV[i] += Float(n[2 * dd + i]) * 0.3
        }
        for i in 0..<(c.m * c.d) { w.WO[i] = Float(n[3 * dd + i]) * 1.5 }
        return w
    }

    /// Neuron mask for the SGD check: every third neuron pruned.
    static func checkMask(_ m: Int) -> [Float] { (0..<m).map { $0 % 3 == 2 ? 0 : 1 } }

    /// Checks every kernel of `check` in isolation against the reference, on the prompts sampled at `step`.
    public static func run(context: CLContext, variant: KernelVariant, check: CheckCase,
                           step: Int = 3) throws -> CheckReport {
        let c = check.config, B = check.batch, d = c.d, m = c.m
        let bank = PatternBank(config: c)
        let spec = PromptSpec.training(c, bank: bank)
        let shape = ModelShape(dX: c.dX, dY: c.dY, length: c.lTrain, m: m, attendQuery: c.attendQuery)
        let program = try ModelProgram(context: context, shape: shape, variant: variant)
        let ws = try Workspace(context: context, shape: shape, capacity: B)
        let specBuffers = try SpecBuffers(context: context, spec: spec)
        let w = checkWeights(c)
        let params = try context.buffer(w.packed, label: "parameters")
        let a = try context.buffer(w.a, label: "a")
        let grads = try context.buffer(Float.self, count: shape.parameterCount, label: "gradients")

        // Reference, in Double, on the Swift sampler's prompts.
        let host = PromptSampler.sample(spec, step: step, batch: B)
        let wd: ModelWeights<Double> = w.converted()
        let ref = ReferenceModel.trace(wd, prompts: host.prompts.map(Double.init), labels: host.labels.map(Double.init),
                                       batch: B, length: c.lTrain, attendQuery: c.attendQuery)
        func f(_ x: [Double]) -> [Float] { x.map(Float.init) }
        var out: [TensorComparison] = []
        func cmp(_ kernel: String, _ tensor: String, _ buf: CLBuffer<Float>, _ r: [Double], count: Int? = nil,
                 rtol: Double = 1e-4, atol: Double = 2e-5) throws {
            let dev = try buf.read(count: count ?? r.count)
            out.append(TensorComparison(kernel: kernel, tensor: tensor, device: dev, reference: r,
                                        rtol: rtol, scaledAtol: atol))
        }

        // 1. Sampler: bit-identical to Swift.
        try program.launchSample(ws, specBuffers, step: step, batch: B)
        out.append(TensorComparison(kernel: "sample_prompts", tensor: "prompts",
                                    exactDevice: try ws.prompts.read(count: host.prompts.count), reference: host.prompts))
        out.append(TensorComparison(kernel: "sample_prompts", tensor: "labels",
                                    exactDevice: try ws.labels.read(count: B), reference: host.labels))
        try ws.prompts.write(host.prompts, at: 0)
        try ws.labels.write(host.labels, at: 0)

        // 2. Attention forward.
        try program.launchAttentionForward(ws, params: params, batch: B)
        try cmp("attention_forward", "u", ws.u, ref.attention.u)
        try cmp("attention_forward", "v", ws.v, ref.attention.v)
        try cmp("attention_forward", "attn", ws.attn, ref.attention.attn)
        try cmp("attention_forward", "c", ws.c, ref.attention.c)

        // 3. MLP forward on the reference's c.
        try ws.c.write(f(ref.attention.c), at: 0)
        try program.launchMLPForward(ws, params: params, a: a, batch: B)
        try cmp("mlp_forward", "h", ws.h, ref.mlp.h)
        try cmp("mlp_forward", "g", ws.g, ref.mlp.g)
        try cmp("mlp_forward", "F", ws.F, ref.mlp.F)

        // 4. Hinge gradient and the batch statistics on the reference's F.
        try ws.F.write(f(ref.mlp.F), at: 0)
        try program.launchHinge(ws, batch: B)
        try program.launchReduceStats(ws, batch: B)
        try cmp("hinge_grad", "dF", ws.dF, ref.hinge.dF)
        let stats = try ws.stats.read()
        out.append(TensorComparison(kernel: "hinge+reduce_stats", tensor: "loss", device: [stats[0]],
                                    reference: [ref.hinge.loss], rtol: 1e-4, scaledAtol: 1e-6))
        out.append(TensorComparison(kernel: "hinge+reduce_stats", tensor: "errors", device: [stats[1]],
                                    reference: [Double(ref.hinge.errors)], rtol: 0, scaledAtol: 0))

        // 5. MLP backward on the reference's dF and g.
        try ws.dF.write(f(ref.hinge.dF), at: 0)
        try ws.g.write(f(ref.mlp.g), at: 0)
        try program.launchMLPBackward(ws, params: params, a: a, batch: B)
        try cmp("mlp_backward", "dg", ws.dg, ref.mlpBackward.dg)
        try cmp("mlp_backward", "dh", ws.dh, ref.mlpBackward.dh)
        try cmp("mlp_backward", "dc", ws.dc, ref.mlpBackward.dc)

        // 6. Attention backward on the reference's attn and dc.
        try ws.attn.write(f(ref.attention.attn), at: 0)
        try ws.dc.write(f(ref.mlpBackward.dc), at: 0)
        try program.launchAttentionBackward(ws, params: params, batch: B)
        try cmp("attention_backward", "dv", ws.dv, ref.attentionBackward.dv)
        try cmp("attention_backward", "du", ws.du, ref.attentionBackward.du)

        // 7. Weight gradients from the reference's per-prompt vectors.
        try ws.u.write(f(ref.attention.u), at: 0)
        try ws.c.write(f(ref.attention.c), at: 0)
        try ws.h.write(f(ref.mlp.h), at: 0)
        try ws.dg.write(f(ref.mlpBackward.dg), at: 0)
        try ws.dh.write(f(ref.mlpBackward.dh), at: 0)
        try ws.dv.write(f(ref.attentionBackward.dv), at: 0)
        try ws.du.write(f(ref.attentionBackward.du), at: 0)
        try program.launchWeightGrads(ws, grads: grads, batch: B)
        let g = try grads.read(), dd = d * d
        let names = ["dW_Q", "dW_K", "dW_V", "dW_O"]
        let refs = [ref.attentionBackward.dWQ, ref.attentionBackward.dWK, ref.mlpBackward.dWV, ref.mlpBackward.dWO]
        for k in 0..<4 {
            let slice = Array(g[(k * dd)..<(k == 3 ? g.count : (k + 1) * dd)])
            out.append(TensorComparison(kernel: "weight_grads", tensor: names[k], device: slice, reference: refs[k],
                                        rtol: 1e-4, scaledAtol: 1e-4))
        }

        // 8. SGD with a neuron mask, on the reference gradients.
        let mask = checkMask(m)
        let maskBuffer = try context.buffer(mask, label: "mask")
        let floatGrads: WeightGradients<Float> = ref.gradients.converted()
        try grads.write(floatGrads.packed)
        let updatedParams = try context.buffer(Float.self, count: shape.parameterCount, label: "updated parameters")
        try program.launchSGD(old: params, new: updatedParams, grads: grads, mask: maskBuffer, lr: c.lr)
        var updated = wd
        ReferenceModel.sgdUpdate(&updated, floatGrads.converted(to: Double.self), lr: Double(c.lr),
                                 mask: mask.map(Double.init))
        try cmp("sgd_update", "params", updatedParams, updated.packed, rtol: 1e-6, atol: 1e-6)
        return CheckReport(caseName: check.name, variant: variant, comparisons: out)
    }

    /// A pipeline over one whole step (its kernels, its sampler, grads + SGD), against the reference step in Double:
    /// loss, errors, the four gradients and the new weights; and the prompts of an in-kernel sampler, bit for bit.
    /// `path` nil runs the device's best path.
    public static func runPipeline(context: CLContext, check: CheckCase, pipeline: Pipeline, variant: KernelVariant = .cpu,
                                   path: DevicePath? = nil, step: Int = 3) throws -> CheckReport {
        var c = check.config
        c.batch = check.batch
        let bank = PatternBank(config: c)
        let backend = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: c, bank: bank, context: context,
                                                                     variant: variant, pipeline: pipeline, path: path)
        let w = checkWeights(c), mask = checkMask(c.m)
        try backend.load(weights: w, mask: mask)
        let stats = try backend.trainStep(step: step)
        let host = PromptSampler.sample(PromptSpec.training(c, bank: bank), step: step, batch: c.batch)
        let wd: ModelWeights<Double> = w.converted()
        let ref = ReferenceModel.trace(wd, prompts: host.prompts.map(Double.init), labels: host.labels.map(Double.init),
                                       batch: c.batch, length: c.lTrain, attendQuery: c.attendQuery)
        let name = "\(pipeline.rawValue) step"
        var out: [TensorComparison] = []
        if let sampled = try backend.pipeline.sampledPrompts(step: step) {
            out.append(TensorComparison(kernel: "\(pipeline.rawValue) sampler", tensor: "prompts", exactDevice: sampled.prompts,
                                        reference: host.prompts))
            out.append(TensorComparison(kernel: "\(pipeline.rawValue) sampler", tensor: "labels", exactDevice: sampled.labels,
                                        reference: host.labels))
        }
        out.append(TensorComparison(kernel: name, tensor: "loss", device: [stats.loss],
                                    reference: [ref.hinge.loss], rtol: 1e-4, scaledAtol: 1e-6))
        out.append(TensorComparison(kernel: name, tensor: "errors", device: [Float(stats.errors)],
                                    reference: [Double(ref.hinge.errors)], rtol: 0, scaledAtol: 0))
        let g = try backend.state.readGradients()
        let r = ref.gradients
        for (tensor, dev, refT) in [("dW_Q", g.WQ, r.WQ), ("dW_K", g.WK, r.WK), ("dW_V", g.WV, r.WV), ("dW_O", g.WO, r.WO)] {
            // The fused paths form the gradients through A = W_KᵀW_Q and C = W_OW_V (or their projections onto
            // the prompt basis): one more rounding level than the reference.
            out.append(TensorComparison(kernel: name, tensor: tensor, device: dev, reference: refT,
                                        rtol: 1e-3, scaledAtol: 3e-4))
        }
        var updated = wd
        ReferenceModel.sgdUpdate(&updated, r, lr: Double(c.lr), mask: mask.map(Double.init))
        out.append(TensorComparison(kernel: name, tensor: "params", device: try backend.readWeights().packed,
                                    reference: updated.packed, rtol: 1e-4, scaledAtol: 1e-5))
        return CheckReport(caseName: check.name, variant: variant, pipeline: backend.pipeline.description, comparisons: out)
    }

    /// Trains `steps` steps from the same seed on both backends; returns each step's loss pair.
    public static func trainingAgreement(context: CLContext, variant: KernelVariant, config: Config,
                                         steps: Int, pipeline: Pipeline? = nil, path: DevicePath? = nil) throws -> [(device: Float, reference: Float)] {
        let bank = PatternBank(config: config)
        let w = ModelWeights<Float>.initial(config), mask = [Float](repeating: 1, count: config.m)
        let dev = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: context,
                                                                 variant: variant, pipeline: pipeline, path: path)
        try dev.load(weights: w, mask: mask)
        let ref = CPUReferenceBackend(config: config, bank: bank)
        try ref.load(weights: w, mask: mask)
        return try (0..<steps).map { s in (try dev.trainStep(step: s).loss, try ref.trainStep(step: s).loss) }
    }
}
