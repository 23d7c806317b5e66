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

/// What one (recipe, seed) job measured: `<out>/parts/<recipe>/seed-<k>.json`. A sweep is the set of
/// these files; finishing it (or merging shards) turns them into CSV, SVG and summary.md.
struct RecipePart {
    var recipe: String
    var seed: Int
    var seeds: Int
    var size: ReproduceSize
    var config: String
    var device: String
    var seconds: Double
    var tables: [String: [ResultRow]]

    static func path(_ outDir: String, recipe: String, seed: Int) -> String {
        "\(outDir)/parts/\(recipe)/seed-\(seed).json"
    }

    var json: Data {
        let size = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(self.size))) ?? [:]
        let object: [String: Any] = [
            "recipe": recipe, "seed": seed, "seeds": seeds, "size": size, "config": config, "device": device,
            "seconds": seconds, "tables": tables.mapValues { $0.map(\.json) },
        ]
        return try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    static func read(_ path: String) throws -> RecipePart {
        guard let data = FileManager.default.contents(atPath: path),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let recipe = o["recipe"] as? String, let seed = (o["seed"] as? NSNumber)?.intValue,
              let seeds = (o["seeds"] as? NSNumber)?.intValue, let sizeObject = o["size"],
              let sizeData = try? JSONSerialization.data(withJSONObject: sizeObject),
              let size = try? JSONDecoder().decode(ReproduceSize.self, from: sizeData),
              let config = o["config"] as? String, let tablesObject = o["tables"] as? [String: Any] else {
            throw UsageError("'\(path)' is not a result part of a reproduction; remove it, or merge the shard folders themselves.")
        }
        var tables: [String: [ResultRow]] = [:]
        for (name, rows) in tablesObject {
            guard let list = rows as? [Any] else { throw UsageError("'\(path)' has a malformed table '\(name)'; remove it and rerun that shard.") }
            tables[name] = try list.map {
                guard let r = ResultRow(json: $0) else { throw UsageError("'\(path)' has a malformed row; remove it and rerun that shard.") }
                return r
            }
        }
        return RecipePart(recipe: recipe, seed: seed, seeds: seeds, size: size, config: config,
                          device: o["device"] as? String ?? "", seconds: (o["seconds"] as? NSNumber)?.doubleValue ?? 0,
                          tables: tables)
    }
}

public enum Reproducer {
    /// The sweep's jobs, seed-major so one shard's recipes share a seed's trained model.
    static func jobs(_ recipes: [Recipe], seeds: Int) -> [(recipe: Recipe, seed: Int)] {
        (1...seeds).flatMap { s in recipes.map { ($0, s) } }
    }

    /// The jobs of shard `index` of `count`: a contiguous block of the job list.
    static func shardJobs(_ all: [(recipe: Recipe, seed: Int)], index: Int, count: Int) -> [(recipe: Recipe, seed: Int)] {
        let lo = (index - 1) * all.count / count, hi = index * all.count / count
        return Array(all[lo..<hi])
    }

