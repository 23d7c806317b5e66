import Foundation
import ICLCore
import ICLKit

/// One axis of a sweep's grid: a config field and its values, from `--grid FIELD=V1,V2` or `FIELD=A:B:STEP`.
public struct SweepAxis: Sendable, Equatable {
    public var field: String
    public var values: [String]

    /// Parses `field=v1,v2,…` or `field=a:b[:step]`; each value is checked against the field by `Config.set`.
    public init(_ text: String) throws {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw UsageError("--grid '\(text)' is not FIELD=V1,V2,… (for example --grid m=32,64,256).")
        }
        field = String(text[..<eq])
        let list = String(text[text.index(after: eq)...])
        guard field != "seed" else {
            throw UsageError("--grid cannot vary seed; choose how many seeds every grid point gets with --seeds K.")
        }
        values = list.contains(":") ? try SweepMeasure.numbers(list).map { ResultRow.key($0) }
                                    : list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !values.isEmpty, !values.contains("") else {
            throw UsageError("--grid '\(text)' has an empty value; write FIELD=V1,V2,… with no empty entries.")
        }
        guard Set(values).count == values.count else {
            throw UsageError("--grid '\(text)' repeats a value; list each value once.")
        }
        var probe = Config()
        for v in values {
            do { try probe.set(field, v) } catch let e as ConfigError {
                throw UsageError("--grid '\(text)': \(e.message)")
            }
        }
    }

    init(field: String, values: [String]) { self.field = field; self.values = values }

    /// The values as numbers, when every one is a number (the x axis of a figure).
    var numbers: [Double]? {
        let xs = values.compactMap(Double.init)
        return xs.count == values.count ? xs : nil
    }
}

/// One `icl sweep` invocation: a grid over config fields, seeds, and the measures taken of every trained model.
public struct SweepRequest {
    public var axes: [SweepAxis]
    public var seeds: Int
    public var measures: [SweepMeasure]
    public var base: Config
    public var factory: BackendFactory
    public var outDir: String
    /// Run only shard `index` (1-based) of `count` of the (grid point, seed) jobs; join with `Sweeper.merge`.
    public var shard: (index: Int, count: Int)?
    /// Cap on every measure's prompt count (tests and smoke runs).
    public var promptCap: Int?

    public init(axes: [SweepAxis], seeds: Int, measures: [SweepMeasure], base: Config, factory: BackendFactory,
                outDir: String, shard: (index: Int, count: Int)? = nil, promptCap: Int? = nil) {
        self.axes = axes; self.seeds = seeds; self.measures = measures; self.base = base; self.factory = factory
        self.outDir = outDir; self.shard = shard; self.promptCap = promptCap
    }
}

/// What a sweep's parts record as their study: everything that decides the numbers.
struct SweepStudy: Equatable {
    var axes: [SweepAxis]
    var measures: [String]
    var seeds: Int
    var config: String
    var promptCap: Int?

    var text: String {
        ResultPart.studyText(["kind": "sweep", "axes": axes.map { [$0.field, $0.values] as [Any] }, "measures": measures,
                              "seeds": seeds, "config": config, "promptCap": promptCap ?? 0])
    }

    init(axes: [SweepAxis], measures: [String], seeds: Int, config: String, promptCap: Int?) {
        self.axes = axes; self.measures = measures; self.seeds = seeds; self.config = config; self.promptCap = promptCap
    }

    init(_ part: ResultPart, outDir: String) throws {
        let o = part.studyObject
        guard o["kind"] as? String == "sweep", let axes = o["axes"] as? [[Any]], let measures = o["measures"] as? [String],
              let seeds = (o["seeds"] as? NSNumber)?.intValue, let config = o["config"] as? String else {
            throw UsageError("the part '\(part.unit)/seed-\(part.seed)' in '\(outDir)' is not from `icl sweep` (an `icl reproduce` folder?); summarise each command's folder with its own command.")
        }
        self.axes = axes.compactMap { a in
            guard a.count == 2, let f = a[0] as? String, let v = a[1] as? [String] else { return nil }
            return SweepAxis(field: f, values: v)
        }
        self.measures = measures
        self.seeds = seeds
        self.config = config
        let cap = (o["promptCap"] as? NSNumber)?.intValue ?? 0
        promptCap = cap > 0 ? cap : nil
    }
}

/// `icl sweep`: trains one model per grid point and seed (cached under `<out>/models`), measures each, and
/// writes the tidy `sweep.csv`, `means.csv`, an SVG per measure and `summary.md`. It shares `icl reproduce`'s
/// machinery: parts per (point, seed) that a rerun reuses, `--shard i/n` and `--merge`.
public enum Sweeper {
    /// Every grid point, the first axis varying slowest: [(field, value)] per point.
    static func points(_ axes: [SweepAxis]) -> [[(field: String, value: String)]] {
        axes.reduce([[]]) { acc, axis in acc.flatMap { p in axis.values.map { p + [(axis.field, $0)] } } }
    }

