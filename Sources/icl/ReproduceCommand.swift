import Foundation
import ICLCore
import ICLExperiments
import ICLKit

/// `icl reproduce NAME|all [--seeds K] [--quick] [--out DIR] [--shard i/n] [--prompts N] [--set k=v]`
/// and `icl reproduce --merge DIR... --out DIR`: the paper's experiments as CSV, SVG and summary.md.
enum ReproduceCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "reproduce",
                                 options: CommonOptions.valued.union(["seeds", "out", "shard", "prompts"]),
                                 flags: ["quick", "merge", "json"])
        let out = args.value("out") ?? "reproduction"
        func log(_ line: String) { FileHandle.standardError.write(Data("reproduce: \(line)\n".utf8)) }
        let claims: [Claim]
        if args.has("merge") {
            claims = try Reproducer.merge(args.positional, outDir: out, log: log)
        } else {
            guard args.positional.count == 1 else {
                throw UsageError("`icl reproduce` needs one recipe name: all or one of \(Recipes.all.map(\.name).joined(separator: ", ")).")
            }
            let recipes = try Recipes.named(args.positional[0])
            var size = args.has("quick") ? ReproduceSize.quick : ReproduceSize.full
            if let n = try args.int("prompts", min: 1) { size.limitPrompts(n) }
            let seeds = try args.int("seeds", min: 1) ?? 3
            let shard = try args.value("shard").map { text in
                do { return try Reproducer.parseShard(text) } catch let e as UsageError {
                    throw UsageError("--shard: " + e.message + " For example --shard 2/4.")
                }
            }
            let request = ReproduceRequest(recipes: recipes, seeds: seeds, size: size, base: try CommonOptions.config(args),
                                           factory: try CommonOptions.factory(args), outDir: out, shard: shard)
            StopSignal.install()
            claims = try Reproducer.run(request, log: log)
        }
        for c in claims {
            if args.has("json") {
                Output.json(["experiment": c.experiment, "claim": c.claim, "paper": c.paper, "ours": c.ours,
                             "verdict": c.verdict.rawValue])
            } else {
                print("\(c.experiment) [\(c.verdict.rawValue)] \(c.claim): \(c.ours)")
            }
        }
        if !claims.isEmpty && !args.has("json") { print("summary: \(out)/summary.md") }
    }
}
