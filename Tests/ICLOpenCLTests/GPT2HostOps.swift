import Foundation
import ICLCore
import ICLOpenCL

/// One op at a time on host arrays, the device twins of `GPT2Ops` for the cross-checks: each uploads its
/// inputs, runs the op's launches and reads the outputs back. Slow by design; the engine never uses them.
extension GPT2Program {
    func upload(_ values: [Float], _ label: String) throws -> CLBuffer<Float> {
        values.isEmpty ? try context.buffer(Float.self, count: 1, label: label) : try context.buffer(values, label: label)
    }

    func scratch(_ count: Int, _ label: String) throws -> CLBuffer<Float> {
        try context.buffer(Float.self, count: max(count, 1), label: label)
    }

    /// y = x Wᵀ + b [+ residual[(r mod period)]]; with `gelu`, also GELU(y), and with `keepSlope` y is GELU'(y).
    /// x [n, i], weight [o, i], bias [o].
    public func linear(_ x: [Float], rows n: Int, inputs i: Int, outputs o: Int, weight: [Float], bias: [Float],
                       residual: [Float]? = nil, period: Int? = nil, gelu: Bool = false,
                       keepSlope: Bool = false) throws -> (y: [Float], gelu: [Float]?) {
        let xb = try upload(x, "x"), wb = try upload(weight, "weight"), bb = try upload(bias, "bias")
        let y = try scratch(n * o, "y"), g = try scratch(gelu ? n * o : 1, "gelu")
        let r = try residual.map { try upload($0, "residual") }
        try launchLinear(x: GPT2Slice(xb), weight: GPT2Slice(wb), bias: GPT2Slice(bb), y: GPT2Slice(y), rows: n, inputs: i,
                         outputs: o, residual: r.map { GPT2Slice($0) }, period: period, gelu: gelu ? GPT2Slice(g) : nil,
                         keepSlope: keepSlope)
        return (try y.read(count: n * o), gelu ? try g.read(count: n * o) : nil)
    }

    /// dx = dy W [⊙ GELU'(geluInput)] [⊙ slope], dW = dyᵀ x, db = Σ dy.
    public func linearBackward(_ x: [Float], rows n: Int, inputs i: Int, outputs o: Int, weight: [Float], dy: [Float],
                               geluInput: [Float]? = nil, slope: [Float]? = nil) throws
        -> (dx: [Float], dWeight: [Float], dBias: [Float]) {
        let xb = try upload(x, "x"), wb = try upload(weight, "weight"), dyb = try upload(dy, "dy")
        let dx = try scratch(n * i, "dx"), dW = try scratch(o * i, "dW"), db = try scratch(o, "db")
        let g = try geluInput.map { try upload($0, "gelu input") }, s = try slope.map { try upload($0, "slope") }
        try launchLinearInputGrad(dy: GPT2Slice(dyb), weight: GPT2Slice(wb), dx: GPT2Slice(dx), rows: n, inputs: i,
                                  outputs: o, geluInput: g.map { GPT2Slice($0) }, slope: s.map { GPT2Slice($0) })
        try launchLinearWeightGrad(dy: GPT2Slice(dyb), x: GPT2Slice(xb), dWeight: GPT2Slice(dW), dBias: GPT2Slice(db),
                                   rows: n, inputs: i, outputs: o)
        return (try dx.read(count: n * i), try dW.read(count: o * i), try db.read(count: o))
    }

    /// LayerNorm forward over rows of W.
    public func layerNorm(_ x: [Float], rows n: Int, gain: [Float], bias: [Float]) throws
        -> (y: [Float], mean: [Float], rstd: [Float]) {
        let W = shape.width
        let xb = try upload(x, "x"), pb = try upload(gain + bias, "gain | bias")
        let y = try scratch(n * W, "y"), mean = try scratch(n, "mean"), rstd = try scratch(n, "rstd")
        try launchLayerNorm(x: xb, params: pb, gain: 0, bias: W, y: y, mean: mean, rstd: rstd, rows: n)
        return (try y.read(count: n * W), try mean.read(count: n), try rstd.read(count: n))
    }

    /// LayerNorm backward: dx [+ residual], dγ, dβ.
    public func layerNormBackward(_ x: [Float], rows n: Int, gain: [Float], mean: [Float], rstd: [Float], dy: [Float],
                                  residual: [Float]? = nil) throws -> (dx: [Float], dGain: [Float], dBias: [Float]) {
        let W = shape.width
        let xb = try upload(x, "x"), pb = try upload(gain, "gain"), mb = try upload(mean, "mean")
        let rb = try upload(rstd, "rstd"), dyb = try upload(dy, "dy")
        let res = try residual.map { try upload($0, "residual") }
        let dx = try scratch(n * W, "dx"), g = try scratch(2 * W, "dgain | dbias")
        try launchLayerNormBackward(x: xb, params: pb, gain: 0, mean: mb, rstd: rb, dy: dyb, residual: res, dx: dx, rows: n)
        try launchLayerNormGrads(x: xb, mean: mb, rstd: rb, dy: dyb, grads: g, gain: 0, bias: W, rows: n)
        let gb = try g.read(count: 2 * W)
        return (try dx.read(count: n * W), Array(gb[0..<W]), Array(gb[W..<(2 * W)]))
    }

