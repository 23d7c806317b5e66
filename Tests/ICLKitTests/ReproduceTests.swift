import Foundation
import XCTest
import ICLTestSupport
import ICLCore
import ICLKit
@testable import ICLExperiments
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `icl reproduce` at tiny size: every recipe writes its CSV columns and rows, its SVG parses with axes,
/// series and legend, summary.md has a verdict per claim, shards merge to the unsharded result, and bad
/// arguments exit 2.
final class ReproduceTests: XCTestCase {
    /// Every recipe's quick path, shrunk further so the whole sweep trains and measures in seconds.
    static let tiny: ReproduceSize = {
        var s = ReproduceSize.quick
        s.lengths = [1, 4, 20]
        s.baselineLengths = [6, 10]
        s.probeEvery = 20
        s.pruneRates = [0, 0.25]
        s.randomDraws = 1
        s.theoryAlphas = [0.8, 1.0]
        s.theoryMaxLength = 12
        s.lengthTarget = 0.2
        s.iterationsTarget = 0.3
        s.iterationsEvalEvery = 20
        s.gpt2Steps = 20
        s.gpt2Batch = 8
        s.gpt2ProbeEvery = 10
        s.gpt2Lengths = [1, 20]
        s.limitPrompts(200)
        return s
    }()

    static var base: Config {
        var c = Config()
        c.steps = 60
        c.batch = 32
        c.m = 16
        c.width = 8
        c.layers = 2
        c.warmup = 5
        c.adamLR = 3e-3
        return c
    }

    static func request(_ out: String, recipes: [Recipe] = Recipes.all, shard: (Int, Int)? = nil) -> ReproduceRequest {
        ReproduceRequest(recipes: recipes, seeds: 2, size: tiny, base: base,
                         factory: BackendFactory(choice: .opencl(.cpu)), outDir: out,
                         shard: shard.map { (index: $0.0, count: $0.1) })
    }

    /// One whole tiny sweep, shared by the tests that read its files.
    static let sweep: (dir: String, claims: [Claim]) = {
        let dir = CLI.tempDir("sweep")
        let claims = try! Reproducer.run(request(dir), log: { _ in })
        return (dir, claims)
    }()

    func csv(_ name: String) throws -> (header: [String], rows: [[String]]) {
        let text = try String(contentsOfFile: Self.sweep.dir + "/" + name + ".csv", encoding: .utf8)
        let lines = text.split(separator: "\n").map { Self.cells(String($0)) }
        return (lines[0], Array(lines.dropFirst()))
    }

    /// The cells of one CSV line ("quoted, cells" keep their commas).
    static func cells(_ line: String) -> [String] {
        var out: [String] = [], cell = "", quoted = false
        for ch in line {
            if ch == "\"" { quoted.toggle() } else if ch == "," && !quoted { out.append(cell); cell = "" } else { cell.append(ch) }
        }
        return out + [cell]
    }

