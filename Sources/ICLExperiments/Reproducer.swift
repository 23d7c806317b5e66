import Foundation
import ICLCore
import ICLKit

/// One `icl reproduce` invocation: which recipes, how many seeds, what size, which slice of the sweep.
public struct ReproduceRequest {
    public var recipes: [Recipe]
    public var seeds: Int
    public var size: ReproduceSize
    public var base: Config
    public var factory: BackendFactory
    public var outDir: String
    /// Run only shard `index` (1-based) of `count`; results are joined later with `merge`.
    public var shard: (index: Int, count: Int)?

    public init(recipes: [Recipe], seeds: Int, size: ReproduceSize, base: Config, factory: BackendFactory,
                outDir: String, shard: (index: Int, count: Int)? = nil) {
        self.recipes = recipes; self.seeds = seeds; self.size = size; self.base = base; self.factory = factory
        self.outDir = outDir; self.shard = shard
    }
}

public enum Reproducer {
    /// The sweep's jobs, seed-major so one shard's recipes share a seed's trained model.
    static func jobs(_ recipes: [Recipe], seeds: Int) -> [(recipe: Recipe, seed: Int)] {
        (1...seeds).flatMap { s in recipes.map { ($0, s) } }
    }

    /// The jobs of shard `index` of `count`: a contiguous block of the job list.
    static func shardJobs(_ all: [(recipe: Recipe, seed: Int)], index: Int, count: Int) -> [(recipe: Recipe, seed: Int)] {
        StudyRunner.shardJobs(all, index: index, count: count)
    }

    /// Parses `i/n` (1 ≤ i ≤ n).
    public static func parseShard(_ text: String) throws -> (index: Int, count: Int) { try StudyRunner.parseShard(text) }

