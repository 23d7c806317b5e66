import Foundation
import XCTest
import ICLTestSupport
import ICLCore
import ICLKit
@testable import ICLExperiments
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `icl sweep` at tiny size: the measure and grid grammar, the tidy CSV's rows, means, figures and summary,
/// resuming after SIGKILL, shards merging to the unsharded bytes, and bad arguments exiting 2.
final class SweepTests: XCTestCase {
    /// 2 × 2 grid points × 2 seeds, tiny models (60 steps), few prompts.
    static let args = ["--grid", "m=8,16", "--grid", "xi=0.01,0.1", "--seeds", "2",
                       "--set", "steps=60 batch=32 warmup=5", "--prompts", "150",
                       "--measure", "eval ood l=4,8 s1=1.1", "--measure", "prune magnitude,random rates=0:0.4:0.2 draws=2",
                       "--measure", "probe id l=6", "--measure", "train"]

    static func request(_ out: String, shard: (Int, Int)? = nil) throws -> SweepRequest {
        var base = Config()
        try base.apply(assignment: "steps=60")
        try base.apply(assignment: "batch=32")
        try base.apply(assignment: "warmup=5")
        return SweepRequest(axes: [try SweepAxis("m=8,16"), try SweepAxis("xi=0.01,0.1")], seeds: 2,
                            measures: try ["eval ood l=4,8 s1=1.1", "prune magnitude,random rates=0:0.4:0.2 draws=2",
                                           "probe id l=6", "train"].map { try SweepMeasure($0) },
                            base: base, factory: BackendFactory(choice: .opencl(.cpu)), outDir: out,
                            shard: shard.map { (index: $0.0, count: $0.1) }, promptCap: 150)
    }

    /// One whole tiny sweep, shared by the tests that read its files.
    static let sweep: String = {
        let dir = CLI.tempDir("sweep")
        _ = try! Sweeper.run(try! request(dir), log: { _ in })
        return dir
    }()

    static let files = ["sweep.csv", "means.csv", "measure-1.svg", "measure-2.svg", "measure-3.svg", "measure-4.svg"]

    func read(_ dir: String, _ name: String) throws -> String { try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }

