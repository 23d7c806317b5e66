import Foundation

/// The GPT-2-style model's checkpoint, stored as safetensors.
///
/// Tensors: every parameter under its layout name (`readin.weight`, `block0.attn.qkv.weight`, …,
/// `readout.bias`; see `GPT2Weights.layout`), and the AdamW moments as `adam.m` and `adam.v` [P] in the
/// packed order, so `--resume` continues the optimiser exactly. `__metadata__`: "format" = "icl-gpt2-v1",
/// "config" (JSON, with `model` = "gpt2"), "step".
public struct GPT2Checkpoint: Equatable {
    public static let format = "icl-gpt2-v1"

    public var config: Config
    public var weights: GPT2Weights<Float>
    public var adam: GPT2AdamState<Float>
    /// Completed optimiser steps.
    public var step: Int

    /// The device line of the run that trained it, when known ("device" in the metadata).
    public var device: String?

    public init(config: Config, weights: GPT2Weights<Float>, adam: GPT2AdamState<Float>, step: Int, device: String? = nil) {
        self.device = device
        self.config = config; self.weights = weights; self.adam = adam; self.step = step
    }

    /// Writes the checkpoint atomically; refuses a shape that does not match the config, or non-finite values.
    public func write(to path: String) throws {
        func fail(_ problem: String) -> CheckpointError {
            CheckpointError("refusing to write checkpoint '\(path)': \(problem).")
        }
        guard config.isGPT2 else { throw fail("its config has model = '\(config.model)', not 'gpt2'") }
        guard weights.shape == config.gpt2Shape else { throw fail("the weights' shape does not match the config") }
        guard step >= 0 else { throw fail("step \(step) is negative") }
        let n = GPT2Weights<Float>.parameterCount(weights.shape)
        guard adam.m.count == n, adam.v.count == n else { throw fail("the AdamW moments do not have \(n) entries") }
        var tensors: [String: SafeTensor] = [:]
        for t in weights.named {
            if t.values.contains(where: { !$0.isFinite }) {
                throw fail("\(t.name) holds a non-finite value (did training diverge? lower adamLR)")
            }
            tensors[t.name] = SafeTensor(shape: t.shape, data: t.values)
        }
        guard !adam.m.contains(where: { !$0.isFinite }), !adam.v.contains(where: { !$0.isFinite }) else {
            throw fail("the AdamW moments hold a non-finite value")
        }
        tensors["adam.m"] = SafeTensor(shape: [n], data: adam.m)
        tensors["adam.v"] = SafeTensor(shape: [n], data: adam.v)
        try SafeTensorsFile(tensors: tensors,
                            metadata: ["format": GPT2Checkpoint.format, "config": config.jsonString(), "step": "\(step)"]
                                .merging(device.map { ["device": $0] } ?? [:]) { $1 })
            .write(to: path)
    }

    /// Reads and checks a checkpoint; every problem is a `CheckpointError` naming the file.
    public static func read(path: String) throws -> GPT2Checkpoint {
        let file = try SafeTensorsFile.decode(readFileBytes(path), label: "checkpoint '\(path)'", advice: Checkpoint.advice)
        return try from(file, path: path)
    }

    public static func from(_ file: SafeTensorsFile, path: String) throws -> GPT2Checkpoint {
        func fail(_ problem: String, _ what: String = Checkpoint.advice) -> CheckpointError {
            CheckpointError("checkpoint '\(path)' \(problem); \(what).")
        }
        guard file.metadata["format"] == GPT2Checkpoint.format else {
            throw fail("has format '\(file.metadata["format"] ?? "none")', expected '\(GPT2Checkpoint.format)'",
                       "it is not a GPT-2-style model checkpoint — check the path")
        }
        let config = try Checkpoint.metadataConfig(file, fail: { fail($0) })
        guard config.isGPT2 else { throw fail("has a config with model = '\(config.model)'") }
        guard let stepText = file.metadata["step"], let step = Int(stepText), step >= 0 else {
            throw fail("has no valid 'step' metadata")
        }
        let shape = config.gpt2Shape
        let layout = GPT2Weights<Float>.layout(shape)
        let n = GPT2Weights<Float>.parameterCount(shape)
        let known = Set(layout.map(\.name) + ["adam.m", "adam.v"])
        for name in file.tensors.keys.sorted() where !known.contains(name) {
            throw fail("holds an unexpected tensor '\(name)'")
        }
        var weights = GPT2Weights<Float>(zerosFor: shape)
        for t in layout {
            guard let tensor = file.tensors[t.name] else { throw fail("has no tensor '\(t.name)'") }
            guard tensor.shape == t.shape else {
                throw fail("has \(t.name) of shape \(tensor.shape), but the config needs \(t.shape)")
            }
            guard !tensor.data.contains(where: { !$0.isFinite }) else { throw fail("holds a non-finite value in \(t.name)") }
            weights[keyPath: t.path] = tensor.data
        }
        var adam = GPT2AdamState<Float>(shape: shape)
        for (name, keyPath) in [("adam.m", \GPT2AdamState<Float>.m), ("adam.v", \GPT2AdamState<Float>.v)] {
            guard let tensor = file.tensors[name] else { throw fail("has no tensor '\(name)'") }
            guard tensor.shape == [n] else { throw fail("has \(name) of shape \(tensor.shape), but the model has \(n) parameters") }
            guard !tensor.data.contains(where: { !$0.isFinite }) else { throw fail("holds a non-finite value in \(name)") }
            adam[keyPath: keyPath] = tensor.data
        }
        return GPT2Checkpoint(config: config, weights: weights, adam: adam, step: step, device: file.metadata["device"])
    }
}

/// A checkpoint of either model, told apart by its format metadata.
public enum AnyCheckpoint {
    case oneLayer(Checkpoint)
    case gpt2(GPT2Checkpoint)

    public static func read(path: String) throws -> AnyCheckpoint {
        let file = try SafeTensorsFile.decode(readFileBytes(path), label: "checkpoint '\(path)'", advice: Checkpoint.advice)
        if file.metadata["format"] == GPT2Checkpoint.format { return .gpt2(try GPT2Checkpoint.from(file, path: path)) }
        return .oneLayer(try Checkpoint.from(file, path: path))
    }

    /// Writes the checkpoint of either kind atomically.
    public func write(to path: String) throws {
        switch self {
        case .oneLayer(let c): try c.write(to: path)
        case .gpt2(let c): try c.write(to: path)
        }
    }

    public var config: Config {
        switch self {
        case .oneLayer(let c): return c.config
        case .gpt2(let c): return c.config
        }
    }

    public var step: Int {
        switch self {
        case .oneLayer(let c): return c.step
        case .gpt2(let c): return c.step
        }
    }
}
