import Foundation
import ICLKit

/// What one job of a study measured: a reproduction's (recipe, seed) or a sweep's (grid point, seed), stored as
/// `<out>/parts/<unit>/seed-<k>.json`. A study is the set of these files; finishing it (or merging its shards)
/// turns them into CSV, SVG and summary.md.
///
/// `study` is the canonical JSON of what was asked (the size or the grid and measures, the base config, the
/// seed count): a part is reused only by the same study, and only parts of one study are summarised together.
struct ResultPart {
    var unit: String
    var seed: Int
    var study: String
    var device: String
    var seconds: Double
    var tables: [String: [ResultRow]]

    static func path(_ outDir: String, unit: String, seed: Int) -> String {
        "\(outDir)/parts/\(unit)/seed-\(seed).json"
    }

    /// The study's JSON object (what `study` encodes).
    var studyObject: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(study.utf8)) as? [String: Any]) ?? [:]
    }

    var json: Data {
        let object: [String: Any] = [
            "unit": unit, "seed": seed, "study": study, "device": device, "seconds": seconds,
            "tables": tables.mapValues { $0.map(\.json) },
        ]
        return try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    static func read(_ path: String) throws -> ResultPart {
        guard let data = FileManager.default.contents(atPath: path),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let unit = o["unit"] as? String, let seed = (o["seed"] as? NSNumber)?.intValue,
              let study = o["study"] as? String, let tablesObject = o["tables"] as? [String: Any] else {
            throw UsageError("'\(path)' is not a result part of a reproduction or sweep; remove it, or merge the shard folders themselves.")
        }
        var tables: [String: [ResultRow]] = [:]
        for (name, rows) in tablesObject {
            guard let list = rows as? [Any] else { throw UsageError("'\(path)' has a malformed table '\(name)'; remove it and rerun that shard.") }
            tables[name] = try list.map {
                guard let r = ResultRow(json: $0) else { throw UsageError("'\(path)' has a malformed row; remove it and rerun that shard.") }
                return r
            }
        }
        return ResultPart(unit: unit, seed: seed, study: study, device: o["device"] as? String ?? "",
                          seconds: (o["seconds"] as? NSNumber)?.doubleValue ?? 0, tables: tables)
    }

    /// Canonical JSON text of a study description (sorted keys), so equal studies compare equal.
    static func studyText(_ object: [String: Any]) -> String {
        String(data: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), encoding: .utf8)!
    }
}

/// One job of a study: a unit (recipe or grid point), a seed, and what measures it.
struct StudyJob {
    var unit: String
    var seed: Int
    var measure: () throws -> [String: [ResultRow]]
}