    func testEveryRecipeWritesItsColumnsAndRows() throws {
        try skipUnlessOpenCL()
        let t = Self.tiny, probes = Self.base.steps / t.probeEvery + 1
        let expected: [(String, [String], Int)] = [
            ("E1", ["S1", "length", "n", "error_mean", "error_std", "hinge_loss_mean", "hinge_loss_std"], 5 * t.lengths.count),
            ("E2", ["alpha", "domain", "length", "n", "error_mean"], 3 * 2 * t.lengths.count),
            ("E3", ["alpha", "length", "method", "n", "error_mean", "error_std"], 2 * t.baselineLengths.count * 6),
            ("E4", ["method", "rate", "n", "error_mean", "error_std", "hinge_loss_mean"], 2 * t.pruneRates.count),
            ("E4_magnitudes", ["rank", "n", "magnitude_mean"], Self.base.m),
            ("E5", ["alpha", "rate", "n", "error_mean", "hinge_loss_mean"], 3 * t.pruneRates.count),
            ("E6", ["domain", "step", "n", "same_attention_mean", "query_norm_mean", "key_projection_mean"], 2 * probes),
            ("E7", ["step", "n", "label_angle_positive_mean", "label_angle_negative_mean", "aligned_fraction_mean"], probes),
            ("T1", ["alpha", "n", "inv_alpha_mean", "length_needed_mean"], t.theoryAlphas.count),
            ("T2", ["alpha", "n", "steps_needed_mean", "final_error_mean"], t.theoryAlphas.count),
            ("E1-gpt2", ["S1", "length", "n", "error_mean", "hinge_loss_mean"], 5 * t.gpt2Lengths.count),
            ("E2-gpt2", ["alpha", "domain", "length", "n", "error_mean"], 3 * 2 * t.gpt2Lengths.count),
            ("E8", ["domain", "layer", "head", "step", "n", "same_attention_mean", "same_attention_std"],
             2 * Self.base.layers * 2 * (t.gpt2Steps / t.gpt2ProbeEvery + 1)),
        ]
        for (name, columns, rows) in expected {
            let table = try csv(name)
            for c in columns { XCTAssertTrue(table.header.contains(c), "\(name).csv lacks column \(c): \(table.header)") }
            XCTAssertEqual(table.rows.count, rows, "\(name).csv rows")
            for r in table.rows { XCTAssertEqual(r.count, table.header.count, "\(name).csv: \(r)") }
            // Two seeds per point (random pruning: one draw per seed).
            let n = table.header.firstIndex(of: "n")!
            XCTAssertTrue(table.rows.allSatisfy { $0[n] == "2" }, "\(name).csv: every point averages both seeds")
        }
        // E8_heads: every head of every seed, one row each; E8's mean of heads is their mean and its best head one of them.
        let heads = try csv("E8_heads"), e8 = try csv("E8")
        let gpt2Probes = t.gpt2Steps / t.gpt2ProbeEvery + 1
        XCTAssertEqual(heads.rows.count, 2 * 2 * Self.base.layers * Self.base.heads * gpt2Probes)
        func column(_ table: (header: [String], rows: [[String]]), _ name: String) -> Int { table.header.firstIndex(of: name)! }
        func value(_ table: (header: [String], rows: [[String]]), _ match: [String: String], _ v: String) -> [Double] {
            table.rows.filter { r in match.allSatisfy { r[column(table, $0.key)] == $0.value } }.map { Double($0[column(table, v)]) ?? .nan }
        }
        let last = String(t.gpt2Steps)
        for seedless in [["domain": "id", "layer": "1", "step": last]] {
            let perHead = value(heads, seedless, "same_attention_mean")
            XCTAssertEqual(perHead.count, 2 * Self.base.heads)
            let mean = value(e8, seedless.merging(["head": "mean"]) { $1 }, "same_attention_mean")
            XCTAssertEqual(mean.first ?? .nan, perHead.reduce(0, +) / Double(perHead.count), accuracy: 1e-5)
            let best = value(e8, seedless.merging(["head": "best"]) { $1 }, "same_attention_mean")
            XCTAssertGreaterThanOrEqual(best.first ?? .nan, (mean.first ?? .nan) - 1e-6, "the best head is at least the mean")
        }
        // T1/T2 keep each seed's value for the bootstrap of the slope.
        for name in ["T1_seeds", "T2_seeds"] {
            let table = try csv(name)
            XCTAssertEqual(table.rows.count, 2 * t.theoryAlphas.count, name)
            XCTAssertEqual(Set(table.rows.map { $0[column(table, "seed")] }), ["1", "2"], name)
        }
        // E3's paired differences: baseline − ICL on the same prompts, 0 for ICL itself.
        let e3d = try csv("E3")
        for r in e3d.rows {
            let d = Double(r[column(e3d, "minus_icl_mean")]) ?? .nan
            let match = ["alpha": r[column(e3d, "alpha")], "length": r[column(e3d, "length")], "method": BaselinesRecipe.icl]
            let icl = value(e3d, match, "error_mean").first ?? .nan
            XCTAssertEqual(d, (Double(r[column(e3d, "error_mean")]) ?? .nan) - icl, accuracy: 1e-5, "\(r)")
        }
        // Errors are probabilities; the E3 methods are ICL and the five baselines.
        let e1 = try csv("E1"), err = e1.header.firstIndex(of: "error_mean")!
        XCTAssertTrue(e1.rows.allSatisfy { (Double($0[err]) ?? -1) >= 0 && (Double($0[err]) ?? 2) <= 1 })
        let e3 = try csv("E3"), method = e3.header.firstIndex(of: "method")!
        XCTAssertEqual(Set(e3.rows.map { $0[method] }).count, 6)
    }

