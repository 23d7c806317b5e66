import Foundation
import XCTest
import ICLTestSupport
import ICLCore

/// The options every model command shares (--device, --variant, --pipeline, --set, --config, --seed, --json): each
/// command either honours one (the run shows its effect) or refuses it with exit 2 and one sentence naming it.
/// Nothing is accepted and ignored.
final class CommonOptionsTests: XCTestCase {
    static let common = ["device", "variant", "pipeline", "set", "config", "seed", "json"]

    /// The common options (and --model) each command refuses; it honours the rest of `common`.
    static let refused: [String: [String]] = [
        "devices": ["device", "variant", "pipeline", "set", "config", "seed", "model"],
        "train": [],
        "eval": ["seed", "model"],
        "probe": ["device", "variant", "pipeline", "seed", "model"],
        "prune": ["device", "variant", "pipeline", "set", "config", "model"],
        "check": ["pipeline", "set", "config", "seed"],
        "bench": [],
        "reproduce": ["seed", "model"],
    ]

    /// An option with a valid value, so that only a refusal can stop the command.
    static func option(_ name: String, configFile: String) -> [String] {
        switch name {
        case "device": return ["--device", "opencl"]
        case "variant": return ["--variant", "cpu"]
        case "pipeline": return ["--pipeline", "pattern"]
        case "set": return ["--set", "evalPrompts=50"]
        case "config": return ["--config", configFile]
        case "seed": return ["--seed", "7"]
        case "model": return ["--model", "onelayer"]
        default: return ["--" + name]
        }
    }

