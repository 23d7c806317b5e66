import ICLCore

/// The GPT-2-style model resident on a device, as `OpenCLBackend` owns it: parameters, their gradients (written whole
/// by every backward pass) and the AdamW moments, all [parameterCount] in `GPT2Weights.packed` order, and the
/// per-element weight-decay mask (1 for the matrices).
public final class GPT2DeviceState {
    public let context: CLContext
    public let shape: GPT2Shape
    public let offsets: GPT2Offsets
    public let params, grads, adamM, adamV, decayMask: CLBuffer<Float>

    /// Allocates the buffers and loads `GPT2Weights.initial(shape:seed: 0)` with zero moments.
    public init(context: CLContext, shape: GPT2Shape) throws {
        try shape.validate()
        self.context = context
        self.shape = shape
        offsets = GPT2Offsets(shape: shape)
        let count = offsets.count
        params = try context.buffer(Float.self, count: count, label: "GPT-2 parameters")
        grads = try context.buffer(Float.self, count: count, label: "GPT-2 gradients")
        adamM = try context.buffer(Float.self, count: count, label: "GPT-2 Adam m")
        adamV = try context.buffer(Float.self, count: count, label: "GPT-2 Adam v")
        decayMask = try context.buffer(GPT2Offsets.decayMask(shape), label: "GPT-2 weight-decay mask")
        try load(weights: .initial(shape: shape, seed: 0), adam: GPT2AdamState(shape: shape))
    }

    /// Replaces the resident weights and AdamW moments (one upload each).
    public func load(weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>) throws {
        guard weights.shape == shape else {
            throw ConfigError("GPT-2 weights of shape \(weights.shape) do not match the engine's shape \(shape).")
        }
        guard adam.m.count == offsets.count, adam.v.count == offsets.count else {
            throw ConfigError("GPT-2 Adam moments hold \(adam.m.count) and \(adam.v.count) values; the model has \(offsets.count) parameters.")
        }
        try params.write(weights.packed)
        try adamM.write(adam.m)
        try adamV.write(adam.v)
    }

    public func readWeights() throws -> GPT2Weights<Float> {
        GPT2Weights(shape: shape, packed: try params.read())
    }

    public func readAdam() throws -> GPT2AdamState<Float> {
        var state = GPT2AdamState<Float>(shape: shape)
        state.m = try adamM.read()
        state.v = try adamV.read()
        return state
    }

    /// The gradients of the last backward pass.
    public func readGradients() throws -> GPT2Gradients<Float> {
        GPT2Weights(shape: shape, packed: try grads.read())
    }
}
