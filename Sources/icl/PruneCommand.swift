import ICLCore
import ICLKit

/// `icl prune --checkpoint FILE --method magnitude|random --rate R [--by wo|wowv] [--seed N] --out FILE [--json]`:
/// writes a compacted checkpoint (the pruned rows of W_O are gone).
enum PruneCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "prune", options: ["checkpoint", "method", "rate", "by", "seed", "out"],
                                 flags: ["json"])
        guard let path = args.value("checkpoint"), let out = args.value("out") else {
            throw UsageError("`icl prune` needs --checkpoint FILE and --out FILE.")
        }
        let methodText = args.value("method") ?? "magnitude"
        guard let method = Pruning.Method(rawValue: methodText) else {
            throw UsageError("unknown pruning method '\(methodText)'; use magnitude or random.")
        }
        guard let rateText = args.value("rate"), let rate = Double(rateText), rate.isFinite else {
            throw UsageError("`icl prune` needs --rate R with R in [0, 1), e.g. --rate 0.2.")
        }
        let ckpt = try Checkpoint.read(path: path)
        let by = args.value("by") ?? ckpt.config.pruneBy
        guard ["wo", "wowv"].contains(by) else { throw UsageError("unknown --by '\(by)'; use wo or wowv.") }
        let seed = try args.value("seed").map { text -> UInt64 in
            guard let s = UInt64(text) else { throw UsageError("--seed must be an unsigned integer, got '\(text)'.") }
            return s
        } ?? ckpt.config.seed
        let keep = try Pruning.keep(ckpt.weights, method: method, rate: rate, by: by, seed: seed)
        let pruned = Pruning.compact(ckpt, keep: keep)
        try pruned.write(to: out)
        if args.has("json") {
            Output.json(["checkpoint": out, "method": method.rawValue, "rate": rate, "by": by,
                         "m_before": ckpt.weights.m, "m_after": keep.count])
        } else {
            print("\(out): kept \(keep.count) of \(ckpt.weights.m) neurons (\(method.rawValue) pruning, rate \(rate), by \(by))")
        }
    }
}