    /// Parses `i/n` (1 ≤ i ≤ n).
    public static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 1, i <= n else {
            throw UsageError("a shard is i/n with 1 ≤ i ≤ n (e.g. 2/4), got '\(text)'.")
        }
        return (i, n)
    }

    /// Runs the request's jobs (skipping those whose part already exists from the same sweep), then, unless
    /// it is one shard of several, writes the CSVs, SVGs and summary.md. Returns the claims written.
    @discardableResult
    public static func run(_ req: ReproduceRequest, log: @escaping (String) -> Void) throws -> [Claim] {
        guard req.seeds >= 1 else { throw UsageError("a reproduction needs at least 1 seed, got \(req.seeds).") }
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: req.outDir, withIntermediateDirectories: true)
        } catch {
            throw RunError("cannot create the output folder '\(req.outDir)': \(error.localizedDescription).")
        }
        let lock = try OutputLock(folder: req.outDir)
        defer { withExtendedLifetime(lock) {} }
        let lab = ReproduceLab(size: req.size, base: req.base, factory: req.factory, outDir: req.outDir, log: log)
        let configText = req.base.jsonString()
        var jobs = self.jobs(req.recipes, seeds: req.seeds)
        if let shard = req.shard { jobs = shardJobs(jobs, index: shard.index, count: shard.count) }
        var measured = 0, measuredSeconds = 0.0
        for (n, job) in jobs.enumerated() {
            let path = RecipePart.path(req.outDir, recipe: job.recipe.name, seed: job.seed)
            if fm.fileExists(atPath: path), let old = try? RecipePart.read(path),
               old.size == req.size, old.config == configText, old.seeds == req.seeds {
                log("[\(n + 1)/\(jobs.count)] \(job.recipe.name) seed \(job.seed): already measured (\(path))")
                continue
            }
            let started = Date()
            let tables = try job.recipe.measure(seed: job.seed, lab: lab)
            let seconds = Date().timeIntervalSince(started)
            let device = try lab.deviceDescription()
            let part = RecipePart(recipe: job.recipe.name, seed: job.seed, seeds: req.seeds, size: req.size,
                                  config: configText, device: device, seconds: seconds, tables: tables)
            try fm.createDirectory(atPath: req.outDir + "/parts/" + job.recipe.name, withIntermediateDirectories: true)
            try AtomicFile.write(part.json, to: path)
            measured += 1
            measuredSeconds += seconds
            // ETA: the mean time of the jobs measured so far, times the jobs left (recipes differ, so it is rough).
            let left = jobs.count - n - 1
            let eta = left > 0 ? "; ETA " + Progress.clock(measuredSeconds / Double(measured) * Double(left)) : ""
            log(String(format: "[%d/%d] %@ seed %d: %.1f s%@", n + 1, jobs.count, job.recipe.name, job.seed, seconds, eta))
        }
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
        guard !dirs.isEmpty else { throw UsageError("merging needs the shard folders (the output folders of the shards).") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let lock = try OutputLock(folder: outDir)
        defer { withExtendedLifetime(lock) {} }
        var copied = 0
        for dir in dirs {
            let parts = dir + "/parts"
            guard fm.fileExists(atPath: parts) else {
                throw UsageError("'\(dir)' holds no results (no parts/ folder); merge the output folders of the shards.")
            }
            for recipe in try fm.contentsOfDirectory(atPath: parts).sorted() {
                for file in try fm.contentsOfDirectory(atPath: parts + "/" + recipe).sorted() where file.hasSuffix(".json") {
                    let source = parts + "/" + recipe + "/" + file
                    let part = try RecipePart.read(source)
                    let target = RecipePart.path(outDir, recipe: part.recipe, seed: part.seed)
                    if (source as NSString).standardizingPath == (target as NSString).standardizingPath { continue }
                    try fm.createDirectory(atPath: outDir + "/parts/" + part.recipe, withIntermediateDirectories: true)
                    try AtomicFile.write(part.json, to: target)
                    copied += 1
                }
            }
        }
        log("merged \(copied) result parts from \(dirs.count) folder(s) into \(outDir)")
        return try finish(outDir: outDir, log: log)
    }

    /// Aggregates every recipe found under `<out>/parts` into `<name>.csv`, `<name>.svg` and summary.md.
    static func finish(outDir: String, log: (String) -> Void) throws -> [Claim] {
        let fm = FileManager.default
        var found: [String: [RecipePart]] = [:]
        if let recipes = try? fm.contentsOfDirectory(atPath: outDir + "/parts") {
            for name in recipes {
                let files = (try? fm.contentsOfDirectory(atPath: outDir + "/parts/" + name)) ?? []
                found[name] = try files.filter { $0.hasSuffix(".json") }.sorted()
                    .map { try RecipePart.read(outDir + "/parts/" + name + "/" + $0) }
            }
        }
        let present = Recipes.all.filter { found[$0.name] != nil }
        guard let first = present.first.flatMap({ found[$0.name]?.first }) else {
            throw UsageError("'\(outDir)' holds no results to summarise; run a reproduction into it first.")
        }
        var claims: [Claim] = [], lines: [String] = []
        for recipe in present {
            let parts = found[recipe.name]!
            guard parts.allSatisfy({ $0.size == first.size && $0.config == first.config }) else {
                throw UsageError("the results in '\(outDir)' come from different sweeps (size or config differ); merge only shards of one `icl reproduce` command.")
            }
            let have = Set(parts.map(\.seed)), want = Set(1...max(1, parts[0].seeds))
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
                  "Size `\(first.size.name)`, \(found[present[0].name]!.count) seed(s) per recipe, device: \(first.device).",
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