    /// Collects the `class` attributes and texts of an SVG document.
    final class SVGScan: NSObject, XMLParserDelegate {
        var classes: [String] = []
        var texts: [String] = []
        var current = ""
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if let c = attributes["class"] { classes.append(c) }
            current = ""
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" { texts.append(current) }
        }
    }

    func testEverySVGParsesWithAxesSeriesAndLegend() throws {
        try skipUnlessOpenCL()
        for recipe in Recipes.all {
            let path = Self.sweep.dir + "/" + recipe.name + ".svg"
            let data = try XCTUnwrap(FileManager.default.contents(atPath: path), path)
            let scan = SVGScan()
            let parser = XMLParser(data: data)
            parser.delegate = scan
            XCTAssertTrue(parser.parse(), "\(path) does not parse: \(String(describing: parser.parserError))")
            XCTAssertTrue(scan.classes.contains("axis x") && scan.classes.contains("axis y"), "\(recipe.name) axes")
            XCTAssertGreaterThan(scan.classes.filter { $0 == "series" }.count, 0, "\(recipe.name) series")
            XCTAssertTrue(scan.classes.contains("legend"), "\(recipe.name) legend")
            XCTAssertTrue(scan.texts.contains { $0.contains(recipe.name) }, "\(recipe.name) title")
        }
        // E1 draws one series per S1 with a legend entry each, and bands over the two seeds.
        let scan = SVGScan()
        let parser = XMLParser(data: FileManager.default.contents(atPath: Self.sweep.dir + "/E1.svg")!)
        parser.delegate = scan
        XCTAssertTrue(parser.parse())
        XCTAssertEqual(scan.classes.filter { $0 == "series" }.count, 5)
        for s1 in ["0.5", "0.7", "0.9", "1.1", "1.3"] { XCTAssertTrue(scan.texts.contains("S1 = " + s1)) }
        XCTAssertTrue(scan.classes.contains("band"))
    }

    func testSummaryHasAVerdictPerClaim() throws {
        try skipUnlessOpenCL()
        let summary = try String(contentsOfFile: Self.sweep.dir + "/summary.md", encoding: .utf8)
        let rows = summary.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.hasSuffix("** |") }
        XCTAssertEqual(rows.count, Self.sweep.claims.count)
        XCTAssertGreaterThanOrEqual(rows.count, Recipes.all.count)
        for r in rows { XCTAssertTrue(r.contains("**held**") || r.contains("**missed**") || r.contains("**partly**"), String(r)) }
        for recipe in Recipes.all { XCTAssertTrue(summary.contains("`\(recipe.name).svg`")) }
    }

    func testShardsMergeToTheUnshardedResult() throws {
        try skipUnlessOpenCL()
        let recipes = try Recipes.named("E1") + Recipes.named("E6")
        let whole = CLI.tempDir("whole"), a = CLI.tempDir("shardA"), b = CLI.tempDir("shardB"), merged = CLI.tempDir("merged")
        try Reproducer.run(Self.request(whole, recipes: recipes), log: { _ in })
        XCTAssertTrue(try Reproducer.run(Self.request(a, recipes: recipes, shard: (1, 2)), log: { _ in }).isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: a + "/E1.csv"), "a shard alone writes no aggregate")
        // Merging one shard alone is refused: its seeds are incomplete.
        XCTAssertThrowsError(try Reproducer.merge([a], outDir: CLI.tempDir("partial"), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("lacks seed"), "\($0)")
        }
        try Reproducer.run(Self.request(b, recipes: recipes, shard: (2, 2)), log: { _ in })
        try Reproducer.merge([a, b], outDir: merged, log: { _ in })
        for name in ["E1.csv", "E6.csv", "E1.svg"] {
            XCTAssertEqual(try String(contentsOfFile: whole + "/" + name, encoding: .utf8),
                           try String(contentsOfFile: merged + "/" + name, encoding: .utf8), name)
        }
    }

    func testMergeRefusesShardsOfDifferentSweeps() throws {
        try skipUnlessOpenCL()
        let recipes = try Recipes.named("E6")
        let a = CLI.tempDir("sweepA"), b = CLI.tempDir("sweepB")
        try Reproducer.run(Self.request(a, recipes: recipes, shard: (1, 2)), log: { _ in })
        var other = Self.request(b, recipes: recipes, shard: (2, 2))
        other.base.steps = 40
        try Reproducer.run(other, log: { _ in })
        XCTAssertThrowsError(try Reproducer.merge([a, b], outDir: CLI.tempDir("mixed"), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("different sweeps"), "\($0)")
        }
    }

    func testShardsSplitTheJobsWithoutOverlap() throws {
        let jobs = Reproducer.jobs(Recipes.all, seeds: 3)
        for n in [1, 2, 4, 27, 40] {
            let slices = (1...n).map { Reproducer.shardJobs(jobs, index: $0, count: n) }
            XCTAssertEqual(slices.reduce(0) { $0 + $1.count }, jobs.count)
            let names = slices.flatMap { $0.map { "\($0.recipe.name)/\($0.seed)" } }
            XCTAssertEqual(Set(names).count, jobs.count, "n = \(n)")
        }
    }

    func testBadArgumentsExitTwo() throws {
        let out = CLI.tempDir()
        for (args, needles) in [
            (["reproduce", "E9"], ["unknown recipe 'E9'", "E1"]),
            (["reproduce"], ["needs one recipe"]),
            (["reproduce", "E1", "--shard", "3/2"], ["--shard"]),
            (["reproduce", "E1", "--shard", "two"], ["--shard"]),
            (["reproduce", "E1", "--seeds", "0"], ["--seeds"]),
            (["reproduce", "E1", "--set", "lr=fast"], ["lr"]),
            (["reproduce", "--merge", out + "/nothing"], ["no parts"]),
        ] as [([String], [String])] {
            assertCleanFailure(try CLI.run(args + ["--out", out]), status: 2, contains: needles)
        }
    }

    func testTheCommandRunsOneRecipeEndToEnd() throws {
        try skipUnlessOpenCL()
        let out = CLI.tempDir()
        let r = try CLI.run(["reproduce", "E6", "--quick", "--seeds", "2", "--set", "steps=40 batch=32 m=16",
                             "--prompts", "100", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("E6 [held]") || r.stdout.contains("E6 [missed]"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/E6.svg"))
        // Rerunning reuses the measured parts instead of measuring again.
        let again = try CLI.run(["reproduce", "E6", "--quick", "--seeds", "2", "--set", "steps=40 batch=32 m=16",
                                 "--prompts", "100", "--out", out])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("already measured"), again.stderr)
    }

    func testLogLogFitRecoversAPowerLaw() {
        let x = [0.5, 0.6, 0.8, 1.0], y = x.map { 7 * pow($0, -2.0 / 3) }
        let fit = logLogFit(x, y)
        XCTAssertEqual(fit.slope, -2.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(fit.points, 4)
        XCTAssertTrue(logLogFit([1], [1]).slope.isNaN)
    }
}
