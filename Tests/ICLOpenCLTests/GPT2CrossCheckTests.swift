import XCTest
import ICLTestSupport
import ICLCore
import ICLOpenCL
import ICLKit

/// The GPT-2-style model's kernels, both variants, against the CPU reference (`GPT2Ops`, `GPT2Reference`) in
/// Double: every op at the default shape (W = 64, L = 3, H = 2, d = 40, l = 20) and at awkward sizes (W = 12
/// with H = 3 so heads of width 4, d = 9, odd row counts, T = 1, batch 1, widths that are no multiple of a
/// tile; W = 9 with H = 3 for heads of odd width 3), then the whole step's gradients, AdamW, and 20 training
/// steps with on-device sampling.
final class GPT2CrossCheckTests: XCTestCase {
    /// The shared test device (the first CPU device); the class skips when there is none.
    static var context: CLContext { OpenCLTestDevice.context! }

    override func setUpWithError() throws {
        try skipUnlessOpenCL()
    }

    static let standard = GPT2Shape()
    /// Head width 4, d = 9, position table of 8 rows.
    static let awkward = GPT2Shape(width: 12, layers: 2, heads: 3, d: 9, maxTokens: 8)
    /// Odd head width 3 (the attention kernels' scalar path).
    static let oddHeads = GPT2Shape(width: 9, layers: 1, heads: 3, d: 5, maxTokens: 6)

    func program(_ shape: GPT2Shape, _ variant: KernelVariant) throws -> GPT2Program {
        try GPT2Program(context: Self.context, shape: shape, variant: variant)
    }

    // MARK: Helpers