/// The machinery `icl reproduce` and `icl sweep` share: running a study's jobs into parts (skipping those
/// already measured by the same study, so a killed run resumes), shards, and merging shard folders.
enum StudyRunner {
    /// Parses `i/n` (1 ≤ i ≤ n).
    static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 1, i <= n else {
            throw UsageError("a shard is i/n with 1 ≤ i ≤ n (e.g. 2/4), got '\(text)'.")
        }
        return (i, n)
    }

    /// The jobs of shard `index` of `count`: a contiguous block of the job list.
    static func shardJobs<T>(_ all: [T], index: Int, count: Int) -> [T] {
        let lo = (index - 1) * all.count / count, hi = index * all.count / count
        return Array(all[lo..<hi])
    }

    /// Creates the output folder or says why it cannot.
    static func makeFolder(_ dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw RunError("cannot create the output folder '\(dir)': \(error.localizedDescription).")
        }
    }

    /// Measures every job of `jobs` (a shard's block of them when `shard` is given) whose part is not already
    /// there from the same study, writing each part atomically as soon as it is measured.
    static func run(_ jobs: [StudyJob], study: String, outDir: String, shard: (index: Int, count: Int)?,
                    device: () throws -> String, log: (String) -> Void) throws {
        let fm = FileManager.default
        var jobs = jobs
        if let shard { jobs = shardJobs(jobs, index: shard.index, count: shard.count) }
        var measured = 0, measuredSeconds = 0.0
        for (n, job) in jobs.enumerated() {
            let path = ResultPart.path(outDir, unit: job.unit, seed: job.seed)
            if fm.fileExists(atPath: path), let old = try? ResultPart.read(path), old.study == study {
                log("[\(n + 1)/\(jobs.count)] \(job.unit) seed \(job.seed): already measured (\(path))")
                continue
            }
            let started = Date()
            let tables = try job.measure()
            let seconds = Date().timeIntervalSince(started)
            let part = ResultPart(unit: job.unit, seed: job.seed, study: study, device: try device(), seconds: seconds,
                                  tables: tables)
            try fm.createDirectory(atPath: outDir + "/parts/" + job.unit, withIntermediateDirectories: true)
            try AtomicFile.write(part.json, to: path)
            measured += 1
            measuredSeconds += seconds
            // ETA: the mean time of the jobs measured so far, times the jobs left (jobs differ, so it is rough).
            let left = jobs.count - n - 1
            let eta = left > 0 ? "; ETA " + Progress.clock(measuredSeconds / Double(measured) * Double(left)) : ""
            log(String(format: "[%d/%d] %@ seed %d: %.1f s%@", n + 1, jobs.count, job.unit, job.seed, seconds, eta))
        }
    }

    /// Copies the parts of every shard folder into `outDir` (locked meanwhile), then `finish`es the study there.
    static func merge<Result>(_ dirs: [String], outDir: String, log: (String) -> Void,
                              finish: () throws -> Result) throws -> Result {
        guard !dirs.isEmpty else { throw UsageError("merging needs the shard folders (the output folders of the shards).") }
        try makeFolder(outDir)
        let lock = try OutputLock(folder: outDir)
        defer { withExtendedLifetime(lock) {} }
        let copied = try copyParts(from: dirs, into: outDir)
        log("merged \(copied) result parts from \(dirs.count) folder(s) into \(outDir)")
        return try finish()
    }

    /// Copies the parts of every shard folder into `outDir` (which the caller has locked). Returns how many.
    static func copyParts(from dirs: [String], into outDir: String) throws -> Int {
        guard !dirs.isEmpty else { throw UsageError("merging needs the shard folders (the output folders of the shards).") }
        let fm = FileManager.default
        var copied = 0
        for dir in dirs {
            let parts = dir + "/parts"
            guard fm.fileExists(atPath: parts) else {
                throw UsageError("'\(dir)' holds no results (no parts/ folder); merge the output folders of the shards.")
            }
            for unit in try fm.contentsOfDirectory(atPath: parts).sorted() {
                for file in try fm.contentsOfDirectory(atPath: parts + "/" + unit).sorted() where file.hasSuffix(".json") {
                    let source = parts + "/" + unit + "/" + file
                    let part = try ResultPart.read(source)
                    let target = ResultPart.path(outDir, unit: part.unit, seed: part.seed)
                    if (source as NSString).standardizingPath == (target as NSString).standardizingPath { continue }
                    try fm.createDirectory(atPath: outDir + "/parts/" + part.unit, withIntermediateDirectories: true)
                    try AtomicFile.write(part.json, to: target)
                    copied += 1
                }
            }
        }
        return copied
    }

    /// Every part under `<out>/parts`, by unit, each unit's parts in seed order.
    static func load(_ outDir: String) throws -> [String: [ResultPart]] {
        let fm = FileManager.default
        var found: [String: [ResultPart]] = [:]
        for unit in (try? fm.contentsOfDirectory(atPath: outDir + "/parts")) ?? [] {
            let files = (try? fm.contentsOfDirectory(atPath: outDir + "/parts/" + unit)) ?? []
            found[unit] = try files.filter { $0.hasSuffix(".json") }
                .map { try ResultPart.read(outDir + "/parts/" + unit + "/" + $0) }.sorted { $0.seed < $1.seed }
        }
        return found
    }
}
