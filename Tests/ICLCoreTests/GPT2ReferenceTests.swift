import Foundation
import XCTest
@testable import ICLCore

/// The whole GPT-2-style reference: end-to-end gradients, trace consistency, causality, AdamW, the
/// schedule, validation, the parameter layout and the initialisation.
final class GPT2ReferenceTests: XCTestCase {
    /// The tiny model of the gradient checks: W = 8, H = 2 (head dim 4), L = 2, d = 5, maxTokens = 5 (one
    /// position row unused at l = 3), B = 3.
    private let tiny = GPT2Shape(width: 8, layers: 2, heads: 2, d: 5, maxTokens: 5)
    private let B = 3, l = 3

    /// Non-trivial weights: every tensor N(0, 0.4²), LayerNorm gains 1 + N(0, 0.3²).
    private func randomWeights(_ s: GPT2Shape, seed: UInt64) -> GPT2Weights<Double> {
        var w = GPT2Weights<Double>(zerosFor: s)
        var g = GaussianSequence(seed: seed, stream: .checkPrompts)
        for t in GPT2Weights<Double>.layout(s) {
            let z = g.next(t.count)
            let isGain = t.name.hasSuffix("ln1.weight") || t.name.hasSuffix("ln2.weight") || t.name == "lnf.weight"
            w[keyPath: t.path] = isGain ? z.map { 1 + 0.3 * $0 } : z.map { 0.4 * $0 }
        }
        return w
    }

    private func prompts(seed: UInt64) -> [Double] {
        var p = gpt2Gaussian(B * (l + 1) * tiny.d, seed: seed)
        for b in 0..<B { p[(b * (l + 1) + l) * tiny.d + tiny.d - 1] = 0 }    // the query's label slot
        return p
    }

    /// Central differences of `loss` against `analytic` for every entry of every tensor.
    private func checkEveryTensor(_ w: GPT2Weights<Double>, _ analytic: GPT2Gradients<Double>,
                                  file: StaticString = #filePath, line: UInt = #line,
                                  loss: (GPT2Weights<Double>) -> Double) {
        var checked = 0
        for t in GPT2Weights<Double>.layout(w.shape) {
            checked += gpt2CheckGradient(t.name, at: w[keyPath: t.path], analytic: analytic[keyPath: t.path],
                                         file: file, line: line) { values in
                var v = w
                v[keyPath: t.path] = values
                return loss(v)
            }
        }
        XCTAssertEqual(checked, GPT2Weights<Double>.parameterCount(w.shape), file: file, line: line)
    }

    func testModelGradientsSmoothLoss() {
        let w = randomWeights(tiny, seed: 1), p = prompts(seed: 2), r = gpt2Gaussian(B, seed: 3)
        let trace = GPT2Reference.forward(w, prompts: p, batch: B, length: l)
        let g = GPT2Reference.backward(w, prompts: p, trace: trace, dF: r)
        checkEveryTensor(w, g) { gpt2Dot(r, GPT2Reference.outputs($0, prompts: p, batch: B, length: l)) }
        let unused = Array(g.pos[((l + 1) * tiny.width)...])
        XCTAssertEqual(unused, [Double](repeating: 0, count: tiny.width), "position rows past the prompt get no gradient")
    }

