import ICLCore
import ICLOpenCL

/// `icl check --dump FILE`: one batch at the paper's sizes, run through the device's full step, written
/// as safetensors so any framework can recompute and compare:
/// prompts [B, l+1, d_X+d_Y], labels [B], W_Q/W_K/W_V [d, d], W_O [m, d], a [m], F [B], loss [1],
/// grad.W_Q, grad.W_K, grad.W_V [d, d], grad.W_O [m, d]; the config in the metadata.
public enum CheckDump {
    /// Runs one step on `batch` prompts of the default `Config` with `variant` and writes the safetensors file to `path`.
    public static func write(path: String, context: CLContext, variant: KernelVariant, batch: Int = 64) throws {
        let c = Config()
        let bank = PatternBank(config: c)
        let spec = PromptSpec.training(c, bank: bank)
        let shape = ModelShape(dX: c.dX, dY: c.dY, length: c.lTrain, m: c.m, attendQuery: c.attendQuery)
        let program = try ModelProgram(context: context, shape: shape, variant: variant)
        let ws = try Workspace(context: context, shape: shape, capacity: batch)
        let w = CrossCheck.checkWeights(c)
        let params = try context.buffer(w.packed, label: "parameters")
        let a = try context.buffer(w.a, label: "a")
        let grads = try context.buffer(Float.self, count: shape.parameterCount, label: "gradients")
        try program.launchForwardBackward(ws, try SpecBuffers(context: context, spec: spec), step: 0, params: params,
                                          a: a, grads: grads, batch: batch)
        let g = ModelWeights<Float>(packed: try grads.read(), d: c.d, m: c.m, a: w.a)
        let d = c.d, m = c.m
        func t(_ shape: [Int], _ data: [Float]) -> SafeTensor { SafeTensor(shape: shape, data: data) }
        let file = SafeTensorsFile(tensors: [
            "prompts": t([batch, c.lTrain + 1, d], try ws.prompts.read()),
            "labels": t([batch], try ws.labels.read()),
            "W_Q": t([d, d], w.WQ), "W_K": t([d, d], w.WK), "W_V": t([d, d], w.WV), "W_O": t([m, d], w.WO),
            "a": t([m], w.a),
            "F": t([batch], try ws.F.read()),
            "loss": t([1], [try ws.stats.read()[0]]),
            "grad.W_Q": t([d, d], g.WQ), "grad.W_K": t([d, d], g.WK), "grad.W_V": t([d, d], g.WV),
            "grad.W_O": t([m, d], g.WO),
        ], metadata: [
            "format": "icl-check-dump-v1",
            "config": c.jsonString(),
            "device": context.device.summary,
            "variant": variant.rawValue,
            "notes": "prompts are [B, l+1, d] with the query last and its label slot zero; F = sum_i a_i ReLU(W_O W_V c)_i; loss = mean hinge max(0, 1 - label*F); grads are of that mean loss.",
        ])
        try file.write(to: path)
    }
}
