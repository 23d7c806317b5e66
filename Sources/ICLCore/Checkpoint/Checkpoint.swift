import Foundation

/// The one-layer model's checkpoint, stored as safetensors (DESIGN.md "Files").
///
/// Tensors `W_Q`, `W_K`, `W_V` [d, d], `W_O` [m, d], `a` [m], `mask` [m]; `__metadata__` holds
/// "format" = "icl-one-layer-v1", "config" (the config's JSON), "step", "device" (where it was trained: device,
/// kernel variant, pipeline and device path, whose rounding differs) when known, and for a compacted (pruned)
/// checkpoint "kept_neurons", the original indices of the surviving rows as a comma list.
public struct Checkpoint: Equatable {
    public static let format = "icl-one-layer-v1"

    public var config: Config
    public var weights: ModelWeights<Float>
    /// Completed SGD steps.
    public var step: Int
    /// [m] 0/1 neuron mask used in training (all ones if none).
    public var mask: [Float]
    /// For compacted (pruned) checkpoints: the original indices of the surviving rows, in increasing order.
    public var keptNeurons: [Int]?
    /// The device line of the run that trained it (device, kernel variant, pipeline, device path), when known.
    public var device: String?

    public init(config: Config, weights: ModelWeights<Float>, step: Int, mask: [Float], keptNeurons: [Int]? = nil,
                device: String? = nil) {
        self.config = config; self.weights = weights; self.step = step; self.mask = mask; self.keptNeurons = keptNeurons
        self.device = device
    }

    static let advice = "it is corrupt — retrain or use an earlier checkpoint"

    /// Writes the checkpoint atomically (temp file + fsync + rename). Refuses an inconsistent
    /// checkpoint or non-finite weights, so that every written file can be read back.
    public func write(to path: String) throws {
        func fail(_ problem: String) -> CheckpointError {
            CheckpointError("refusing to write checkpoint '\(path)': \(problem).")
        }
        let d = weights.d, m = weights.m
        guard d == config.d else { throw fail("the weights have d = \(d) but the config has d = dX + dY = \(config.d)") }
        guard step >= 0 else { throw fail("step \(step) is negative") }
        guard mask.count == m else { throw fail("the mask has \(mask.count) entries but the model has m = \(m) neurons") }
        if let kept = keptNeurons {
            if let problem = Checkpoint.keptProblem(kept, m: m, configM: config.m) { throw fail(problem) }
        } else if m != config.m {
            throw fail("the weights have m = \(m) neurons but the config has m = \(config.m) and no kept neurons are given")
        }
        for (name, values) in [("W_Q", weights.WQ), ("W_K", weights.WK), ("W_V", weights.WV),
                               ("W_O", weights.WO), ("a", weights.a), ("mask", mask)] {
            if values.contains(where: { !$0.isFinite }) {
                throw fail("\(name) holds a non-finite value (did training diverge? lower lr)")
            }
        }
        if mask.contains(where: { $0 != 0 && $0 != 1 }) { throw fail("the mask holds a value other than 0 or 1") }

        var meta = ["format": Checkpoint.format, "config": config.jsonString(), "step": "\(step)"]
        if let kept = keptNeurons { meta["kept_neurons"] = kept.map(String.init).joined(separator: ",") }
        if let device { meta["device"] = device }
        let file = SafeTensorsFile(tensors: [
            "W_Q": SafeTensor(shape: [d, d], data: weights.WQ),
            "W_K": SafeTensor(shape: [d, d], data: weights.WK),
            "W_V": SafeTensor(shape: [d, d], data: weights.WV),
            "W_O": SafeTensor(shape: [m, d], data: weights.WO),
            "a": SafeTensor(shape: [m], data: weights.a),
            "mask": SafeTensor(shape: [m], data: mask),
        ], metadata: meta)
        try file.write(to: path)
    }

    /// Why a kept-neuron list is invalid, or nil.
    static func keptProblem(_ kept: [Int], m: Int, configM: Int) -> String? {
        if kept.count != m { return "kept_neurons lists \(kept.count) neurons but W_O has \(m) rows" }
        if m > configM { return "W_O has \(m) rows, more than the config's m = \(configM)" }
        for (k, idx) in kept.enumerated() {
            if idx < 0 || idx >= configM { return "kept neuron \(idx) is outside 0..<\(configM)" }
            if k > 0 && idx <= kept[k - 1] { return "kept_neurons is not strictly increasing at \(idx)" }
        }
        return nil
    }

