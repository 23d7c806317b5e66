import Foundation
import ICLCore
import ICLExperiments
import ICLKit

/// `icl sweep --grid FIELD=V1,V2 … --seeds K --measure "…" … [--out DIR] [--shard i/n] [--prompts N] [--set k=v]`
/// and `icl sweep --merge DIR... --out DIR`: a grid over config fields and seeds, every model measured, as a tidy
/// CSV, an SVG per measure and summary.md.
enum SweepCommand {
    static let spec = CommandSpec(
        name: "sweep",
        summary: "a grid over config fields and seeds, each model measured (eval, prune, probe, train): tidy CSV, an SVG per measure, summary.md",
        positional: "(with --merge: DIR...)",
        options: [
            .valued("grid", "FIELD=V1,V2", "a config field and its values (or FIELD=A:B:STEP); several --grid make a product",
                    default: "no grid (one point: the base config)", allowed: "the fields of `icl help config` except seed",
                    repeatable: true),
            .valued("seeds", "K", "seeds per grid point; seed k = 1…K replaces the config's seed", default: "3", allowed: "≥ 1"),
            .valued("measure", "TEXT", "what to measure of every trained model (README \"Sweeps\"); at least one",
                    default: "none", allowed: SweepMeasure.grammar, repeatable: true),
            .valued("out", "DIR", "the folder of sweep.csv, means.csv, measure-K.svg, summary.md, models/ and parts/",
                    default: "sweep"),
            .valued("shard", "i/n", "run only the i-th of n blocks of the (grid point, seed) jobs", default: "the whole sweep",
                    allowed: "1 ≤ i ≤ n"),
            .valued("prompts", "N", "cap on every measure's prompt count", default: "each measure's prompts=, else the config's evalPrompts",
                    allowed: "≥ 1"),
            .flag("merge", "join the shard folders given as arguments into --out instead of running anything"),
            CommonSpecs.model, CommonSpecs.device, CommonSpecs.variant, CommonSpecs.pipeline, CommonSpecs.config,
            .valued("set", "KEY=VALUE", "sets fields of the base config every grid point starts from", default: "none",
                    allowed: "the fields of `icl help config`", repeatable: true),
            CommonSpecs.json,
        ],
        refused: [
            ("seed", "each of the --seeds K runs replaces the config's seed with k = 1…K; choose how many with --seeds"),
        ],
        examples: ["icl sweep --grid m=32,64,256 --grid xi=0.01,0.1 --seeds 5 --measure \"eval ood l=8 s1=1.1\" --measure \"prune magnitude,random rates=0:0.4:0.05\" --out m-xi",
                   "icl sweep --grid steps=200,500,2000 --seeds 3 --measure \"eval id l=1:20\" --measure train --out schedule",
                   "icl sweep --grid m=32,64 --seeds 5 --measure \"eval ood\" --shard 2/4 --out shard-2",
                   "icl sweep --merge shard-1 shard-2 shard-3 shard-4 --out merged"],
        note: "measures: \(SweepMeasure.grammar). README.md \"Sweeps\" describes the files; scripts/slurm-sweep.sh runs a sweep as a SLURM array.")

    /// What --merge does not use: it only joins finished parts.
    static let runOnly = ["grid", "seeds", "measure", "shard", "prompts", "model", "device", "variant", "pipeline", "config", "set"]

    static func run(_ args: Arguments) throws {
        let out = args.value("out") ?? "sweep"
        func log(_ line: String) { FileHandle.standardError.write(Data("sweep: \(line)\n".utf8)) }
        let result: SweepResult?
        if args.has("merge") {
            if let unused = runOnly.first(where: { args.given($0) }) {
                throw UsageError("`icl sweep --merge` joins finished shards and runs nothing, so --\(unused) has no effect there; drop it.")
            }
            result = try Sweeper.merge(args.positional, outDir: out, log: log)
        } else {
            guard args.positional.isEmpty else {
                throw UsageError("`icl sweep` takes no argument '\(args.positional[0])'; give the grid with --grid FIELD=V1,V2 (arguments are for --merge).")
            }
            let measures = try args.all("measure").map { try SweepMeasure($0) }
            guard !measures.isEmpty else {
                throw UsageError("`icl sweep` needs at least one --measure (for example --measure \"eval ood l=8\"); the forms are: \(SweepMeasure.grammar).")
            }
            let shard = try args.value("shard").map { text in
                do { return try Reproducer.parseShard(text) } catch let e as UsageError {
                    throw UsageError("--shard: " + e.message + " For example --shard 2/4.")
                }
            }
            let request = SweepRequest(axes: try args.all("grid").map { try SweepAxis($0) },
                                       seeds: try args.int("seeds", min: 1) ?? 3, measures: measures,
                                       base: try CommonOptions.config(args), factory: try CommonOptions.factory(args),
                                       outDir: out, shard: shard, promptCap: try args.int("prompts", min: 1))
            StopSignal.install()
            result = try Sweeper.run(request, log: log)
        }
        let json = args.has("json")
        guard let result else {
            if json { Output.json(["what": "files", "out": out, "parts": out + "/parts"]) }
            else { print("parts: \(out)/parts (join the shards with `icl sweep --merge DIR... --out DIR`)") }
            return
        }
        if json {
            Output.json(["what": "files", "out": out, "csv": out + "/sweep.csv", "means": out + "/means.csv",
                         "figures": result.figureNames.map { out + "/" + $0 }, "summary": out + "/summary.md"])
        } else {
            print("sweep: \(out)/sweep.csv   means: \(out)/means.csv   figures: \(result.figureNames.map { out + "/" + $0 }.joined(separator: " "))   summary: \(out)/summary.md")
        }
    }
}
