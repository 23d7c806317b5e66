#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One block's forward intermediates, all [B, T, ·] with T = l + 1 tokens (n = B·T rows).
public struct GPT2BlockTrace<T: RefReal> {
    /// Block input h. [B, T, W]
    public var input: [T]
    /// LN1(h) with its row statistics. [B, T, W]
    public var ln1: GPT2Ops.LayerNormForward<T>
    /// Fused q | k | v. [B, T, 3W]
    public var qkv: [T]
    /// Attention output (before the projection) and probabilities [B, H, T, T].
    public var attention: GPT2Ops.AttentionForward<T>
    /// Attention output projection. [B, T, W]
    public var proj: [T]
    /// x = h + proj. [B, T, W]
    public var x: [T]
    /// LN2(x). [B, T, W]
    public var ln2: GPT2Ops.LayerNormForward<T>
    /// MLP up-projection before the GELU. [B, T, 4W]
    public var fc: [T]
    /// GELU(fc). [B, T, 4W]
    public var gelu: [T]
    /// MLP down-projection. [B, T, W]
    public var fc2: [T]
    /// Block output h' = x + fc2. [B, T, W]
    public var output: [T]
}

/// The whole forward pass with every intermediate kept: the oracle for op-by-op cross-checks.
public struct GPT2Trace<T: RefReal> {
    public var batch: Int
    public var tokens: Int
    /// h⁰ = W_in p + b_in + pos. [B, T, W]
    public var readIn: [T]
    public var blocks: [GPT2BlockTrace<T>]
    /// The last block's output at the query token. [B, W]
    public var query: [T]
    /// LN_f(query). [B, W]
    public var lnf: GPT2Ops.LayerNormForward<T>
    /// Model outputs F. [B]
    public var F: [T]
}

/// The backward pass: parameter gradients and the loss gradient at every block boundary.
public struct GPT2BackwardTrace<T: RefReal> {
    public var gradients: GPT2Gradients<T>
    /// ∂loss/∂(block i output), i = 0..<L. [B, T, W] each
    public var dBlockOutputs: [[T]]
    /// ∂loss/∂h⁰ (the read-in output, the first block's input). [B, T, W]
    public var dReadIn: [T]
}

/// AdamW moments in the `packed` layout of `GPT2Weights`. [parameterCount] each
public struct GPT2AdamState<T: RefReal>: Equatable {
    public var m: [T]
    public var v: [T]

    public init(shape: GPT2Shape) {
        let n = GPT2Weights<T>.parameterCount(shape)
        m = [T](repeating: 0, count: n)
        v = [T](repeating: 0, count: n)
    }
}

/// One training step's result.
public struct GPT2StepResult<T: RefReal> {
    public var trace: GPT2Trace<T>
    public var hinge: ReferenceHinge.Result<T>
    public var gradients: GPT2Gradients<T>
    /// The learning rate the update used.
    public var lr: Double
}

