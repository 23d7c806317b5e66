import ICLCore
import ICLKit

/// `icl prune --checkpoint FILE --method magnitude|random --rate R [--by wo|wowv] [--seed N] --out FILE [--json]`:
/// writes a compacted checkpoint (the pruned rows of W_O are gone). A GPT-2-style checkpoint gets ⌊R·4W⌋ MLP
/// neurons of each block zeroed instead (see GPT2Pruning).
enum PruneCommand {
    static let spec = CommandSpec(
        name: "prune",
        summary: "removes neurons (rows of W_O) by magnitude or at random; writes a smaller checkpoint",
        options: [
            .valued("checkpoint", "FILE", "the checkpoint.safetensors to prune", required: true),
            .valued("method", "M", "which neurons go: the smallest by --by, or a seeded random set", default: "magnitude",
                    allowed: "magnitude, random"),
            .valued("rate", "R", "fraction of neurons removed: ⌊R·m⌋ of them", allowed: "[0, 1)", required: true),
            .valued("by", "NORM", "the neuron magnitude of --method magnitude: ‖W_O row‖ or ‖row of W_O W_V‖ (one-layer model)",
                    default: "the checkpoint's pruneBy, wo", allowed: "wo, wowv"),
            .valued("seed", "N", "seed of --method random's draw", default: "the checkpoint's seed",
                    allowed: "an unsigned 64-bit integer"),
            .valued("out", "FILE", "the pruned checkpoint to write", required: true),
            CommonSpecs.json,
        ],
        refused: CommonSpecs.hostOnlyRefusals("ranking and removing rows of W_O; `icl eval` runs the pruned checkpoint on a device") + [
            ("set", "the pruned checkpoint keeps the checkpoint's config; the ranking is chosen with --by"),
            ("config", "the pruned checkpoint keeps the checkpoint's config; the ranking is chosen with --by"),
            CommonSpecs.modelFromCheckpoint,
        ],
        examples: ["icl prune --checkpoint runs/train/checkpoint.safetensors --rate 0.2 --out runs/pruned.safetensors",
                   "icl prune --checkpoint runs/train/checkpoint.safetensors --method random --rate 0.4 --seed 7 --out runs/random.safetensors --json"])

    static func run(_ args: Arguments) throws {
        let path = try args.required("checkpoint"), out = try args.required("out")
        let methodText = args.value("method") ?? "magnitude"
        guard let method = Pruning.Method(rawValue: methodText) else {
            throw UsageError("unknown pruning method '\(methodText)'; use magnitude or random.")
        }
        guard let rateText = args.value("rate"), let rate = Double(rateText), rate.isFinite else {
            throw UsageError("`icl prune` needs --rate R with R in [0, 1), e.g. --rate 0.2.")
        }
        let seedArgument = try args.value("seed").map { text -> UInt64 in
            guard let s = UInt64(text) else { throw UsageError("--seed must be an unsigned integer, got '\(text)'.") }
            return s
        }
        let ckpt: Checkpoint
        switch try AnyCheckpoint.read(path: path) {
        case .oneLayer(let c): ckpt = c
        case .gpt2(let g):
            try pruneGPT2(g, method: method, rate: rate, seed: seedArgument ?? g.config.seed, out: out, args: args)
            return
        }
        let by = args.value("by") ?? ckpt.config.pruneBy
        guard ["wo", "wowv"].contains(by) else { throw UsageError("unknown --by '\(by)'; use wo or wowv.") }
        let seed = seedArgument ?? ckpt.config.seed
        let keep = try Pruning.keep(ckpt.weights, method: method, rate: rate, by: by, seed: seed)
        let pruned = Pruning.compact(ckpt, keep: keep)
        try pruned.write(to: out)
        if args.has("json") {
            Output.json(["checkpoint": out, "method": method.rawValue, "rate": rate, "by": by,
                         "m_before": ckpt.weights.m, "m_after": keep.count])
        } else {
            print("kept \(keep.count) of \(ckpt.weights.m) neurons (\(method.rawValue) pruning, rate \(rate), by \(by))")
            print("pruned checkpoint: \(out)")
        }
    }

    /// Zeroes ⌊R·4W⌋ MLP neurons of each block of a GPT-2-style checkpoint.
    static func pruneGPT2(_ g: GPT2Checkpoint, method: Pruning.Method, rate: Double, seed: UInt64, out: String,
                          args: Arguments) throws {
        guard args.value("by") == nil else {
            throw UsageError("--by applies to the one-layer model; the GPT-2-style model's neurons are ranked by ‖fc row‖·‖fc2 column‖.")
        }
        let pruned = try GPT2Pruning.pruned(g.weights, method: method, rate: rate, seed: seed)
        try GPT2Pruning.apply(g, pruned: pruned).write(to: out)
        let each = pruned.first?.count ?? 0, shape = g.weights.shape
        if args.has("json") {
            Output.json(["checkpoint": out, "method": method.rawValue, "rate": rate, "model": "gpt2",
                         "neurons_per_block": shape.mlpWidth, "pruned_per_block": each])
        } else {
            print("zeroed \(each) of \(shape.mlpWidth) MLP neurons in each of \(shape.layers) blocks (\(method.rawValue) pruning, rate \(rate))")
            print("pruned checkpoint: \(out)")
        }
    }
}