    func testModelGradientsThroughHinge() {
        var w = randomWeights(tiny, seed: 34)
        w.outWeight = w.outWeight.map { 3 * $0 }                    // outputs well past ±1
        let p = prompts(seed: 35)
        let F = GPT2Reference.outputs(w, prompts: p, batch: B, length: l)
        // Labels: the prompt of largest |F| agrees with F (margin > 1: no loss); the others get +1 where
        // F < 1 (active), else −1 (active too), so the active ones need not cancel in Σ dF.
        let top = F.indices.max { abs(F[$0]) < abs(F[$1]) }!
        let labels: [Double] = F.indices.map { b in b == top ? (F[b] > 0 ? 1 : -1) : (F[b] < 1 ? 1 : -1) }
        let margins = zip(F, labels).map { $0 * $1 }
        XCTAssertGreaterThan(margins[top], 1 + 1e-3, "one prompt must sit past the margin: pick another seed")
        XCTAssertEqual(margins.filter { $0 < 1 - 1e-3 }.count, B - 1)
        let trace = GPT2Reference.forward(w, prompts: p, batch: B, length: l)
        let hinge = ReferenceHinge.evaluate(F: trace.F, labels: labels)
        XCTAssertEqual(hinge.dF[top], 0)
        let g = GPT2Reference.backward(w, prompts: p, trace: trace, dF: hinge.dF)
        checkEveryTensor(w, g) {
            ReferenceHinge.evaluate(F: GPT2Reference.outputs($0, prompts: p, batch: B, length: l), labels: labels).loss
        }
    }

    func testTraceIsConsistent() {
        let w = randomWeights(tiny, seed: 6), p = prompts(seed: 7), n = l + 1, W = tiny.width
        let t = GPT2Reference.forward(w, prompts: p, batch: B, length: l)
        XCTAssertEqual(t.F, GPT2Reference.outputs(w, prompts: p, batch: B, length: l))
        XCTAssertEqual(t.blocks.count, tiny.layers)
        XCTAssertEqual(t.blocks[0].input, t.readIn)
        XCTAssertEqual(t.blocks[1].input, t.blocks[0].output)
        for bt in t.blocks {
            XCTAssertEqual(bt.x, GPT2Ops.residualAdd(bt.input, bt.proj))
            XCTAssertEqual(bt.output, GPT2Ops.residualAdd(bt.x, bt.fc2))
            XCTAssertEqual(bt.qkv.count, B * n * 3 * W)
            XCTAssertEqual(bt.fc.count, B * n * tiny.mlpWidth)
            XCTAssertEqual(bt.attention.probs.count, B * tiny.heads * n * n)
        }
        XCTAssertEqual(t.query, GPT2Ops.queryToken(t.blocks[1].output, batch: B, tokens: n, width: W))
        // The loss gradient reaches the last block's output at the query token only.
        let r = gpt2Gaussian(B, seed: 8)
        let bw = GPT2Reference.backwardTrace(w, prompts: p, trace: t, dF: r)
        let last = bw.dBlockOutputs[tiny.layers - 1]
        for b in 0..<B {
            for tok in 0..<n {
                let row = last[((b * n + tok) * W)..<((b * n + tok + 1) * W)]
                XCTAssertEqual(row.contains { $0 != 0 }, tok == n - 1, "prompt \(b) token \(tok)")
            }
        }
        XCTAssertTrue(bw.dReadIn.contains { $0 != 0 })
        XCTAssertEqual(bw.gradients, GPT2Reference.backward(w, prompts: p, trace: t, dF: r))
    }

    func testModelIsCausalAndPromptsAreIndependent() {
        let w = randomWeights(tiny, seed: 9), p = prompts(seed: 10), n = l + 1, W = tiny.width, d = tiny.d
        var changed = p
        for j in 0..<d { changed[1 * d + j] += 0.5 }                 // column 1 of prompt 0
        let a = GPT2Reference.forward(w, prompts: p, batch: B, length: l)
        let b = GPT2Reference.forward(w, prompts: changed, batch: B, length: l)
        let out = tiny.layers - 1
        XCTAssertEqual(Array(a.blocks[out].output[0..<W]), Array(b.blocks[out].output[0..<W]), "token 0 must not see token 1")
        XCTAssertNotEqual(Array(a.blocks[out].output[W..<(2 * W)]), Array(b.blocks[out].output[W..<(2 * W)]))
        XCTAssertEqual(Array(a.blocks[out].output[(n * W)...]), Array(b.blocks[out].output[(n * W)...]))
        XCTAssertNotEqual(a.F[0], b.F[0])
        XCTAssertEqual(Array(a.F[1...]), Array(b.F[1...]))
    }

