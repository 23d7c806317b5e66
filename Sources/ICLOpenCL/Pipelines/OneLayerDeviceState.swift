import ICLCore

/// The one-layer model resident on a device, as `OpenCLBackend` owns it for every one-layer pipeline:
/// W_Q | W_K | W_V | W_O packed in `params` (`ModelWeights.packed` order), their gradients in the same layout, a [m]
/// and the neuron mask [m] of 0/1. Every pipeline's step writes the new weights into `spare` and then calls
/// `swapParameters()`, so a step never overwrites the weights it reads.
public final class OneLayerDeviceState {
    public let context: CLContext
    public let shape: ModelShape
    public private(set) var params: CLBuffer<Float>
    /// Where a step writes the next weights before `swapParameters()`.
    public private(set) var spare: CLBuffer<Float>
    public let grads: CLBuffer<Float>
    public let a, mask: CLBuffer<Float>

    /// Allocates the buffers; they hold nothing until `load`.
    public init(context: CLContext, shape: ModelShape) throws {
        self.context = context
        self.shape = shape
        params = try context.buffer(Float.self, count: shape.parameterCount, label: "parameters")
        spare = try context.buffer(Float.self, count: shape.parameterCount, label: "parameters (next step)")
        grads = try context.buffer(Float.self, count: shape.parameterCount, label: "gradients")
        a = try context.buffer(Float.self, count: shape.m, label: "a")
        mask = try context.buffer(Float.self, count: shape.m, label: "neuron mask")
    }

    /// Throws unless `weights` and `mask` have this state's d and m.
    public func check(_ weights: ModelWeights<Float>, mask newMask: [Float]) throws {
        guard weights.d == shape.d, weights.m == shape.m, newMask.count == shape.m else {
            throw ConfigError("weights of d = \(weights.d), m = \(weights.m) with a mask of \(newMask.count) entries do not fit the device model's d = \(shape.d), m = \(shape.m).")
        }
    }

    /// Uploads the weights and the neuron mask.
    public func load(_ weights: ModelWeights<Float>, mask newMask: [Float]) throws {
        try check(weights, mask: newMask)
        try params.write(weights.packed)
        try a.write(weights.a)
        try mask.write(newMask)
    }

    public func readWeights() throws -> ModelWeights<Float> {
        ModelWeights(packed: try params.read(), d: shape.d, m: shape.m, a: try a.read())
    }

    /// The gradients of the last training step, in the weights' layout (with this model's a).
    public func readGradients() throws -> ModelWeights<Float> {
        ModelWeights(packed: try grads.read(), d: shape.d, m: shape.m, a: try a.read())
    }

    /// The step that wrote `spare` made it the current weights.
    public func swapParameters() { swap(&params, &spare) }
}

/// What a one-layer pipeline trains: the resident model, the training spec's device tables, the batch and SGD's step
/// size.
public struct OneLayerTraining {
    public let state: OneLayerDeviceState
    public let spec: SpecBuffers
    public let batch: Int
    public let lr: Float
}

/// A pipeline of the one-layer model: what it trains, and short names for its parts.
protocol OneLayerPipeline: TrainingPipeline {
    var training: OneLayerTraining { get }
}

extension OneLayerPipeline {
    var state: OneLayerDeviceState { training.state }
    var trainSpec: SpecBuffers { training.spec }
    var batch: Int { training.batch }
}