    func testMeasureGrammar() throws {
        let e = try SweepMeasure("eval  ood l=1:20:2 s1=1.3 alpha=0.6 prompts=500")
        XCTAssertEqual(e.label, "eval ood l=1:20:2 s1=1.3 alpha=0.6 prompts=500")
        XCTAssertEqual(e.kind, .eval)
        XCTAssertEqual(e.domain, .outOfDomain)
        XCTAssertEqual(e.lengths, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
        XCTAssertEqual(e.S1, 1.3)
        XCTAssertEqual(e.alpha, 0.6)
        XCTAssertEqual(e.prompts, 500)
        let p = try SweepMeasure("prune magnitude,random rates=0:0.4:0.05")
        XCTAssertEqual(p.methods, [.magnitude, .random])
        XCTAssertEqual(p.rates.count, 9)
        XCTAssertEqual(p.rates[3], 0.15)   // not 0.15000000000000002
        XCTAssertEqual(p.domain, .outOfDomain, "pruning is measured out of domain unless told")
        XCTAssertEqual(p.lengths(for: Config()), [8], "pruning at l = 8 unless told")
        var short = Config()
        short.lTest = 6
        XCTAssertEqual(p.lengths(for: short), [6], "or at lTest where that is shorter")
        XCTAssertEqual(try SweepMeasure("eval").domain, .inDomain)
        XCTAssertEqual(try SweepMeasure("eval").lengths(for: Config()), [20], "the model's lTest")
        for (text, needle) in [("evaluate ood", "must start with"), ("eval l=0", "l must be"), ("eval rates=0.1", "takes no 'rates'"),
                               ("prune rates=0.1", "methods first"), ("prune magnitude rates=1", "[0, 1)"),
                               ("prune smallest", "unknown pruning method"), ("eval alpha=2", "alpha"),
                               ("probe l=4,8", "one l"), ("train ood", "no domain"), ("eval l=5:1", "range"),
                               ("eval prompts=0", "prompts"), ("eval fast", "neither")] {
            XCTAssertThrowsError(try SweepMeasure(text), text) { XCTAssertTrue("\($0)".contains(needle), "\(text): \($0)") }
        }
    }

    func testGridGrammar() throws {
        XCTAssertEqual(try SweepAxis("m=32,64,256").values, ["32", "64", "256"])
        XCTAssertEqual(try SweepAxis("xi=0:0.1:0.05").values, ["0", "0.05", "0.1"])
        XCTAssertEqual(try SweepAxis("attendQuery=true,false").values, ["true", "false"])
        XCTAssertEqual(Sweeper.points([try SweepAxis("m=1,2"), try SweepAxis("xi=0.1,0.2,0.3")]).map(Sweeper.unit),
                       ["m=1,xi=0.1", "m=1,xi=0.2", "m=1,xi=0.3", "m=2,xi=0.1", "m=2,xi=0.2", "m=2,xi=0.3"])
        XCTAssertEqual(Sweeper.unit([]), "base")
        for (text, needle) in [("seed=1,2", "--seeds"), ("mm=1,2", "unknown config key 'mm'"), ("m=8,,16", "empty"),
                               ("m=8,8", "repeats"), ("m", "FIELD=V1"), ("lr=fast", "lr")] {
            XCTAssertThrowsError(try SweepAxis(text), text) { XCTAssertTrue("\($0)".contains(needle), "\(text): \($0)") }
        }
    }

    /// The tidy CSV has one row per grid point, seed, measure point and metric; means average the seeds.
    func testTidyCSVMeansFiguresAndSummary() throws {
        try skipUnlessOpenCL()
        let lines = try read(Self.sweep, "sweep.csv").split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "m,xi,seed,measure,domain,length,method,rate,layer,head,metric,value")
        // Per (point, seed): eval 2 l × 2 metrics; prune 3 rates × (1 magnitude + 2 random draws) × 2; probe 5; train 2.
        let perModel = 2 * 2 + 3 * 3 * 2 + 5 + 2
        XCTAssertEqual(lines.count - 1, 4 * 2 * perModel)
        let rows = lines.dropFirst().map(ReproduceTests.cells)
        XCTAssertTrue(rows.allSatisfy { $0.count == 12 }, "every row has every column")
        for r in rows where r[11 - 1] == "error" { XCTAssertTrue((0...1).contains(Double(r[11]) ?? -1), "\(r)") }
        // A seed's unpruned magnitude and random rows are the same model: equal errors.
        let unpruned = rows.filter { $0[3].hasPrefix("prune") && $0[7] == "0" && $0[10] == "error" && $0[0] == "16" && $0[1] == "0.1" && $0[2] == "1" }
        XCTAssertEqual(unpruned.count, 3)
        XCTAssertEqual(Set(unpruned.map { $0[11] }).count, 1)

        // means.csv: n = 2 seeds (4 for random pruning: 2 seeds × 2 draws), mean of the tidy values.
        let means = try read(Self.sweep, "means.csv").split(separator: "\n").dropFirst().map { ReproduceTests.cells(String($0)) }
        let evalRow = try XCTUnwrap(means.first { $0[0] == "8" && $0[1] == "0.01" && $0[2].hasPrefix("eval") && $0[4] == "8" && $0[9] == "error" })
        XCTAssertEqual(evalRow[10], "2")
        let perSeed = rows.filter { $0[0] == "8" && $0[1] == "0.01" && $0[3].hasPrefix("eval") && $0[5] == "8" && $0[10] == "error" }
            .map { Double($0[11])! }
        XCTAssertEqual(Double(evalRow[11])!, perSeed.reduce(0, +) / 2, accuracy: 1e-6)
        XCTAssertTrue(means.contains { $0[5] == "random" && $0[10] == "4" }, "random pruning averages seeds and draws")

        // One figure per measure, each a parseable SVG with its panels.
        for (k, panels) in [(1, 2), (2, 2), (3, 5), (4, 2)] {
            let data = try XCTUnwrap(FileManager.default.contents(atPath: Self.sweep + "/measure-\(k).svg"))
            let scan = ReproduceTests.SVGScan()
            let parser = XMLParser(data: data)
            parser.delegate = scan
            XCTAssertTrue(parser.parse(), "measure-\(k).svg parses")
            XCTAssertEqual(scan.classes.filter { $0 == "panel" }.count, panels, "measure-\(k).svg panels")
        }
        let summary = try read(Self.sweep, "summary.md")
        for needle in ["--grid m=8,16 --grid xi=0.01,0.1 --seeds 2", "## `prune magnitude,random rates=0:0.4:0.2 draws=2`",
                       "| m | xi | n | final_loss | final_train_error |", "4 grid point(s) × 2 seed(s)"] {
            XCTAssertTrue(summary.contains(needle), "summary.md lacks \(needle)")
        }
    }

    /// Two shards merge to the unsharded CSV and SVG bytes; one shard alone is refused at merge.
    func testShardsMergeToTheSameBytes() throws {
        try skipUnlessOpenCL()
        let a = CLI.tempDir("a"), b = CLI.tempDir("b"), merged = CLI.tempDir("merged")
        XCTAssertNil(try Sweeper.run(try Self.request(a, shard: (1, 2)), log: { _ in }))
        XCTAssertFalse(FileManager.default.fileExists(atPath: a + "/sweep.csv"), "a shard alone writes no results")
        XCTAssertThrowsError(try Sweeper.merge([a], outDir: CLI.tempDir("partial"), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("lacks seed"), "\($0)")
        }
        _ = try Sweeper.run(try Self.request(b, shard: (2, 2)), log: { _ in })
        try Sweeper.merge([a, b], outDir: merged, log: { _ in })
        for name in Self.files { XCTAssertEqual(try read(merged, name), try read(Self.sweep, name), name) }
        // A reproduction's folder is not a sweep's.
        XCTAssertThrowsError(try Sweeper.merge([ReproduceTests.sweep.dir], outDir: CLI.tempDir("mixed"), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("not from `icl sweep`"), "\($0)")
        }
    }