    /// A point's folder name under parts/ and models/: `m=32,xi=0.01`, or `base` for an empty grid.
    static func unit(_ point: [(field: String, value: String)]) -> String {
        point.isEmpty ? "base" : point.map { "\($0.field)=\($0.value)" }.joined(separator: ",").replacingOccurrences(of: "/", with: "_")
    }

    /// The config a point and seed train: the base with the point's fields and the seed; evaluations, probes and
    /// checkpoints during training off (the measures run on the final model).
    static func config(_ base: Config, _ point: [(field: String, value: String)], seed: Int) throws -> Config {
        var c = base
        for (f, v) in point { try c.set(f, v) }
        c.seed = UInt64(seed)
        c.evalEvery = 0
        c.probeEvery = 0
        c.checkpointEvery = 0
        do { try c.validate() } catch let e as ConfigError {
            throw UsageError("grid point \(unit(point)): \(e.message)")
        }
        return c
    }

    /// Runs the request's jobs (skipping parts already measured by the same sweep), then, unless it is one shard
    /// of several, writes the results. Returns what was written, or nil for a shard.
    @discardableResult
    public static func run(_ req: SweepRequest, log: @escaping (String) -> Void) throws -> SweepResult? {
        guard req.seeds >= 1 else { throw UsageError("a sweep needs at least 1 seed, got \(req.seeds).") }
        guard !req.measures.isEmpty else {
            throw UsageError("`icl sweep` needs at least one --measure (for example --measure \"eval ood l=8\").")
        }
        guard Set(req.axes.map(\.field)).count == req.axes.count else {
            throw UsageError("--grid names a field twice; give each field's values in one --grid FIELD=V1,V2,….")
        }
        let labels = req.measures.map(\.label)
        guard Set(labels).count == labels.count else { throw UsageError("a --measure is given twice; give each once.") }
        let points = self.points(req.axes)
        // Every point's config is checked before anything trains.
        for p in points {
            let c = try config(req.base, p, seed: 1)
            for m in req.measures { try m.check(c) }
        }
        try StudyRunner.makeFolder(req.outDir)
        let lock = try OutputLock(folder: req.outDir)
        defer { withExtendedLifetime(lock) {} }
        let lab = ReproduceLab(size: .full, base: req.base, factory: req.factory, outDir: req.outDir, log: log)
        let study = SweepStudy(axes: req.axes, measures: labels, seeds: req.seeds, config: req.base.jsonString(),
                               promptCap: req.promptCap)
        let jobs = points.flatMap { point in
            (1...req.seeds).map { seed in
                StudyJob(unit: unit(point), seed: seed) {
                    let model = try lab.model(try config(req.base, point, seed: seed))
                    var tables: [String: [ResultRow]] = [:]
                    for m in req.measures { tables[m.label] = try m.measure(model, seed: seed, lab: lab, promptCap: req.promptCap) }
                    return tables
                }
            }
        }
        try StudyRunner.run(jobs, study: study.text, outDir: req.outDir, shard: req.shard, device: lab.deviceDescription, log: log)
        if let shard = req.shard, shard.count > 1 {
            log("shard \(shard.index)/\(shard.count) done; merge the shards' output folders once all are done.")
            return nil
        }
        return try finish(outDir: req.outDir, log: log)
    }

    /// Copies the parts of every shard folder into `outDir`, checks that every point has every seed, and writes
    /// the results.
    @discardableResult
    public static func merge(_ dirs: [String], outDir: String, log: @escaping (String) -> Void) throws -> SweepResult {
        try StudyRunner.merge(dirs, outDir: outDir, log: log) { try finish(outDir: outDir, log: log) }
    }

    /// Reads every part under `<out>/parts`, checks they are one complete sweep, and writes its files.
    static func finish(outDir: String, log: (String) -> Void) throws -> SweepResult {
        let found = try StudyRunner.load(outDir)
        guard let any = found.keys.sorted().first.flatMap({ found[$0]?.first }) else {
            throw UsageError("'\(outDir)' holds no results to summarise; run a sweep into it first.")
        }
        let study = try SweepStudy(any, outDir: outDir)
        var parts: [ResultPart] = []
        for point in points(study.axes) {
            let name = unit(point)
            let have = found[name] ?? []
            for p in have where p.study != any.study {
                throw UsageError("the results in '\(outDir)' come from different sweeps (\(p.unit)/seed-\(p.seed) differs in grid, measures, seeds or config); merge only shards of one `icl sweep` command.")
            }
            let missing = Set(1...study.seeds).subtracting(have.map(\.seed)).sorted()
            guard missing.isEmpty else {
                throw UsageError("grid point \(name) lacks seed(s) \(missing.map(String.init).joined(separator: ", ")) in '\(outDir)'; run the shards that hold them, then merge again.")
            }
            parts += have.filter { $0.seed <= study.seeds }
        }
        let result = SweepResult(study: study, parts: parts)
        try result.write(to: outDir)
        log("wrote \(outDir)/sweep.csv, means.csv, \(result.figureNames.joined(separator: ", ")) and summary.md")
        return result
    }
}