    /// Causal attention forward: out [B, T, W], probs [B, H, T, T].
    public func attention(_ qkv: [Float], batch B: Int, tokens T: Int) throws -> (out: [Float], probs: [Float]) {
        let W = shape.width, H = shape.heads
        let qb = try upload(qkv, "qkv"), out = try scratch(B * T * W, "out"), probs = try scratch(B * H * T * T, "probs")
        try launchAttention(qkv: qb, out: out, probs: probs, batch: B, tokens: T)
        return (try out.read(count: B * T * W), try probs.read(count: B * H * T * T))
    }

    /// Causal attention backward: dqkv [B, T, 3W].
    public func attentionBackward(_ qkv: [Float], probs: [Float], dout: [Float], batch B: Int, tokens T: Int) throws -> [Float] {
        let W = shape.width, H = shape.heads
        let qb = try upload(qkv, "qkv"), pb = try upload(probs, "probs"), ob = try upload(dout, "dout")
        let s = try scratch(B * H * T * T, "dscores"), dqkv = try scratch(B * T * 3 * W, "dqkv")
        try launchAttentionBackward(qkv: qb, probs: pb, dout: ob, scratch: s, dqkv: dqkv, batch: B, tokens: T)
        return try dqkv.read(count: B * T * 3 * W)
    }

    /// The read-out and hinge on the last block's output h [B, T, W] with the final LayerNorm and read-out
    /// weights of `w` (other tensors unused): LN_f at the query tokens, F, dF, loss, errors, ∂loss/∂h and the
    /// four read-out gradients.
    public struct HeadResult {
        public var lnf: [Float], F: [Float], dF: [Float], loss: Float, errors: Int, dh: [Float]
        public var dLnfGain: [Float], dLnfBias: [Float], dOutWeight: [Float], dOutBias: [Float]
    }

    public func head(_ h: [Float], batch B: Int, tokens T: Int, weights w: GPT2Weights<Float>, labels: [Float]) throws -> HeadResult {
        let W = shape.width, o = GPT2Offsets(shape: w.shape)
        let hb = try upload(h, "h"), pb = try upload(w.packed, "params")
        let io = HeadBuffers(labels: try upload(labels, "labels"), lnfY: try scratch(B * W, "lnf"),
                             lnfMean: try scratch(B, "lnf mean"), lnfRstd: try scratch(B, "lnf rstd"),
                             F: try scratch(B, "F"), dF: try scratch(B, "dF"), lossTerm: try scratch(B, "loss terms"),
                             errTerm: try scratch(B, "error terms"), stats: try scratch(2, "stats"))
        let dh = try scratch(B * T * W, "dh"), grads = try scratch(o.count, "grads")
        try launchHead(h: hb, params: pb, offsets: o, io: io, dh: dh, batch: B, tokens: T, withGrad: true)
        try launchHeadGrads(h: hb, params: pb, offsets: o, io: io, grads: grads, batch: B, tokens: T, withGrad: true)
        let g = try grads.read(), s = try io.stats.read()
        return HeadResult(lnf: try io.lnfY.read(count: B * W), F: try io.F.read(count: B), dF: try io.dF.read(count: B),
                          loss: s[0], errors: Int(s[1]), dh: try dh.read(count: B * T * W),
                          dLnfGain: Array(g[o.lnfGain..<(o.lnfGain + W)]), dLnfBias: Array(g[o.lnfBias..<(o.lnfBias + W)]),
                          dOutWeight: Array(g[o.outWeight..<(o.outWeight + W)]), dOutBias: [g[o.outBias]])
    }

    /// dpos [maxTokens, W] from dh [B, T, W].
    public func positionGrad(_ dh: [Float], batch B: Int, tokens T: Int) throws -> [Float] {
        let count = shape.maxTokens * shape.width
        let db = try upload(dh, "dh"), g = try scratch(count, "dpos")
        try launchPositionGrad(dh: db, grads: g, pos: 0, batch: B, tokens: T)
        return try g.read(count: count)
    }

    /// One AdamW update of packed parameters with per-element decay mask: (params, m, v) after it.
    public func adamW(params: [Float], grads: [Float], m: [Float], v: [Float], decayMask: [Float], step: Int,
                      optimizer: GPT2Optimizer) throws -> (params: [Float], m: [Float], v: [Float]) {
        let p = try upload(params, "params"), mb = try upload(m, "m"), vb = try upload(v, "v")
        try launchAdamW(params: p, grads: try upload(grads, "grads"), m: mb, v: vb,
                        decayMask: try upload(decayMask, "decay mask"), step: step, optimizer: optimizer)
        return (try p.read(), try mb.read(), try vb.read())
    }
}