    /// Killed with SIGKILL after its first part, the rerun measures only the rest and ends with the same bytes.
    func testResumesAfterSIGKILL() throws {
        try skipUnlessOpenCL()
        let out = CLI.tempDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["sweep", "--out", out, "--device", "opencl:cpu"] + Self.args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let first = out + "/parts/m=8,xi=0.01/seed-1.json"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: first) && Date() < deadline && p.isRunning { usleep(10_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: first), "the first part was written before the kill")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/sweep.csv"), "the kill landed before the end")
        let r = try CLI.run(["sweep", "--out", out, "--device", "opencl:cpu"] + Self.args)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("m=8,xi=0.01 seed 1: already measured"), r.stderr)
        XCTAssertTrue(r.stdout.contains("sweep: \(out)/sweep.csv"), r.stdout)
        for name in Self.files { XCTAssertEqual(try read(out, name), try read(Self.sweep, name), name) }
    }

    /// The GPT-2-style model sweeps too: its pruning zeroes neurons, its probe reports each layer's heads, their
    /// mean and the best one, and the metrics it lacks are left out of the summary.
    func testGPT2Sweep() throws {
        let out = CLI.tempDir()
        let r = try CLI.run(["sweep", "--model", "gpt2", "--device", "cpu-reference", "--out", out, "--seeds", "1",
                             "--set", "width=8 layers=2 heads=2 lTrain=6 lTest=6 batch=8 steps=6 warmup=2",
                             "--grid", "adamLR=0.001,0.003", "--prompts", "40",
                             "--measure", "prune magnitude,random rates=0,0.25", "--measure", "probe id"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try read(out, "sweep.csv").split(separator: "\n").dropFirst().map { ReproduceTests.cells(String($0)) }
        // adamLR, seed, measure, domain, length, method, rate, layer, head, metric, value
        let prune = rows.filter { $0[2].hasPrefix("prune") }
        XCTAssertEqual(prune.count, 2 * 2 * 2 * 2, "2 points × 2 methods × 2 rates × 2 metrics")
        XCTAssertTrue(prune.allSatisfy { $0[4] == "6" }, "pruned at lTest = 6, below the default l = 8")
        let probe = rows.filter { $0[2].hasPrefix("probe") }
        XCTAssertEqual(probe.count, 2 * 2 * 4, "2 points × 2 layers × (mean, best, head 1, head 2)")
        XCTAssertEqual(Set(probe.map { $0[8] }), ["mean", "best", "1", "2"])
        XCTAssertTrue(probe.allSatisfy { $0[9] == "same_attention" })
        XCTAssertTrue(try read(out, "summary.md").contains("| adamLR | layer | head | n | same_attention |"))
    }

    func testBadArgumentsExitTwo() throws {
        let out = CLI.tempDir()
        for (args, needles) in [
            (["sweep"], ["at least one --measure"]),
            (["sweep", "--measure", "evaluate"], ["must start with eval"]),
            (["sweep", "--measure", "eval", "--grid", "seed=1,2"], ["--seeds"]),
            (["sweep", "--measure", "eval", "--grid", "m=8", "--grid", "m=16"], ["names a field twice"]),
            (["sweep", "--measure", "eval", "--measure", "eval"], ["given twice"]),
            (["sweep", "--measure", "eval", "--grid", "m=0,8"], ["grid point m=0"]),
            (["sweep", "--measure", "eval", "--shard", "3/2"], ["--shard"]),
            (["sweep", "--measure", "eval", "--seeds", "0"], ["--seeds"]),
            (["sweep", "--measure", "eval", "--seed", "3"], ["--seeds K"]),
            (["sweep", "--merge", "--grid", "m=8", out + "/x"], ["--grid has no effect"]),
            (["sweep", "--merge", out + "/nothing"], ["no parts"]),
            (["sweep", "extra", "--measure", "eval"], ["takes no argument 'extra'"]),
            (["sweep", "--model", "gpt2", "--set", "lTrain=6 lTest=6", "--measure", "eval l=10"], ["l ≤ lTrain = 6"]),
        ] as [([String], [String])] {
            assertCleanFailure(try CLI.run(args + ["--out", out]), status: 2, contains: needles)
        }
    }
}
