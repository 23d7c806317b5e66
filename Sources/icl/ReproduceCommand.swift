import Foundation
import ICLCore
import ICLExperiments
import ICLKit

/// `icl reproduce NAME|all [--seeds K] [--quick] [--out DIR] [--shard i/n] [--prompts N] [--set k=v]`
/// and `icl reproduce --merge DIR... --out DIR`: the paper's experiments as CSV, SVG and summary.md.
enum ReproduceCommand {
    static let spec = CommandSpec(
        name: "reproduce",
        summary: "the paper's experiments (NAME|all): per recipe a CSV, an SVG figure and claim lines in summary.md",
        positional: "NAME|all  (or --merge DIR...)",
        options: [
            .valued("seeds", "K", "seeds per recipe; seed k = 1…K replaces the config's seed", default: "3", allowed: "≥ 1"),
            .flag("quick", "every experiment at reduced size"),
            .valued("out", "DIR", "the folder of CSVs, SVGs, summary.md, models/ and parts/", default: "reproduction"),
            .valued("shard", "i/n", "run only the i-th of n blocks of the sweep's (seed, recipe) jobs", default: "the whole sweep",
                    allowed: "1 ≤ i ≤ n"),
            .valued("prompts", "N", "cap on every prompt count", default: "the size's counts (50 000 per error point)",
                    allowed: "≥ 1"),
            .flag("merge", "join the shard folders given as arguments into --out instead of running anything"),
            CommonSpecs.device, CommonSpecs.variant, CommonSpecs.pipeline, CommonSpecs.config,
            .valued("set", "KEY=VALUE", "sets fields of the base config every recipe starts from", default: "none",
                    allowed: "the fields of `icl help config`", repeatable: true),
            CommonSpecs.json,
        ],
        refused: [
            ("seed", "each of the --seeds K runs replaces the config's seed with k = 1…K; choose how many with --seeds"),
            ("model", "each recipe picks its model (E1-gpt2, E2-gpt2 and E8 train the GPT-2-style one)"),
        ],
        examples: ["icl reproduce all --quick --out reproduction-quick",
                   "icl reproduce E3 --seeds 3 --device opencl:cpu",
                   "icl reproduce all --seeds 5 --shard 2/4 --out shard-2",
                   "icl reproduce --merge shard-1 shard-2 shard-3 shard-4 --out reproduction"],
        note: "recipes: \(Recipes.all.map(\.name).joined(separator: ", ")), or all; README.md \"Reproducing the paper\" describes them.")

    /// What --merge does not use: it only joins finished parts.
    static let runOnly = ["seeds", "quick", "shard", "prompts", "device", "variant", "pipeline", "config", "set"]

    static func run(_ args: Arguments) throws {
        let out = args.value("out") ?? "reproduction"
        func log(_ line: String) { FileHandle.standardError.write(Data("reproduce: \(line)\n".utf8)) }
        let claims: [Claim]
        if args.has("merge") {
            if let unused = runOnly.first(where: { args.given($0) }) {
                throw UsageError("`icl reproduce --merge` joins finished shards and runs nothing, so --\(unused) has no effect there; drop it.")
            }
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
        let json = args.has("json")
        for c in claims {
            if json {
                Output.json(["experiment": c.experiment, "claim": c.claim, "paper": c.paper, "ours": c.ours,
                             "verdict": c.verdict.rawValue])
            } else {
                print("\(c.experiment) [\(c.verdict.rawValue)] \(c.claim): \(c.ours)")
            }
        }
        // Where the files went: a summarised sweep, or a shard's parts awaiting --merge.
        if claims.isEmpty {
            if json { Output.json(["what": "files", "out": out, "parts": out + "/parts"]) }
            else { print("parts: \(out)/parts (join the shards with `icl reproduce --merge DIR... --out DIR`)") }
        } else {
            if json { Output.json(["what": "files", "out": out, "summary": out + "/summary.md", "parts": out + "/parts"]) }
            else { print("summary: \(out)/summary.md   CSV and SVG files: \(out)/") }
        }
    }
}