    // MARK: AdamW and the schedule

    func testAdamWHandSteps() {
        // Two parameters, lr 0.1 with no warm-up and a long schedule (η ≈ 0.1), λ = 0.01 on the first only.
        let o = GPT2Optimizer(lr: 0.1, warmup: 0, minLRFraction: 1, weightDecay: 0.01, steps: 1000)
        var p: [Double] = [1, -2], m: [Double] = [0, 0], v: [Double] = [0, 0]
        // Step 0 (t = 1): m̂ = g, v̂ = g², so the Adam step is g/(|g| + ε):
        //   w₀ = 1 − 0.1 (0.5/(0.5 + 1e-8) + 0.01·1) = 0.899000002
        //   w₁ = −2 − 0.1 (−0.1/(0.1 + 1e-8))       = −1.90000001
        GPT2Reference.adamW(&p, grads: [0.5, -0.1], m: &m, v: &v, offset: 0, decay: 0.01, step: 0, optimizer: o)
        XCTAssertEqual(p[0], 0.899000002, accuracy: 1e-15)
        XCTAssertEqual(m[0], 0.05, accuracy: 1e-16, "m = (1 − β1) g")
        XCTAssertEqual(m[1], -0.01, accuracy: 1e-16)
        XCTAssertEqual(v[0], 0.00025, accuracy: 1e-18, "v = (1 − β2) g²")
        var q: [Double] = [-2], mq: [Double] = [0], vq: [Double] = [0]
        GPT2Reference.adamW(&q, grads: [-0.1], m: &mq, v: &vq, offset: 0, decay: 0, step: 0, optimizer: o)
        XCTAssertEqual(q[0], -1.900000009999999, accuracy: 1e-15)
        // Step 1 (t = 2), g = 0.2: m = 0.9·0.05 + 0.02 = 0.065, v = 0.999·0.00025 + 0.001·0.04 = 0.00028975,
        // m̂ = 0.065/0.19, v̂ = 0.00028975/0.001999, w = 0.899000002 − 0.1 (m̂/(√v̂ + 1e-8) + 0.01·0.899000002).
        GPT2Reference.adamW(&p, grads: [0.2, 0.3], m: &m, v: &v, offset: 0, decay: 0.01, step: 1, optimizer: o)
        XCTAssertEqual(p[0], 0.8082434839009283, accuracy: 1e-13)
        XCTAssertEqual(m[0], 0.065, accuracy: 1e-16)
        XCTAssertEqual(v[0], 0.00028975, accuracy: 1e-18)
        // The moments live at `offset`: a second tensor's slot is untouched.
        var r: [Double] = [1], mr: [Double] = [7, 0], vr: [Double] = [7, 0]
        GPT2Reference.adamW(&r, grads: [1], m: &mr, v: &vr, offset: 1, decay: 0, step: 0, optimizer: o)
        XCTAssertEqual(mr[0], 7)
        XCTAssertEqual(mr[1], 0.1, accuracy: 1e-16)
        XCTAssertEqual(vr[0], 7)
    }

    func testAdamWDecaysOnlyMatrices() {
        // Zero gradients: the Adam step is 0, so only decoupled decay moves a weight: w ← (1 − ηλ) w.
        let o = GPT2Optimizer(lr: 0.1, warmup: 0, minLRFraction: 1, weightDecay: 0.5, steps: 10)
        let before = randomWeights(tiny, seed: 11)
        var w = before
        var state = GPT2AdamState<Double>(shape: tiny)
        GPT2Reference.adamWUpdate(weights: &w, grads: GPT2Gradients(zerosFor: tiny), state: &state, step: 0, optimizer: o)
        var decayed: [String] = []
        for t in GPT2Weights<Double>.layout(tiny) {
            let a = before[keyPath: t.path], b = w[keyPath: t.path]
            if t.decays {
                decayed.append(t.name)
                for k in a.indices { XCTAssertEqual(b[k], a[k] * 0.95, accuracy: 1e-15, t.name) }
            } else {
                XCTAssertEqual(a, b, "\(t.name) must not decay")
            }
        }
        XCTAssertEqual(decayed, ["readin.weight", "block0.attn.qkv.weight", "block0.attn.proj.weight",
                                 "block0.mlp.fc.weight", "block0.mlp.fc2.weight", "block1.attn.qkv.weight",
                                 "block1.attn.proj.weight", "block1.mlp.fc.weight", "block1.mlp.fc2.weight",
                                 "readout.weight"])
        XCTAssertEqual(state.m, [Double](repeating: 0, count: state.m.count))
    }