    /// What a reproduction's parts record as their study: the size, the base config and the seed count.
    static func study(size: ReproduceSize, config: String, seeds: Int) -> String {
        let sizeObject = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(size))) ?? [:]
        return ResultPart.studyText(["kind": "reproduce", "size": sizeObject, "config": config, "seeds": seeds])
    }

    /// Runs the request's jobs (skipping those whose part already exists from the same sweep), then, unless
    /// it is one shard of several, writes the CSVs, SVGs and summary.md. Returns the claims written.
    @discardableResult
    public static func run(_ req: ReproduceRequest, log: @escaping (String) -> Void) throws -> [Claim] {
        guard req.seeds >= 1 else { throw UsageError("a reproduction needs at least 1 seed, got \(req.seeds).") }
        try StudyRunner.makeFolder(req.outDir)
        let lock = try OutputLock(folder: req.outDir)
        defer { withExtendedLifetime(lock) {} }
        let lab = ReproduceLab(size: req.size, base: req.base, factory: req.factory, outDir: req.outDir, log: log)
        let jobs = self.jobs(req.recipes, seeds: req.seeds).map { job in
            StudyJob(unit: job.recipe.name, seed: job.seed) { try job.recipe.measure(seed: job.seed, lab: lab) }
        }
        try StudyRunner.run(jobs, study: study(size: req.size, config: req.base.jsonString(), seeds: req.seeds),
                            outDir: req.outDir, shard: req.shard, device: lab.deviceDescription, log: log)
        if let shard = req.shard, shard.count > 1 {
            log("shard \(shard.index)/\(shard.count) done; merge the shards' output folders once all are done.")
            return []
        }
        return try finish(outDir: req.outDir, log: log)
    }

    /// Copies the parts of every shard folder into `outDir`, checks that every recipe has all its seeds, and
    /// writes the CSVs, SVGs and summary.md.
    @discardableResult
    public static func merge(_ dirs: [String], outDir: String, log: @escaping (String) -> Void) throws -> [Claim] {
        try StudyRunner.merge(dirs, outDir: outDir, log: log) { try finish(outDir: outDir, log: log) }
    }

    /// Aggregates every recipe found under `<out>/parts` into `<name>.csv`, `<name>.svg` and summary.md.
    static func finish(outDir: String, log: (String) -> Void) throws -> [Claim] {
        let found = try StudyRunner.load(outDir)
        let present = Recipes.all.filter { found[$0.name] != nil }
        guard let firstPart = present.first.flatMap({ found[$0.name]?.first }) else {
            throw UsageError("'\(outDir)' holds no results to summarise; run a reproduction into it first.")
        }
        let first = try ReproductionStudy(firstPart, outDir: outDir)
        var claims: [Claim] = [], lines: [String] = []
        for recipe in present {
            let parts = found[recipe.name]!
            let studies = try parts.map { try ReproductionStudy($0, outDir: outDir) }
            guard studies.allSatisfy({ $0.size == first.size && $0.config == first.config }) else {
                throw UsageError("the results in '\(outDir)' come from different sweeps (size or config differ); merge only shards of one `icl reproduce` command.")
            }
            let have = Set(parts.map(\.seed)), want = Set(1...max(1, studies[0].seeds))
            guard want.isSubset(of: have) else {
                let missing = want.subtracting(have).sorted().map(String.init).joined(separator: ", ")
                throw UsageError("\(recipe.name) lacks seed(s) \(missing) in '\(outDir)'; run the shards that hold them, then merge again.")
            }
            let aggregated = recipe.tables.map { spec in
                AggregatedTable(spec: spec, rows: parts.filter { want.contains($0.seed) }.flatMap { $0.tables[spec.name] ?? [] })
            }
            for table in aggregated {
                try AtomicFile.write(Data(table.csv().utf8), to: "\(outDir)/\(table.spec.name).csv")
            }
            let (figure, recipeClaims) = recipe.report(aggregated, size: first.size)
            try AtomicFile.write(Data(figure.render().utf8), to: "\(outDir)/\(recipe.name).svg")
            claims += recipeClaims
            let seconds = parts.reduce(0) { $0 + $1.seconds }
            lines.append(String(format: "- **%@** (%@): `%@.svg`, %@; %d seeds, %.0f s of measurement", recipe.name,
                                recipe.title, recipe.name, recipe.tables.map { "`\($0.name).csv`" }.joined(separator: ", "),
                                want.count, seconds))
            log("\(recipe.name): wrote \(recipe.tables.map { $0.name + ".csv" }.joined(separator: ", ")), \(recipe.name).svg")
        }
        let held = claims.filter { $0.verdict == .held }.count
        var md = ["# Reproduction summary", "",
                  "Size `\(first.size.name)`, \(found[present[0].name]!.count) seed(s) per recipe, device: \(firstPart.device).",
                  "Base config (each seed k = 1…K replaces `seed`): `\(first.config)`.", "",
                  "Verdicts: **held**, **missed**, or **partly** (held only in the weaker form the line states). Errors are fractions of fresh prompts; 0 means no error in the prompts evaluated.", "",
                  "\(held) of \(claims.count) claims held.", "",
                  "| Exp. | Claim | Paper | Ours (mean over seeds) | Verdict |", "|---|---|---|---|---|"]
        md += claims.map(\.markdownRow)
        md += ["", "## Files", ""] + lines
        try AtomicFile.write(Data((md.joined(separator: "\n") + "\n").utf8), to: outDir + "/summary.md")
        log("wrote \(outDir)/summary.md: \(held) of \(claims.count) claims held")
        return claims
    }
}

/// What a reproduction's part says about its study: the size, the base config and the seed count.
struct ReproductionStudy {
    var size: ReproduceSize
    var config: String
    var seeds: Int

    init(_ part: ResultPart, outDir: String) throws {
        let o = part.studyObject
        guard o["kind"] as? String == "reproduce", let sizeObject = o["size"],
              let sizeData = try? JSONSerialization.data(withJSONObject: sizeObject),
              let size = try? JSONDecoder().decode(ReproduceSize.self, from: sizeData),
              let config = o["config"] as? String, let seeds = (o["seeds"] as? NSNumber)?.intValue else {
            throw UsageError("the part '\(part.unit)/seed-\(part.seed)' in '\(outDir)' is not from `icl reproduce` (an `icl sweep` folder?); summarise each command's folder with its own command.")
        }
        self.size = size; self.config = config; self.seeds = seeds
    }
}
