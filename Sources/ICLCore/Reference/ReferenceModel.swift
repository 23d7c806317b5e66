/// The whole CPU-reference training step for one batch, with every intermediate kept: the oracle the
/// OpenCL kernels are checked against, op by op.
public struct ReferenceTrace<T: RefReal> {
    public var attention: ReferenceAttention.Forward<T>
    public var mlp: ReferenceMLP.Forward<T>
    public var hinge: ReferenceHinge.Result<T>
    public var mlpBackward: ReferenceMLP.Backward<T>
    public var attentionBackward: ReferenceAttention.Backward<T>

    public var gradients: WeightGradients<T> {
        WeightGradients(WQ: attentionBackward.dWQ, WK: attentionBackward.dWK,
                        WV: mlpBackward.dWV, WO: mlpBackward.dWO)
    }
}

public enum ReferenceModel {
    /// Forward and backward for prompts [B, l+1, d] with labels [B].
    public static func trace<T: RefReal>(_ w: ModelWeights<T>, prompts: [T], labels: [T], batch B: Int,
                                         length l: Int, attendQuery: Bool) -> ReferenceTrace<T> {
        let d = w.d, m = w.m, L = attendQuery ? l + 1 : l
        let att = ReferenceAttention.forward(prompts: prompts, batch: B, length: l, d: d, attended: L,
                                             WQ: w.WQ, WK: w.WK)
        let mlp = ReferenceMLP.forward(c: att.c, batch: B, d: d, m: m, WV: w.WV, WO: w.WO, a: w.a)
        let hinge = ReferenceHinge.evaluate(F: mlp.F, labels: labels)
        let mlpB = ReferenceMLP.backward(c: att.c, batch: B, d: d, m: m, WV: w.WV, WO: w.WO, a: w.a,
                                         forward: mlp, dF: hinge.dF)
        let attB = ReferenceAttention.backward(prompts: prompts, batch: B, length: l, d: d, attended: L,
                                               WQ: w.WQ, WK: w.WK, forward: att, dc: mlpB.dc)
        return ReferenceTrace(attention: att, mlp: mlp, hinge: hinge, mlpBackward: mlpB, attentionBackward: attB)
    }

    /// Model outputs F [B] only (inference).
    public static func outputs<T: RefReal>(_ w: ModelWeights<T>, prompts: [T], batch B: Int, length l: Int,
                                           attendQuery: Bool) -> [T] {
        let L = attendQuery ? l + 1 : l
        let att = ReferenceAttention.forward(prompts: prompts, batch: B, length: l, d: w.d, attended: L,
                                             WQ: w.WQ, WK: w.WK)
        return ReferenceMLP.forward(c: att.c, batch: B, d: w.d, m: w.m, WV: w.WV, WO: w.WO, a: w.a).F
    }

    /// SGD with a neuron mask: W ← W − η ∇W for W_Q, W_K, W_V; W_O row n ← mask_n (W_O row n − η ∇W_O row n).
    /// mask: [m] of 0/1 (1 keeps the neuron).
    public static func sgdUpdate<T: RefReal>(_ w: inout ModelWeights<T>, _ g: WeightGradients<T>, lr: T, mask: [T]) {
        for i in w.WQ.indices {
            w.WQ[i] -= lr * g.WQ[i]
            w.WK[i] -= lr * g.WK[i]
            w.WV[i] -= lr * g.WV[i]
        }
        for n in 0..<w.m {
            for j in 0..<w.d {
                let k = n * w.d + j
                w.WO[k] = mask[n] * (w.WO[k] - lr * g.WO[k])
            }
        }
    }
}