    static func records(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        try r.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any],
                          "every stdout line is a JSON object: \($0)", file: file, line: line)
        }
    }

    func writeJSON(_ object: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    /// Every refusal happens while parsing, before a checkpoint is read or a device opened, and names the option.
    func testRefusedOptionsExitTwoWithASentenceNamingThem() throws {
        let dir = CLI.tempDir()
        let configFile = dir + "/config.json"
        try writeJSON(["evalPrompts": 50], to: configFile)
        XCTAssertEqual(Set(Self.refused.keys), ["devices", "train", "eval", "probe", "prune", "check", "bench", "reproduce"])
        for (command, names) in Self.refused {
            let positional = command == "reproduce" ? ["E6"] : []
            for name in names {
                let r = try CLI.run([command] + positional + Self.option(name, configFile: configFile))
                assertCleanFailure(r, status: 2, contains: ["`icl \(command)` cannot use --\(name): "])
                XCTAssertTrue(r.stdout.isEmpty, "\(command) --\(name) ran nothing: \(r.stdout)")
            }
        }
        // The CPU reference has no kernel variant or pipeline: asking for one is refused, not ignored.
        assertCleanFailure(try CLI.run(["train", "--device", "cpu-reference", "--variant", "gpu", "--out", dir + "/t"]),
                           status: 2, contains: ["--variant gpu", "--device cpu-reference"])
        assertCleanFailure(try CLI.run(["eval", "--checkpoint", dir + "/none", "--device", "cpu-reference", "--pipeline", "fused"]),
                           status: 2, contains: ["--pipeline fused", "--device cpu-reference"])
        // `icl check` compares an OpenCL device with the CPU reference, so that device value is refused.
        assertCleanFailure(try CLI.run(["check", "--device", "cpu-reference"]), status: 2, contains: ["--device opencl"])
        // A merge runs nothing, so the options of a run are refused there.
        assertCleanFailure(try CLI.run(["reproduce", "--merge", dir, "--device", "opencl"]), status: 2,
                           contains: ["--merge", "--device has no effect"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/t"), "nothing was trained")
    }

    /// Every command that takes a common option shows its effect. Small sizes throughout (m = 32, B = 16, 3 steps,
    /// 50 prompts) so the whole test runs in seconds once the kernels are compiled. `icl check` honours --device,
    /// --variant and --json in CLITests.testCheckDumpWritesEveryTensor (a full check run).
    func testEveryCommandHonoursTheCommonOptionsItTakes() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        let configFile = dir + "/config.json"
        try writeJSON(["evalPrompts": 50, "evalEvery": 0, "checkpointEvery": 0, "m": 32], to: configFile)
        let device = ["--device", "opencl", "--variant", "cpu", "--pipeline", "pattern"]
        func ranOnTheChosenPipeline(_ line: Any?, file: StaticString = #filePath, line number: UInt = #line) {
            let text = line as? String ?? ""
            XCTAssertTrue(text.hasPrefix("opencl:") && text.contains("cpu kernels") && text.contains("pattern pipeline"),
                          "ran where --device, --variant and --pipeline said: \(text)", file: file, line: number)
        }

        // train: all seven.
        let run = dir + "/run", ckpt = run + "/checkpoint.safetensors"
        let t = try CLI.run(["train", "--out", run, "--config", configFile, "--set", "steps=3 batch=16", "--seed", "7",
                             "--json", "--quiet"] + device)
        XCTAssertEqual(t.status, 0, t.stderr)
        let trained = try Self.records(t)
        ranOnTheChosenPipeline(trained.first?["device"])
        XCTAssertEqual(trained.first?["checkpoint"] as? String, ckpt)
        XCTAssertEqual(trained.first?["metrics"] as? String, run + "/metrics.jsonl")
        XCTAssertTrue(trained.dropFirst().allSatisfy { $0["prompts"] as? Int == 50 }, "evalPrompts from --config")
        let config = try Checkpoint.read(path: ckpt).config
        XCTAssertEqual([config.seed, UInt64(config.steps), UInt64(config.batch), UInt64(config.m), UInt64(config.evalPrompts)],
                       [7, 3, 16, 32, 50], "--seed, --set and --config reach the run")

        // eval: all but --seed; --set and --config change evaluation fields only.
        let evalConfig = dir + "/eval.json"
        try writeJSON(["S1": 1.5], to: evalConfig)
        let e = try CLI.run(["eval", "--checkpoint", ckpt, "--ood", "--config", evalConfig, "--set", "evalPrompts=40",
                             "--json"] + device)
        XCTAssertEqual(e.status, 0, e.stderr)
        let evaluated = try XCTUnwrap(try Self.records(e).first)
        ranOnTheChosenPipeline(evaluated["device"])
        XCTAssertEqual(evaluated["prompts"] as? Int, 40)
        XCTAssertEqual(evaluated["S1"] as? Double, 1.5)
        XCTAssertEqual(evaluated["domain"] as? String, "ood")
        assertCleanFailure(try CLI.run(["eval", "--checkpoint", ckpt, "--set", "lr=0.5"]), status: 2,
                           contains: ["--set", "'lr'", "from the checkpoint"])
        // The run's own config.json matches the checkpoint's, so it is accepted.
        XCTAssertEqual(try CLI.run(["eval", "--checkpoint", ckpt, "--config", run + "/config.json", "--prompts", "20"]).status, 0)

        // probe: --set, --config and --json (it runs on the host).
        let probeConfig = dir + "/probe.json"
        try writeJSON(["alphaTest": 1], to: probeConfig)
        let p = try CLI.run(["probe", "--checkpoint", ckpt, "--config", probeConfig, "--set", "lTest=5", "--prompts", "20",
                             "--json"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let probed = try XCTUnwrap(try Self.records(p).first)
        XCTAssertEqual(probed["length"] as? Int, 5)
        XCTAssertEqual(probed["alpha"] as? Double, 1)
        XCTAssertEqual(probed["prompts"] as? Int, 20)

        // prune: --seed and --json; the seed picks the random draw.
        var kept: [[Int]] = []
        for seed in ["3", "4"] {
            let out = dir + "/pruned-\(seed).safetensors"
            let r = try CLI.run(["prune", "--checkpoint", ckpt, "--method", "random", "--rate", "0.25", "--seed", seed,
                                 "--out", out, "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try Self.records(r).first?["checkpoint"] as? String, out)
            kept.append(try XCTUnwrap(Checkpoint.read(path: out).keptNeurons))
        }
        XCTAssertEqual(kept.map(\.count), [24, 24])
        XCTAssertNotEqual(kept[0], kept[1], "--seed changes the random draw")

        // bench: all seven.
        let b = try CLI.run(["bench", "--quick", "--batch", "16", "--kernel-batch", "0", "--prune-rates", "0", "--no-reference",
                             "--config", configFile, "--set", "batch=16", "--seed", "7", "--json"] + device)
        XCTAssertEqual(b.status, 0, b.stderr)
        let bench = try Self.records(b)
        let benchDevice = try XCTUnwrap(bench.first { $0["what"] as? String == "device" })
        XCTAssertEqual(benchDevice["variant"] as? String, "cpu")
        XCTAssertEqual(benchDevice["m"] as? Int, 32, "--config reaches the benchmark")
        XCTAssertEqual(bench.filter { $0["what"] as? String == "pipeline" }.compactMap { $0["pipeline"] as? String }, ["pattern"])

        // reproduce: all but --seed (each of --seeds K replaces it).
        let out = dir + "/reproduction"
        let r = try CLI.run(["reproduce", "E6", "--quick", "--seeds", "1", "--prompts", "50", "--out", out, "--config", configFile,
                             "--set", "steps=3 batch=16", "--json"] + device)
        XCTAssertEqual(r.status, 0, r.stderr)
        let reproduced = try Self.records(r)
        XCTAssertTrue(reproduced.dropLast().allSatisfy { $0["experiment"] as? String == "E6" })
        let files = try XCTUnwrap(reproduced.last)
        XCTAssertEqual(files["summary"] as? String, out + "/summary.md")
        let summary = try String(contentsOfFile: out + "/summary.md", encoding: .utf8)
        XCTAssertTrue(r.stderr.contains("cpu kernels, pattern pipeline"), "the trained model's device line: \(r.stderr)")
        XCTAssertTrue(summary.contains(#""m":32"#) && summary.contains(#""steps":3"#), summary)

        // devices: --json.
        let d = try CLI.run(["devices", "--json"])
        XCTAssertEqual(d.status, 0, d.stderr)
        XCTAssertEqual(try Self.records(d).last?["device"] as? String, "cpu-reference")
    }

    /// Without --json each command ends by saying where its files went.
    func testCommandsEndBySayingWhereTheirFilesWent() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        let run = dir + "/run"
        let t = try CLI.run(["train", "--out", run, "--set", "steps=3 batch=16 m=32 evalPrompts=50 evalEvery=0", "--quiet",
                             "--device", "opencl", "--variant", "cpu", "--pipeline", "pattern"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.hasSuffix("checkpoint: \(run)/checkpoint.safetensors   metrics: \(run)/metrics.jsonl   config: \(run)/config.json\n"), t.stdout)
        let p = try CLI.run(["prune", "--checkpoint", run + "/checkpoint.safetensors", "--rate", "0.5", "--out", dir + "/p.safetensors"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stdout.hasSuffix("pruned checkpoint: \(dir)/p.safetensors\n"), p.stdout)
        let out = dir + "/reproduction"
        let r = try CLI.run(["reproduce", "E6", "--quick", "--seeds", "1", "--prompts", "50", "--out", out,
                             "--set", "steps=3 batch=16 m=32", "--device", "opencl", "--variant", "cpu", "--pipeline", "pattern"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("summary: \(out)/summary.md   CSV and SVG files: \(out)/\n"), r.stdout)
    }
}