/// CPU reference of the GPT-2-style model (PAPER.md §6): prompts [B, l+1, d] row-major, column t of prompt
/// b at (b·(l+1) + t)·d, each column a token, query last.
public enum GPT2Reference {
    /// Forward pass with every intermediate. prompts: [B, l+1, d], l + 1 ≤ maxTokens.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func forward<T: RefReal>(_ w: GPT2Weights<T>, prompts: [T], batch B: Int, length l: Int) -> GPT2Trace<T> {
        let s = w.shape, n = l + 1, W = s.width, M = s.mlpWidth, rows = B * n
        precondition(n <= s.maxTokens, "prompt of \(n) columns is longer than maxTokens = \(s.maxTokens)")
        precondition(prompts.count == B * n * s.d)
        let h0 = GPT2Ops.readIn(prompts, batch: B, tokens: n, d: s.d, width: W, weight: w.inWeight, bias: w.inBias,
                                pos: w.pos)
        var h = h0
        var blocks: [GPT2BlockTrace<T>] = []
        for blk in w.blocks {
            let ln1 = GPT2Ops.layerNorm(h, rows: rows, width: W, gain: blk.ln1Gain, bias: blk.ln1Bias)
            let qkv = GPT2Ops.matmul(ln1.y, rows: rows, inputs: W, outputs: 3 * W, weight: blk.qkvWeight, bias: blk.qkvBias)
            let att = GPT2Ops.causalAttention(qkv, batch: B, tokens: n, width: W, heads: s.heads)
            let proj = GPT2Ops.matmul(att.out, rows: rows, inputs: W, outputs: W, weight: blk.projWeight, bias: blk.projBias)
            let x = GPT2Ops.residualAdd(h, proj)
            let ln2 = GPT2Ops.layerNorm(x, rows: rows, width: W, gain: blk.ln2Gain, bias: blk.ln2Bias)
            let fc = GPT2Ops.matmul(ln2.y, rows: rows, inputs: W, outputs: M, weight: blk.fcWeight, bias: blk.fcBias)
            let gelu = GPT2Ops.gelu(fc)
            let fc2 = GPT2Ops.matmul(gelu, rows: rows, inputs: M, outputs: W, weight: blk.fc2Weight, bias: blk.fc2Bias)
            let out = GPT2Ops.residualAdd(x, fc2)
            blocks.append(GPT2BlockTrace(input: h, ln1: ln1, qkv: qkv, attention: att, proj: proj, x: x, ln2: ln2,
                                         fc: fc, gelu: gelu, fc2: fc2, output: out))
            h = out
        }
        let query = GPT2Ops.queryToken(h, batch: B, tokens: n, width: W)
        let lnf = GPT2Ops.layerNorm(query, rows: B, width: W, gain: w.lnfGain, bias: w.lnfBias)
        let F = GPT2Ops.readOut(lnf.y, batch: B, width: W, weight: w.outWeight, bias: w.outBias)
        return GPT2Trace(batch: B, tokens: n, readIn: h0, blocks: blocks, query: query, lnf: lnf, F: F)
    }

    /// Model outputs F [B] only.
    @_specialize(where T == Float)
    public static func outputs<T: RefReal>(_ w: GPT2Weights<T>, prompts: [T], batch B: Int, length l: Int) -> [T] {
        forward(w, prompts: prompts, batch: B, length: l).F
    }

    /// Gradients of a loss with ∂loss/∂F = dF [B], at the point of `trace`.
    public static func backward<T: RefReal>(_ w: GPT2Weights<T>, prompts: [T], trace: GPT2Trace<T>,
                                            dF: [T]) -> GPT2Gradients<T> {
        backwardTrace(w, prompts: prompts, trace: trace, dF: dF).gradients
    }

    /// `backward` with the loss gradient at every block boundary kept.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backwardTrace<T: RefReal>(_ w: GPT2Weights<T>, prompts: [T], trace tr: GPT2Trace<T>,
                                                 dF: [T]) -> GPT2BackwardTrace<T> {
        let s = w.shape, B = tr.batch, n = tr.tokens, W = s.width, M = s.mlpWidth, rows = B * n
        precondition(dF.count == B)
        var g = GPT2Gradients<T>(zerosFor: s)
        // F = w_out · LN_f(query) + b_out
        let ro = GPT2Ops.readOutBackward(tr.lnf.y, batch: B, width: W, weight: w.outWeight, dF: dF)
        g.outWeight = ro.dWeight
        g.outBias = ro.dBias
        let lnf = GPT2Ops.layerNormBackward(tr.query, rows: B, width: W, gain: w.lnfGain, forward: tr.lnf, dy: ro.dx)
        g.lnfGain = lnf.dGain
        g.lnfBias = lnf.dBias
        var dh = GPT2Ops.queryTokenBackward(lnf.dx, batch: B, tokens: n, width: W)
        var dOutputs = [[T]](repeating: [], count: s.layers)
        for i in (0..<s.layers).reversed() {
            let blk = w.blocks[i], bt = tr.blocks[i]
            dOutputs[i] = dh
            // h' = x + fc2(GELU(fc(LN2(x))))
            let dfc2 = GPT2Ops.matmulBackward(bt.gelu, rows: rows, inputs: M, outputs: W, weight: blk.fc2Weight, dy: dh)
            let dgelu = GPT2Ops.geluBackward(bt.fc, dy: dfc2.dx)
            let dfc = GPT2Ops.matmulBackward(bt.ln2.y, rows: rows, inputs: W, outputs: M, weight: blk.fcWeight, dy: dgelu)
            let dln2 = GPT2Ops.layerNormBackward(bt.x, rows: rows, width: W, gain: blk.ln2Gain, forward: bt.ln2, dy: dfc.dx)
            let dx = GPT2Ops.residualAdd(dh, dln2.dx)
            // x = h + proj(Attn(qkv(LN1(h))))
            let dproj = GPT2Ops.matmulBackward(bt.attention.out, rows: rows, inputs: W, outputs: W,
                                               weight: blk.projWeight, dy: dx)
            let dqkv = GPT2Ops.causalAttentionBackward(bt.qkv, batch: B, tokens: n, width: W, heads: s.heads,
                                                       forward: bt.attention, dout: dproj.dx)
            let dqkvW = GPT2Ops.matmulBackward(bt.ln1.y, rows: rows, inputs: W, outputs: 3 * W, weight: blk.qkvWeight,
                                               dy: dqkv)
            let dln1 = GPT2Ops.layerNormBackward(bt.input, rows: rows, width: W, gain: blk.ln1Gain, forward: bt.ln1,
                                                 dy: dqkvW.dx)
            dh = GPT2Ops.residualAdd(dx, dln1.dx)
            g.blocks[i] = GPT2Block(ln1Gain: dln1.dGain, ln1Bias: dln1.dBias, qkvWeight: dqkvW.dWeight,
                                    qkvBias: dqkvW.dBias, projWeight: dproj.dWeight, projBias: dproj.dBias,
                                    ln2Gain: dln2.dGain, ln2Bias: dln2.dBias, fcWeight: dfc.dWeight, fcBias: dfc.dBias,
                                    fc2Weight: dfc2.dWeight, fc2Bias: dfc2.dBias)
        }
        let ri = GPT2Ops.readInBackward(prompts, batch: B, tokens: n, d: s.d, width: W, maxTokens: s.maxTokens, dh: dh)
        g.inWeight = ri.dWeight
        g.inBias = ri.dBias
        g.pos = ri.dPos
        return GPT2BackwardTrace(gradients: g, dBlockOutputs: dOutputs, dReadIn: dh)
    }

    /// One AdamW update (step is 0-based; bias correction uses t = step + 1), at `optimizer.learningRate(step:)`:
    ///   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²,  m̂ = m/(1 − β1ᵗ),  v̂ = v/(1 − β2ᵗ),
    ///   w ← w − η (m̂/(√v̂ + ε) + λ w), with λ = weightDecay for the decayed tensors (matrices) and 0 else.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func adamWUpdate<T: RefReal>(weights w: inout GPT2Weights<T>, grads: GPT2Gradients<T>,
                                               state: inout GPT2AdamState<T>, step: Int, optimizer o: GPT2Optimizer) {
        precondition(grads.shape == w.shape && state.m.count == GPT2Weights<T>.parameterCount(w.shape))
        var at = 0
        for tensor in GPT2Weights<T>.layout(w.shape) {
            var p = w[keyPath: tensor.path]
            adamW(&p, grads: grads[keyPath: tensor.path], m: &state.m, v: &state.v, offset: at,
                  decay: tensor.decays ? o.weightDecay : 0, step: step, optimizer: o)
            w[keyPath: tensor.path] = p
            at += p.count
        }
    }

    /// The AdamW rule of `adamWUpdate` on one tensor: params[k] with moments m[offset + k], v[offset + k],
    /// weight decay `decay` (λ, or 0 for tensors that do not decay).
    public static func adamW<T: RefReal>(_ params: inout [T], grads g: [T], m: inout [T], v: inout [T], offset: Int,
                                         decay: Double, step: Int, optimizer o: GPT2Optimizer) {
        precondition(g.count == params.count && offset + params.count <= min(m.count, v.count))
        let t = Double(step + 1)
        let lr = T(o.learningRate(step: step)), lambda = T(decay)
        let b1 = T(o.beta1), b2 = T(o.beta2), eps = T(o.eps)
        let c1 = T(1 - pow(o.beta1, t)), c2 = T(1 - pow(o.beta2, t))
        for k in params.indices {
            let i = offset + k
            m[i] = b1 * m[i] + (1 - b1) * g[k]
            v[i] = b2 * v[i] + (1 - b2) * g[k] * g[k]
            let mHat = m[i] / c1, vHat = v[i] / c2
            params[k] -= lr * (mHat / (vHat.squareRoot() + eps) + lambda * params[k])
        }
    }

    /// One training step on a given batch: forward, hinge loss, backward, AdamW update at `step`.
    /// prompts: [B, l+1, d]; labels: [B] of ±1.
    @discardableResult
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func trainStep<T: RefReal>(weights w: inout GPT2Weights<T>, state: inout GPT2AdamState<T>,
                                             prompts: [T], labels: [T], batch B: Int, length l: Int, step: Int,
                                             optimizer: GPT2Optimizer) -> GPT2StepResult<T> {
        let trace = forward(w, prompts: prompts, batch: B, length: l)
        let hinge = ReferenceHinge.evaluate(F: trace.F, labels: labels)
        let grads = backward(w, prompts: prompts, trace: trace, dF: hinge.dF)
        adamWUpdate(weights: &w, grads: grads, state: &state, step: step, optimizer: optimizer)
        return GPT2StepResult(trace: trace, hinge: hinge, gradients: grads, lr: optimizer.learningRate(step: step))
    }
}