    /// A small deterministic generator (SplitMix64): uniform values in [−scale, scale).
    struct Numbers {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53) * 2 - 1
        }
        mutating func floats(_ n: Int, scale: Double = 1, offset: Double = 0) -> [Float] {
            (0..<n).map { _ in Float(offset + scale * next()) }
        }
        mutating func signs(_ n: Int) -> [Float] { (0..<n).map { _ in next() < 0 ? -1 : 1 } }
    }

    func d(_ x: [Float]) -> [Double] { x.map(Double.init) }

    /// Asserts |device − reference| ≤ scaledAtol·max|reference| + rtol·|reference| elementwise; the message names
    /// the case, the tensor, the errors and the first bad index.
    func expect(_ what: String, _ tensor: String, _ device: [Float], _ reference: [Double], rtol: Double = 1e-4,
                atol: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        let c = TensorComparison(kernel: what, tensor: tensor, device: device, reference: reference, rtol: rtol,
                                 scaledAtol: atol)
        XCTAssertTrue(c.passed, "\(what) \(tensor) (\(device.count) vs \(reference.count) values): \(c.line)",
                      file: file, line: line)
    }

    /// Reference weights with every tensor perturbed (so biases, γ and β all matter), and the same in Double.
    func weights(_ shape: GPT2Shape, seed: UInt64) -> GPT2Weights<Float> {
        var w = GPT2Weights<Float>.initial(shape: shape, seed: seed)
        var r = Numbers(seed &+ 99)
        var packed = w.packed
        for k in packed.indices { packed[k] += Float(0.05 * r.next()) }
        w = GPT2Weights(shape: shape, packed: packed)
        return w
    }

    // MARK: Matmul (with its epilogues: bias, residual / position table, GELU, GELU')

    func checkMatmul(_ variant: KernelVariant) throws {
        let p = try program(Self.standard, variant)
        // (rows, inputs, outputs, epilogue): the default model's layers at B·T = 3·21, then awkward sizes.
        let cases: [(n: Int, i: Int, o: Int, mode: String)] = [
            (63, 64, 192, "plain"), (63, 64, 64, "residual"), (63, 64, 256, "gelu"), (63, 256, 64, "residual"),
            (63, 40, 64, "position"), (7, 9, 12, "position"), (13, 12, 36, "plain"), (1, 1, 1, "plain"),
            (5, 12, 48, "gelu"), (9, 48, 12, "residual"), (17, 3, 5, "gelu"), (33, 21, 19, "residual"),
            (63, 64, 256, "slope"), (11, 12, 48, "slope"), (6, 7, 13, "slope"),
        ]
        var r = Numbers(1)
        for c in cases {
            let what = "[\(variant)] matmul n=\(c.n) i=\(c.i) o=\(c.o) \(c.mode)"
            let x = r.floats(c.n * c.i), w = r.floats(c.o * c.i, scale: 0.5), b = r.floats(c.o, scale: 0.5)
            let period = c.mode == "position" ? max(1, c.n / 3) : c.n
            let residual: [Float]? = c.mode == "residual" || c.mode == "position" ? r.floats(period * c.o) : nil
            let gelu = c.mode == "gelu" || c.mode == "slope"
            let dev = try p.linear(x, rows: c.n, inputs: c.i, outputs: c.o, weight: w, bias: b, residual: residual,
                                   period: period, gelu: gelu, keepSlope: c.mode == "slope")
            var y = GPT2Ops.matmul(d(x), rows: c.n, inputs: c.i, outputs: c.o, weight: d(w), bias: d(b))
            if let res = residual {
                for row in 0..<c.n { for k in 0..<c.o { y[row * c.o + k] += Double(res[(row % period) * c.o + k]) } }
            }
            if c.mode == "slope" {
                expect(what, "gelu'(y)", dev.y, GPT2Ops.geluBackward(y, dy: [Double](repeating: 1, count: y.count)))
            } else {
                expect(what, "y", dev.y, y)
            }
            if gelu { expect(what, "gelu(y)", dev.gelu ?? [], GPT2Ops.gelu(y)) }
            // Backward; the GELU cases pass dx through GELU' of a pre-activation of x's shape, the slope cases
            // through a saved slope.
            let dy = r.floats(c.n * c.o)
            let pre: [Float]? = c.mode == "gelu" ? r.floats(c.n * c.i, scale: 3) : nil
            let slope: [Float]? = c.mode == "slope" ? r.floats(c.n * c.i, scale: 0.6, offset: 0.5) : nil
            let back = try p.linearBackward(x, rows: c.n, inputs: c.i, outputs: c.o, weight: w, dy: dy, geluInput: pre,
                                            slope: slope)
            let ref = GPT2Ops.matmulBackward(d(x), rows: c.n, inputs: c.i, outputs: c.o, weight: d(w), dy: d(dy))
            var dx = pre.map { GPT2Ops.geluBackward(d($0), dy: ref.dx) } ?? ref.dx
            if let s = slope { dx = zip(dx, s).map { $0 * Double($1) } }
            expect(what, "dx", back.dx, dx)
            expect(what, "dW", back.dWeight, ref.dWeight)
            expect(what, "db", back.dBias, ref.dBias)
        }
    }

    func testMatmulCPUVariant() throws { try checkMatmul(.cpu) }
    func testMatmulGPUVariant() throws { try checkMatmul(.gpu) }

    // MARK: LayerNorm

    func checkLayerNorm(_ variant: KernelVariant) throws {
        var r = Numbers(2)
        for (shape, rows) in [(Self.standard, 63), (Self.standard, 1), (Self.awkward, 7), (Self.awkward, 1)] {
            let p = try program(shape, variant), W = shape.width
            for residual in [true, false] {
                let what = "[\(variant)] layerNorm W=\(W) rows=\(rows)\(residual ? " +residual" : "")"
                let x = r.floats(rows * W, scale: 2, offset: 0.5)
                let gain = r.floats(W, scale: 0.5, offset: 1), bias = r.floats(W, scale: 0.5)
                let dev = try p.layerNorm(x, rows: rows, gain: gain, bias: bias)
                let ref = GPT2Ops.layerNorm(d(x), rows: rows, width: W, gain: d(gain), bias: d(bias))
                expect(what, "y", dev.y, ref.y)
                expect(what, "mean", dev.mean, ref.mean)
                expect(what, "rstd", dev.rstd, ref.rstd)
                let dy = r.floats(rows * W), res: [Float]? = residual ? r.floats(rows * W) : nil
                let back = try p.layerNormBackward(x, rows: rows, gain: gain, mean: dev.mean, rstd: dev.rstd, dy: dy,
                                                   residual: res)
                let refBack = GPT2Ops.layerNormBackward(d(x), rows: rows, width: W, gain: d(gain), forward: ref, dy: d(dy))
                expect(what, "dx", back.dx, res.map { GPT2Ops.residualAdd(d($0), refBack.dx) } ?? refBack.dx)
                expect(what, "dgain", back.dGain, refBack.dGain)
                expect(what, "dbias", back.dBias, refBack.dBias)
            }
        }
    }

    func testLayerNormCPUVariant() throws { try checkLayerNorm(.cpu) }
    func testLayerNormGPUVariant() throws { try checkLayerNorm(.gpu) }

    // MARK: Attention

    func checkAttention(_ variant: KernelVariant) throws {
        var r = Numbers(3)
        let cases: [(GPT2Shape, Int, Int)] = [(Self.standard, 2, 21), (Self.standard, 1, 1), (Self.standard, 3, 5),
                                              (Self.awkward, 3, 5), (Self.awkward, 1, 1), (Self.awkward, 2, 8),
                                              (Self.oddHeads, 2, 6), (Self.oddHeads, 1, 1)]
        for (shape, B, T) in cases {
            let p = try program(shape, variant), W = shape.width, H = shape.heads
            let what = "[\(variant)] attention W=\(W) H=\(H) B=\(B) T=\(T)"
            let qkv = r.floats(B * T * 3 * W, scale: 1.5)
            let dev = try p.attention(qkv, batch: B, tokens: T)
            let ref = GPT2Ops.causalAttention(d(qkv), batch: B, tokens: T, width: W, heads: H)
            expect(what, "out", dev.out, ref.out)
            expect(what, "probs", dev.probs, ref.probs)
            let dout = r.floats(B * T * W)
            let dqkv = try p.attentionBackward(qkv, probs: ref.probs.map(Float.init), dout: dout, batch: B, tokens: T)
            expect(what, "dqkv", dqkv, GPT2Ops.causalAttentionBackward(d(qkv), batch: B, tokens: T, width: W, heads: H,
                                                                         forward: ref, dout: d(dout)))
        }
    }

    func testAttentionCPUVariant() throws { try checkAttention(.cpu) }
    func testAttentionGPUVariant() throws { try checkAttention(.gpu) }

    // MARK: Read-in, read-out at the query token, hinge

    func checkEnds(_ variant: KernelVariant) throws {
        var r = Numbers(4)
        for (shape, B, T) in [(Self.standard, 3, 21), (Self.standard, 1, 1), (Self.awkward, 5, 7), (Self.awkward, 1, 8)] {
            let p = try program(shape, variant), W = shape.width, n = B * T
            let what = "[\(variant)] ends W=\(W) d=\(shape.d) B=\(B) T=\(T)"
            var w = weights(shape, seed: 7).converted(to: Double.self)
            w.outWeight = w.outWeight.map { $0 * 40 }   // |F| of order 1, so some margins pass 1 and the hinge is flat
            let wf = w.converted(to: Float.self)
            w = wf.converted(to: Double.self)
            // Read-in: W_in p + b_in + pos_t (a matmul launch with the position table as periodic residual).
            let prompts = r.floats(n * shape.d)
            let h0 = try p.linear(prompts, rows: n, inputs: shape.d, outputs: W, weight: wf.inWeight, bias: wf.inBias,
                                  residual: Array(wf.pos[0..<(T * W)]), period: T).y
            expect(what, "readin h0", h0, GPT2Ops.readIn(d(prompts), batch: B, tokens: T, d: shape.d, width: W,
                                                         weight: w.inWeight, bias: w.inBias, pos: w.pos))
            let dh0 = r.floats(n * W)
            let back = try p.linearBackward(prompts, rows: n, inputs: shape.d, outputs: W, weight: wf.inWeight, dy: dh0)
            let dpos = try p.positionGrad(dh0, batch: B, tokens: T)
            let ref = GPT2Ops.readInBackward(d(prompts), batch: B, tokens: T, d: shape.d, width: W,
                                             maxTokens: shape.maxTokens, dh: d(dh0))
            expect(what, "dW_in", back.dWeight, ref.dWeight)
            expect(what, "db_in", back.dBias, ref.dBias)
            expect(what, "dpos", dpos, ref.dPos)
            // Read-out and hinge on a last-block output h.
            let h = r.floats(n * W, scale: 2, offset: 0.3), labels = r.signs(B)
            let head = try p.head(h, batch: B, tokens: T, weights: wf, labels: labels)
            let q = GPT2Ops.queryToken(d(h), batch: B, tokens: T, width: W)
            let lnf = GPT2Ops.layerNorm(q, rows: B, width: W, gain: w.lnfGain, bias: w.lnfBias)
            let F = GPT2Ops.readOut(lnf.y, batch: B, width: W, weight: w.outWeight, bias: w.outBias)
            let hinge = ReferenceHinge.evaluate(F: F, labels: d(labels))
            let ro = GPT2Ops.readOutBackward(lnf.y, batch: B, width: W, weight: w.outWeight, dF: hinge.dF)
            let lb = GPT2Ops.layerNormBackward(q, rows: B, width: W, gain: w.lnfGain, forward: lnf, dy: ro.dx)
            expect(what, "lnf", head.lnf, lnf.y)
            expect(what, "F", head.F, F)
            expect(what, "dF", head.dF, hinge.dF)
            expect(what, "loss", [head.loss], [hinge.loss])
            XCTAssertEqual(head.errors, hinge.errors, "\(what): errors")
            expect(what, "dh", head.dh, GPT2Ops.queryTokenBackward(lb.dx, batch: B, tokens: T, width: W))
            expect(what, "dw_out", head.dOutWeight, ro.dWeight)
            expect(what, "db_out", head.dOutBias, ro.dBias)
            expect(what, "dlnf.gain", head.dLnfGain, lb.dGain)
            expect(what, "dlnf.bias", head.dLnfBias, lb.dBias)
        }
    }

    func testReadInReadOutCPUVariant() throws { try checkEnds(.cpu) }
    func testReadInReadOutGPUVariant() throws { try checkEnds(.gpu) }

    // MARK: AdamW

    func testAdamWMatchesReference() throws {
        let optimizer = GPT2Optimizer(lr: 2e-3, warmup: 10, weightDecay: 0.1, steps: 200)
        // Every step kind (warm-up, cosine, past the schedule) on the awkward model; one on the default.
        for (shape, steps) in [(Self.awkward, [0, 3, 57, 250]), (Self.standard, [57])] {
            var r = Numbers(5)
            let count = GPT2Weights<Float>.parameterCount(shape)
            let w = weights(shape, seed: 3)
            let g = GPT2Weights<Float>(shape: shape, packed: r.floats(count, scale: 0.1))
            var state = GPT2AdamState<Float>(shape: shape)
            state.m = r.floats(count, scale: 0.01)
            state.v = r.floats(count, scale: 1e-4, offset: 1e-4)
            for step in steps {
                var rw = w.converted(to: Double.self)
                var rs = GPT2AdamState<Double>(shape: shape)
                rs.m = d(state.m)
                rs.v = d(state.v)
                GPT2Reference.adamWUpdate(weights: &rw, grads: g.converted(to: Double.self), state: &rs, step: step,
                                          optimizer: optimizer)
                let reference = rw.packed
                for variant in KernelVariant.allCases {
                    let what = "[\(variant)] adamW W=\(shape.width) step \(step)"
                    let dev = try program(shape, variant).adamW(params: w.packed, grads: g.packed, m: state.m, v: state.v,
                                                                decayMask: GPT2Offsets.decayMask(shape), step: step,
                                                                optimizer: optimizer)
                    expect(what, "params", dev.params, reference, rtol: 1e-5, atol: 1e-6)
                    expect(what, "m", dev.m, rs.m, rtol: 1e-5, atol: 1e-6)
                    expect(what, "v", dev.v, rs.v, rtol: 1e-5, atol: 1e-6)
                    // The update itself (params − new params) to 1e-3 of its size: checks lr, decay and bias correction.
                    let delta = zip(w.packed, dev.params).map { Float(Double($0) - Double($1)) }
                    expect(what, "update", delta, zip(w.packed, reference).map { Double($0) - $1 }, rtol: 1e-3, atol: 1e-3)
                }
            }
        }
    }

    // MARK: The whole step

    /// Forward + hinge + backward on the engine against GPT2Reference.forward/backward in Double: F, loss,
    /// errors and every gradient tensor.
    func checkGradients(_ variant: KernelVariant) throws {
        var c = Config()
        c.seed = 11
        let spec = PromptSpec.training(c, bank: PatternBank(config: c))
        var r = Numbers(6)
        // (shape, batch, length, prompts): sampled default prompts; random awkward ones, with T = 1 and T odd.
        var cases: [(GPT2Shape, Int, Int, [Float], [Float])] = []
        let sampled = PromptSampler.sample(spec, step: 3, batch: 3)
        cases.append((Self.standard, 3, c.lTrain, sampled.prompts, sampled.labels))
        for (B, l) in [(5, 6), (1, 0), (2, 7)] {
            cases.append((Self.awkward, B, l, r.floats(B * (l + 1) * Self.awkward.d), r.signs(B)))
        }
        cases.append((Self.oddHeads, 3, 4, r.floats(3 * 5 * Self.oddHeads.d), r.signs(3)))
        for (shape, B, l, prompts, labels) in cases {
            let what = "[\(variant)] step W=\(shape.width) L=\(shape.layers) B=\(B) T=\(l + 1)"
            let engine = try GPT2Engine(context: Self.context, shape: shape, variant: variant, capacity: max(B, 2))
            var wf = weights(shape, seed: 21)
            wf.outWeight = wf.outWeight.map { $0 * 20 }
            try engine.state.load(weights: wf, adam: GPT2AdamState(shape: shape))
            let dev = try engine.gradients(prompts: prompts, labels: labels, batch: B, length: l)
            let w = wf.converted(to: Double.self)
            let trace = GPT2Reference.forward(w, prompts: d(prompts), batch: B, length: l)
            let hinge = ReferenceHinge.evaluate(F: trace.F, labels: d(labels))
            let ref = GPT2Reference.backward(w, prompts: d(prompts), trace: trace, dF: hinge.dF)
            expect(what, "F", dev.F, trace.F, rtol: 1e-4, atol: 1e-4)
            expect(what, "loss", [dev.stats.loss], [hinge.loss], rtol: 1e-5, atol: 0)
            XCTAssertEqual(dev.stats.errors, hinge.errors, "\(what): errors")
            for (a, b) in zip(dev.gradients.named, ref.named) {
                expect(what, "grad " + a.name, a.values, b.values, rtol: 1e-3, atol: 1e-5)
            }
        }
    }

    func testWholeStepGradientsCPUVariant() throws { try checkGradients(.cpu) }
    func testWholeStepGradientsGPUVariant() throws { try checkGradients(.gpu) }

    // MARK: Training and evaluation with on-device sampling

    /// Training prompts of l = 10 (T = 11, shorter than the default model's position table of 21 rows, so the
    /// unused rows' zero gradients go through AdamW too) keep the Double-free Float reference near 1 s a step in
    /// a debug build.
    static let trainConfig: Config = {
        var c = Config()
        c.seed = 5
        c.lTrain = 10
        return c
    }()
    /// lr 1e-3 takes the loss from 1 to ≈ 0.27 within the 20 steps and keeps the run far from chaos (device and
    /// reference agree to ≈ 1e-6; at 3e-3 AdamW's sign-like early updates amplify rounding to ≈ 5e-4).
    static let trainOptimizer = GPT2Optimizer(lr: 1e-3, warmup: 3, steps: 40)
    static let trainBatch = 8

    /// 20 steps of GPT2Reference.trainStep (Float) on the host-sampled prompts of each step: the losses and
    /// the final weights.
    static let reference: (losses: [Float], weights: GPT2Weights<Float>) = {
        let c = trainConfig, shape = standard
        let spec = PromptSpec.training(c, bank: PatternBank(config: c))
        var w = GPT2Weights<Float>.initial(shape: shape, seed: c.seed)
        var state = GPT2AdamState<Float>(shape: shape)
        let losses: [Float] = (0..<20).map { step in
            let batch = PromptSampler.sample(spec, step: step, batch: trainBatch)
            return GPT2Reference.trainStep(weights: &w, state: &state, prompts: batch.prompts, labels: batch.labels,
                                           batch: trainBatch, length: c.lTrain, step: step, optimizer: trainOptimizer).hinge.loss
        }
        return (losses, w)
    }()

    func checkTraining(_ variant: KernelVariant) throws {
        let c = Self.trainConfig, shape = Self.standard
        let spec = try SpecBuffers(context: Self.context, spec: PromptSpec.training(c, bank: PatternBank(config: c)))
        let engine = try GPT2Engine(context: Self.context, shape: shape, variant: variant, capacity: Self.trainBatch)
        try engine.state.load(weights: .initial(shape: shape, seed: c.seed), adam: GPT2AdamState(shape: shape))
        let reference = Self.reference.losses
        for step in 0..<20 {
            let s = try engine.trainStep(spec: spec, step: step, batch: Self.trainBatch, optimizer: Self.trainOptimizer)
            XCTAssertEqual(s.prompts, Self.trainBatch)
            let rel = abs(Double(s.loss) - Double(reference[step])) / abs(Double(reference[step]))
            XCTAssertLessThanOrEqual(rel, 1e-3, "[\(variant)] step \(step): device loss \(s.loss) vs reference \(reference[step])")
        }
        XCTAssertGreaterThan(reference.max()! - reference.min()!, 0.05, "the loss must move, or the agreement says little")
        // The weights after 20 updates of up to lr = 1e-3 each agree to 5e-4 (measured ≤ 1e-4).
        for (a, b) in zip(try engine.state.readWeights().named, Self.reference.weights.named) {
            let worst = zip(a.values, b.values).map { abs(Double($0) - Double($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 5e-4, "[\(variant)] \(a.name) after 20 steps")
        }
    }

    func testTwentyStepsCPUVariant() throws { try checkTraining(.cpu) }
    func testTwentyStepsGPUVariant() throws { try checkTraining(.gpu) }

    /// The engine's sampler writes the host sampler's prompts and labels bit for bit.
    func testOnDeviceSamplingMatchesHost() throws {
        let c = Self.trainConfig
        let promptSpec = PromptSpec.training(c, bank: PatternBank(config: c))
        let spec = try SpecBuffers(context: Self.context, spec: promptSpec)
        let engine = try GPT2Engine(context: Self.context, shape: Self.standard, variant: .cpu, capacity: 6)
        try engine.enqueueSample(spec, step: 13, firstPrompt: 4, batch: 5)
        let host = PromptSampler.sample(promptSpec, step: 13, batch: 5, firstPrompt: 4)
        let n = host.prompts.count
        XCTAssertEqual(try engine.workspace.prompts.read(count: n).map(\.bitPattern), host.prompts.map(\.bitPattern))
        XCTAssertEqual(try engine.workspace.labels.read(count: 5), host.labels)
    }

    /// Evaluation in chunks of the capacity agrees with the reference's outputs on the same prompts.
    func testEvaluationMatchesReference() throws {
        let c = Self.trainConfig, shape = Self.standard
        let bank = PatternBank(config: c)
        let promptSpec = PromptSpec.evaluation(c, bank: bank, domain: .outOfDomain, length: 11)
        let spec = try SpecBuffers(context: Self.context, spec: promptSpec)
        let w = weights(shape, seed: 8)
        let count = 19
        let batch = PromptSampler.sample(promptSpec, step: 0, batch: count)
        let F = GPT2Reference.outputs(w.converted(to: Double.self), prompts: d(batch.prompts), batch: count, length: 11)
        let hinge = ReferenceHinge.evaluate(F: F, labels: d(batch.labels))
        for variant in KernelVariant.allCases {
            let engine = try GPT2Engine(context: Self.context, shape: shape, variant: variant, capacity: 8)
            try engine.state.load(weights: w, adam: GPT2AdamState(shape: shape))
            let s = try engine.evaluate(spec, prompts: count)
            XCTAssertEqual(s.prompts, count)
            XCTAssertEqual(s.errors, hinge.errors, "[\(variant)] errors")
            XCTAssertEqual(Double(s.loss), hinge.loss, accuracy: 1e-5 * max(1, hinge.loss), "[\(variant)] loss")
            let dev = try engine.outputs(prompts: Array(batch.prompts[0..<(8 * 12 * c.d)]), batch: 8, length: 11)
            expect("[\(variant)] outputs", "F", dev, Array(F[0..<8]), rtol: 1e-4, atol: 1e-4)
        }
    }

    /// Prompts longer than the position table, a wrong d, or a batch over the capacity are refused with a
    /// sentence saying what to change.
    func testRejectsPromptsThatDoNotFit() throws {
        var c = Self.trainConfig
        c.lTrain = 25
        let engine = try GPT2Engine(context: Self.context, shape: Self.standard, variant: .cpu, capacity: 4)
        let long = try SpecBuffers(context: Self.context, spec: PromptSpec.training(c, bank: PatternBank(config: c)))
        XCTAssertThrowsError(try engine.trainStep(spec: long, step: 0, batch: 4, optimizer: GPT2Optimizer())) {
            XCTAssertTrue("\($0)".contains("maxTokens = 21"), "\($0)")
        }
        XCTAssertThrowsError(try engine.evaluate(long, prompts: 10)) {
            XCTAssertTrue("\($0)".contains("maxTokens"), "\($0)")
        }
        let fits = try SpecBuffers(context: Self.context, spec: PromptSpec.training(Self.trainConfig, bank: PatternBank(config: Self.trainConfig)))
        let narrow = try GPT2Engine(context: Self.context, shape: Self.awkward, variant: .cpu, capacity: 4)
        XCTAssertThrowsError(try narrow.trainStep(spec: fits, step: 0, batch: 4, optimizer: GPT2Optimizer())) {
            XCTAssertTrue("\($0)".contains("token dimension d = 9"), "\($0)")
        }
        XCTAssertThrowsError(try engine.trainStep(spec: fits, step: 0, batch: 5, optimizer: GPT2Optimizer())) {
            XCTAssertTrue("\($0)".contains("capacity = 4"), "\($0)")
        }
    }

    /// The comparison must be able to fail: a perturbed gradient is caught and named.
    func testComparisonCatchesAWrongGradient() throws {
        var r = Numbers(9)
        let x = r.floats(12), w = r.floats(6), dy = r.floats(8)
        let p = try program(Self.awkward, .cpu)
        var back = try p.linearBackward(x, rows: 4, inputs: 3, outputs: 2, weight: w, dy: dy)
        back.dWeight[4] += 1e-2
        let ref = GPT2Ops.matmulBackward(d(x), rows: 4, inputs: 3, outputs: 2, weight: d(w), dy: d(dy))
        let c = TensorComparison(kernel: "matmul", tensor: "dW", device: back.dWeight, reference: ref.dWeight,
                                 rtol: 1e-4, scaledAtol: 1e-5)
        XCTAssertEqual(c.firstBad, 4)
    }
}