    /// Reads and checks a checkpoint; every problem is a `CheckpointError` naming the file.
    public static func read(path: String) throws -> Checkpoint {
        let label = "checkpoint '\(path)'"
        let file = try SafeTensorsFile.decode(readFileBytes(path), label: label, advice: advice)
        return try from(file, path: path)
    }

    /// The validated config in a checkpoint's metadata; `fail` turns a problem into the file's error.
    static func metadataConfig(_ file: SafeTensorsFile, fail: (String) -> CheckpointError) throws -> Config {
        guard let configText = file.metadata["config"] else { throw fail("has no 'config' metadata") }
        var config = Config()
        do {
            try config.merge(json: configText, source: "its config metadata")
            try config.validate()
        } catch let e as ConfigError {
            throw fail("has an invalid config (\(e.message.trimmingCharacters(in: CharacterSet(charactersIn: "."))))")
        }
        return config
    }

    /// Builds a checkpoint from a decoded file, checking format, config, shapes and values.
    public static func from(_ file: SafeTensorsFile, path: String) throws -> Checkpoint {
        func fail(_ problem: String, _ what: String = advice) -> CheckpointError {
            CheckpointError("checkpoint '\(path)' \(problem); \(what).")
        }
        guard let format = file.metadata["format"] else {
            throw fail("has no 'format' metadata", "it is not an icl checkpoint — check the path")
        }
        if format == GPT2Checkpoint.format {
            throw CheckpointError("checkpoint '\(path)' holds the GPT-2-style model, but this needs the one-layer model's checkpoint (format '\(Checkpoint.format)'); check the path.")
        }
        guard format == Checkpoint.format else {
            throw fail("has format '\(format)', expected '\(Checkpoint.format)'", "it was written by another program or version — check the path")
        }
        let config = try metadataConfig(file, fail: { fail($0) })
        guard let stepText = file.metadata["step"] else { throw fail("has no 'step' metadata") }
        guard let step = Int(stepText), step >= 0 else { throw fail("has step '\(stepText)', not a non-negative integer") }

        let known: Set<String> = ["W_Q", "W_K", "W_V", "W_O", "a", "mask"]
        for name in file.tensors.keys.sorted() where !known.contains(name) {
            throw fail("holds an unexpected tensor '\(name)'")
        }
        func tensor(_ name: String) throws -> SafeTensor {
            guard let t = file.tensors[name] else { throw fail("has no tensor '\(name)'") }
            return t
        }
        let d = config.d
        let WQ = try tensor("W_Q"), WK = try tensor("W_K"), WV = try tensor("W_V")
        let WO = try tensor("W_O"), a = try tensor("a"), mask = try tensor("mask")
        for (name, t) in [("W_Q", WQ), ("W_K", WK), ("W_V", WV)] where t.shape != [d, d] {
            throw fail("has \(name) of shape \(t.shape), but the config needs [\(d), \(d)]")
        }
        guard WO.shape.count == 2, WO.shape[1] == d else {
            throw fail("has W_O of shape \(WO.shape), but the config needs [m, \(d)]")
        }
        let m = WO.shape[0]
        guard a.shape == [m] else { throw fail("has a of shape \(a.shape), but W_O has \(m) rows so it needs [\(m)]") }
        guard mask.shape == [m] else { throw fail("has mask of shape \(mask.shape), but W_O has \(m) rows so it needs [\(m)]") }

        var kept: [Int]?
        if let keptText = file.metadata["kept_neurons"] {
            var list: [Int] = []
            for part in keptText.split(separator: ",", omittingEmptySubsequences: false) where !keptText.isEmpty {
                guard let v = Int(part) else { throw fail("has kept_neurons '\(keptText)', not a comma list of integers") }
                list.append(v)
            }
            if let problem = keptProblem(list, m: m, configM: config.m) { throw fail("is inconsistent: \(problem)") }
            kept = list
        } else if m != config.m {
            throw fail("has W_O with \(m) rows, but the config has m = \(config.m) and there is no kept_neurons list")
        }

        for (name, t) in [("W_Q", WQ), ("W_K", WK), ("W_V", WV), ("W_O", WO), ("a", a), ("mask", mask)]
        where t.data.contains(where: { !$0.isFinite }) {
            throw fail("holds a non-finite value in \(name)")
        }
        if mask.data.contains(where: { $0 != 0 && $0 != 1 }) { throw fail("has a mask value other than 0 or 1") }

        let weights = ModelWeights<Float>(d: d, m: m, WQ: WQ.data, WK: WK.data, WV: WV.data, WO: WO.data, a: a.data)
        return Checkpoint(config: config, weights: weights, step: step, mask: mask.data, keptNeurons: kept,
                          device: file.metadata["device"])
    }
}