    func testAdamWUpdateMatchesPerTensorRule() {
        // The whole-model update is the per-tensor rule over the packed layout, and it uses the schedule:
        // step 0 of a warm-up has η = 0, so the weights stay and only the moments move.
        let o = GPT2Optimizer()
        let w0 = randomWeights(tiny, seed: 12), g = randomWeights(tiny, seed: 13)
        var w = w0, state = GPT2AdamState<Double>(shape: tiny)
        GPT2Reference.adamWUpdate(weights: &w, grads: g, state: &state, step: 0, optimizer: o)
        XCTAssertEqual(w, w0)
        XCTAssertEqual(state.m, g.packed.map { (1 - 0.9) * $0 })
        GPT2Reference.adamWUpdate(weights: &w, grads: g, state: &state, step: 50, optimizer: o)
        var p = w0.packed, m = g.packed.map { (1 - 0.9) * $0 }, v = g.packed.map { (1 - 0.999) * $0 * $0 }
        var at = 0
        for t in GPT2Weights<Double>.layout(tiny) {
            var x = Array(p[at..<(at + t.count)])
            GPT2Reference.adamW(&x, grads: g[keyPath: t.path], m: &m, v: &v, offset: at,
                                decay: t.decays ? o.weightDecay : 0, step: 50, optimizer: o)
            p.replaceSubrange(at..<(at + t.count), with: x)
            at += t.count
        }
        XCTAssertEqual(w.packed, p)
        XCTAssertNotEqual(w, w0)
        XCTAssertEqual(state.m, m)
        XCTAssertEqual(state.v, v)
    }

    func testLearningRateSchedule() {
        let o = GPT2Optimizer(lr: 1e-3, warmup: 100, minLRFraction: 0.1, steps: 1100)
        XCTAssertEqual(o.learningRate(step: 0), 0)
        XCTAssertEqual(o.learningRate(step: 50), 5e-4, accuracy: 1e-18)
        XCTAssertEqual(o.learningRate(step: 100), 1e-3, accuracy: 1e-18)          // warm-up end: the peak
        XCTAssertEqual(o.learningRate(step: 600), 5.5e-4, accuracy: 1e-15)        // half-way: (lr + lr_min)/2
        XCTAssertEqual(o.learningRate(step: 1100), 1e-4, accuracy: 1e-18)         // end: lr_min
        XCTAssertEqual(o.learningRate(step: 5000), 1e-4, accuracy: 1e-18)
        let cosine = (100...1100).map { o.learningRate(step: $0) }
        XCTAssertTrue(zip(cosine, cosine.dropFirst()).allSatisfy { $0 > $1 }, "strictly decreasing after warm-up")
        let warm = (0...100).map { o.learningRate(step: $0) }
        XCTAssertTrue(zip(warm, warm.dropFirst()).allSatisfy { $0 < $1 }, "strictly increasing in warm-up")
        XCTAssertEqual(GPT2Optimizer(warmup: 0).learningRate(step: 0), 1e-3)
        let d = GPT2Optimizer()
        XCTAssertEqual([d.lr, d.minLRFraction, d.weightDecay, d.beta1, d.beta2, d.eps], [1e-3, 0.1, 0.01, 0.9, 0.999, 1e-8])
        XCTAssertEqual(d.warmup, 100)
    }

    // MARK: Validation

    func testValidation() {
        XCTAssertNoThrow(try GPT2Shape().validate())
        XCTAssertNoThrow(try GPT2Optimizer().validate())
        XCTAssertNoThrow(try tiny.validate())
        let c = Config()
        let fromConfig = GPT2Shape(config: c)
        XCTAssertEqual(fromConfig, GPT2Shape(width: 64, layers: 3, heads: 2, d: 40, maxTokens: 21))
        XCTAssertEqual(fromConfig.headDim, 32)
        XCTAssertEqual(fromConfig.mlpWidth, 256)
        func message(_ f: () throws -> Void) -> String {
            do { try f() } catch let e as ConfigError { return e.message } catch { return "other error \(error)" }
            return "no error"
        }
        XCTAssertEqual(message { try GPT2Shape(width: 64, heads: 3).validate() },
                       "GPT-2 shape field 'heads' = 3 is out of range: must divide width = 64 so every head has the same width.")
        XCTAssertTrue(message { try GPT2Shape(width: 0).validate() }.contains("'width' = 0"))
        XCTAssertTrue(message { try GPT2Shape(layers: 0).validate() }.contains("'layers' = 0"))
        XCTAssertTrue(message { try GPT2Shape(heads: 128).validate() }.contains("'heads' = 128"))
        XCTAssertTrue(message { try GPT2Shape(d: 0).validate() }.contains("'d' = 0"))
        XCTAssertTrue(message { try GPT2Shape(maxTokens: 1).validate() }.contains("'maxTokens' = 1"))
        XCTAssertEqual(message { try GPT2Optimizer(warmup: 2000, steps: 2000).validate() },
                       "GPT-2 optimizer field 'warmup' = 2000 is out of range: must be in [0, steps − 1 = 1999].")
        XCTAssertTrue(message { try GPT2Optimizer(lr: 0).validate() }.contains("'lr' = 0.0"))
        XCTAssertTrue(message { try GPT2Optimizer(lr: .nan).validate() }.contains("'lr'"))
        XCTAssertTrue(message { try GPT2Optimizer(minLRFraction: 1.5).validate() }.contains("'minLRFraction'"))
        XCTAssertTrue(message { try GPT2Optimizer(weightDecay: -1).validate() }.contains("'weightDecay'"))
        XCTAssertTrue(message { try GPT2Optimizer(beta1: 1).validate() }.contains("'beta1'"))
        XCTAssertTrue(message { try GPT2Optimizer(beta2: -0.1).validate() }.contains("'beta2'"))
        XCTAssertTrue(message { try GPT2Optimizer(eps: 0).validate() }.contains("'eps'"))
        XCTAssertTrue(message { try GPT2Optimizer(steps: 0).validate() }.contains("'steps' = 0"))
    }

    // MARK: Layout and initialisation

    func testPackedRoundTripAndNames() {
        let s = GPT2Shape(width: 8, layers: 2, heads: 2, d: 5, maxTokens: 5)
        let n = GPT2Weights<Double>.parameterCount(s)
        // read-in 8·5 + 8, pos 5·8; per block LN 4·8, qkv 24·8 + 24, proj 8·8 + 8, fc 32·8 + 32, fc2 8·32 + 8;
        // LN_f 2·8; read-out 8 + 1.
        XCTAssertEqual(n, 40 + 8 + 40 + 2 * (32 + 192 + 24 + 64 + 8 + 256 + 32 + 256 + 8) + 16 + 9)
        let values = gpt2Gaussian(n, seed: 14)
        let w = GPT2Weights<Double>(shape: s, packed: values)
        XCTAssertEqual(w.packed, values)
        XCTAssertEqual(GPT2Weights<Double>(shape: s, packed: w.packed), w)
        // The documented order: read-in first, read-out bias last.
        XCTAssertEqual(Array(w.inWeight), Array(values[0..<40]))
        XCTAssertEqual(w.outBias, [values[n - 1]])
        XCTAssertEqual(w.blocks[0].ln1Gain, Array(values[88..<96]))
        XCTAssertEqual(w.blocks[0].qkvWeight, Array(values[104..<296]))
        let named = w.named
        XCTAssertEqual(Set(named.map(\.name)).count, named.count, "names are unique")
        XCTAssertEqual(named.count, 3 + 12 * s.layers + 4)
        let qkv = named.first { $0.name == "block1.attn.qkv.weight" }
        XCTAssertEqual(qkv?.shape, [24, 8])
        XCTAssertEqual(qkv?.values, w.blocks[1].qkvWeight)
        XCTAssertEqual(named.map(\.name).prefix(5), ["readin.weight", "readin.bias", "pos", "block0.ln1.weight", "block0.ln1.bias"])
        XCTAssertEqual(named.map(\.name).suffix(4), ["lnf.weight", "lnf.bias", "readout.weight", "readout.bias"])
        for t in named { XCTAssertEqual(t.shape.reduce(1, *), t.values.count, t.name) }
        XCTAssertEqual(named.flatMap(\.values), values)
        // Precision round trip.
        let f = w.converted(to: Float.self)
        XCTAssertEqual(f.packed, values.map { Float($0) })
        XCTAssertEqual(f.converted(to: Double.self).converted(to: Float.self), f)
    }

    func testInitialWeights() {
        let s = GPT2Shape()
        let a = GPT2Weights<Float>.initial(shape: s, seed: 1)
        XCTAssertEqual(a, GPT2Weights<Float>.initial(shape: s, seed: 1), "deterministic per seed")
        let b = GPT2Weights<Float>.initial(shape: s, seed: 2)
        XCTAssertNotEqual(a.inWeight, b.inWeight)
        XCTAssertNotEqual(a.blocks[2].fc2Weight, b.blocks[2].fc2Weight)
        XCTAssertNotEqual(a.pos, b.pos)
        func std(_ x: [Float]) -> Double {
            let m = x.reduce(0) { $0 + Double($1) } / Double(x.count)
            return (x.reduce(0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(x.count)).squareRoot()
        }
        let residual = 0.02 / 6.0.squareRoot()
        for blk in a.blocks {
            XCTAssertEqual(std(blk.qkvWeight), 0.02, accuracy: 0.02 * 0.03)
            XCTAssertEqual(std(blk.fcWeight), 0.02, accuracy: 0.02 * 0.03)
            XCTAssertEqual(std(blk.projWeight), residual, accuracy: residual * 0.05)
            XCTAssertEqual(std(blk.fc2Weight), residual, accuracy: residual * 0.03)
            XCTAssertEqual(blk.ln1Gain, [Float](repeating: 1, count: 64))
            XCTAssertEqual(blk.ln2Gain, [Float](repeating: 1, count: 64))
            for z in [blk.ln1Bias, blk.ln2Bias, blk.qkvBias, blk.projBias, blk.fcBias, blk.fc2Bias] {
                XCTAssertTrue(z.allSatisfy { $0 == 0 })
            }
        }
        XCTAssertEqual(std(a.inWeight), 0.02, accuracy: 0.02 * 0.08)
        XCTAssertEqual(std(a.pos), 0.01, accuracy: 0.01 * 0.08)
        XCTAssertEqual(a.lnfGain, [Float](repeating: 1, count: 64))
        XCTAssertTrue((a.inBias + a.lnfBias + a.outBias).allSatisfy { $0 == 0 })
        XCTAssertTrue(a.outWeight.contains { $0 != 0 })
        // The draws come from the `.initWeights` stream at counter 2³¹, in layout order.
        var g = GaussianSequence(seed: 1, stream: .initWeights)
        g.counter = 1 << 31
        XCTAssertEqual(a.inWeight.prefix(4).map { $0 }, g.next(4).map { Float($0 * 0.02) })
        // Double init is the same draws.
        XCTAssertEqual(GPT2Weights<Double>.initial(shape: s, seed: 1).converted(to: Float.self), a)
    }
}
