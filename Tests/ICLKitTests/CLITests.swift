import Foundation
import XCTest
import ICLTestSupport
import ICLCore

/// The command-line contract: outputs, exit codes and one-sentence errors for every failure path.
final class CLITests: XCTestCase {
    /// A small, fast configuration for end-to-end runs.
    let small = ["--set", "steps=30", "--set", "batch=64", "--set", "evalPrompts=500", "--set", "evalEvery=0",
                 "--set", "checkpointEvery=10", "--quiet"]

    func testTrainThenEvalJSON() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        let t = try CLI.run(["train", "--out", dir] + small)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(t.stdout.contains("unseen in-domain"), t.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/checkpoint.safetensors"))
        let lines = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, 3)
        for l in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(l.utf8))) }
        // Every loss and evaluation line carries the seconds so far, in steps (train_s) and in all (wall_s),
        // never decreasing: the time to a target error is read off the file.
        let records = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["loss"] != nil || $0["eval"] != nil }
        XCTAssertGreaterThanOrEqual(records.count, 3)
        let train = records.compactMap { $0["train_s"] as? Double }, wall = records.compactMap { $0["wall_s"] as? Double }
        XCTAssertEqual(train.count, records.count)
        XCTAssertEqual(wall.count, records.count)
        XCTAssertEqual(train, train.sorted())
        XCTAssertEqual(wall, wall.sorted())
        XCTAssertTrue(zip(train, wall).allSatisfy { $0 <= $1 && $0 > 0 }, "\(train) \(wall)")
        let e = try CLI.run(["eval", "--checkpoint", dir + "/checkpoint.safetensors", "--ood", "--length", "8",
                             "--prompts", "300", "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        XCTAssertNotNil(obj["error"] as? Double)
        XCTAssertEqual(obj["length"] as? Int, 8)
        XCTAssertEqual(obj["prompts"] as? Int, 300)
        XCTAssertEqual(obj["domain"] as? String, "ood")
    }

    func testSameOutFolderWithoutResumeIsRefused() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        XCTAssertEqual(try CLI.run(["train", "--out", dir] + small).status, 0)
        assertCleanFailure(try CLI.run(["train", "--out", dir] + small), status: 2, contains: ["--resume"])
    }

    func testResumeWithoutCheckpointIsRefused() throws {
        assertCleanFailure(try CLI.run(["train", "--resume", "--out", CLI.tempDir()] + small), status: 2,
                           contains: ["checkpoint"])
    }

    func testBadConfigValuesExitTwoNamingTheField() throws {
        try skipUnlessOpenCL()   // the local-memory refusals come once the device is chosen
        let cases: [([String], [String])] = [
            (["--set", "M1=1"], ["M1", "1"]),
            (["--set", "alpha=1.5"], ["alpha", "1.5", "[0, 1]"]),
            (["--set", "alphaTest=-0.1"], ["alphaTest"]),
            (["--set", "lTrain=0"], ["lTrain"]),
            (["--set", "m=0"], ["m"]),
            (["--set", "dX=20"], ["dX", "M1 + M2"]),
            (["--set", "lr=0"], ["lr"]),
            (["--set", "lr=-1"], ["lr"]),
            (["--set", "batch=0"], ["batch"]),
            (["--set", "nosuch=3"], ["nosuch", "unknown"]),
            (["--set", "lr=fast"], ["lr", "fast"]),
            (["--set", "lr"], ["key=value"]),
            (["--set", "lr=nan"], ["lr"]),
            (["--bogus"], ["--bogus"]),
            (["--device", "tpu"], ["tpu"]),
            (["--pipeline", "bogus"], ["bogus", "pattern"]),
            (["--variant", "fpga"], ["fpga"]),
            (["--pipeline", "fused", "--variant", "cpu", "--set", "m=100000"], ["local memory", "bytes", "--pipeline unfused"]),
            (["--pipeline", "fused", "--variant", "gpu", "--set", "lTrain=4096 dX=100"], ["local memory", "4097 columns", "--pipeline unfused"]),
            (["--pipeline", "gpt2"], ["gpt2 pipeline", "--pipeline auto"]),
            (["--pipeline", "pattern", "--set", "M2=60 dX=66"], ["at most 64", "--pipeline fused"]),
        ]
        for (args, needles) in cases {
            assertCleanFailure(try CLI.run(["train", "--out", CLI.tempDir()] + args), status: 2, contains: needles)
        }
    }

    func testConfigFileErrors() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        let bad = dir + "/bad.json"
        try "{\"lr\": 0.5,".write(toFile: bad, atomically: true, encoding: .utf8)
        assertCleanFailure(try CLI.run(["train", "--config", bad, "--out", dir + "/o"]), status: 2, contains: ["JSON"])
        let unknown = dir + "/unknown.json"
        try "{\"learning_rate\": 0.5}".write(toFile: unknown, atomically: true, encoding: .utf8)
        assertCleanFailure(try CLI.run(["train", "--config", unknown, "--out", dir + "/o"]), status: 2,
                           contains: ["learning_rate"])
        assertCleanFailure(try CLI.run(["train", "--config", dir + "/missing.json", "--out", dir + "/o"]), status: 2,
                           contains: ["missing.json"])
        let good = dir + "/good.json"
        try "{\"steps\": 3, \"batch\": 16, \"evalPrompts\": 100, \"attendQuery\": false}".write(toFile: good, atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--config", good, "--out", dir + "/o", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testBenchRefusesBadArgumentsBeforeMeasuring() throws {
        try skipUnlessOpenCL()   // `icl bench` lists the OpenCL devices before it reads these arguments
        for (args, needle) in [(["--pipelines", "warp"], "warp"), (["--prune-rates", "1.5"], "1.5"),
                               (["--batch", "0"], "--batch"), (["--device", "cpu-reference"], "--device opencl")] {
            assertCleanFailure(try CLI.run(["bench"] + args), status: 2, contains: [needle])
        }
    }

    /// `icl bench --json`: one object per line; end-to-end rows carry what, B, l, m, d and prompts_per_s, and
    /// their GFLOP/s and % of the measured peak follow from the rate and the documented FLOP count.
    func testBenchJSONRowsCarryTheContractFields() throws {
        try skipUnlessOpenCL()
        let r = try CLI.run(["bench", "--json", "--quick", "--batch", "64", "--kernel-batch", "0", "--no-reference",
                             "--prune-rates", "0", "--pipelines", "pattern"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try r.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
        let ceiling = try XCTUnwrap(rows.first { $0["what"] as? String == "ceiling" })
        let peak = try XCTUnwrap(ceiling["peak_gflops"] as? Double)
        XCTAssertGreaterThan(peak, 0)
        // Launch latency of the empty kernel, in µs: measured (no threshold), from the host clock and back to back.
        let latency = try XCTUnwrap(ceiling["launch_latency_us"] as? Double)
        for key in ["launch_latency_us", "launch_issue_us"] {
            let us = try XCTUnwrap(ceiling[key] as? Double, key)
            XCTAssertTrue(us.isFinite && us > 0, "\(key): \(us)")
        }
        let endToEnd = rows.filter { ["train", "infer"].contains($0["what"] as? String) }
        XCTAssertEqual(endToEnd.map { $0["what"] as? String }, ["train", "infer"])
        for row in endToEnd {
            XCTAssertEqual(row["B"] as? Int, 64)
            XCTAssertEqual(row["l"] as? Int, 20)
            XCTAssertEqual(row["m"] as? Int, 64)
            XCTAssertEqual(row["d"] as? Int, 40)
            let rate = try XCTUnwrap(row["prompts_per_s"] as? Double)
            let gflops = try XCTUnwrap(row["gflops"] as? Double)
            XCTAssertGreaterThan(rate, 0)
            // FLOPs per prompt of the restructured math at d = 40, l = 20, m = 64 (Bench.trainFlopsPerPrompt).
            let perPrompt = row["what"] as? String == "train" ? 28160.0 : 11520.0
            XCTAssertEqual(gflops * 1e9 / rate, perPrompt, accuracy: 1e-6 * perPrompt)
            XCTAssertEqual(try XCTUnwrap(row["pct_peak_flops"] as? Double), 100 * gflops / peak, accuracy: 1e-9 * peak)
            // A training row counts its launches; its latency floor is launches × latency over the step's time.
            if row["what"] as? String == "train" {
                let launches = try XCTUnwrap(row["launches_per_step"] as? Double)
                XCTAssertGreaterThanOrEqual(launches, 1)
                let floor = try XCTUnwrap(row["latency_floor"] as? Double)
                XCTAssertEqual(floor, launches * latency * 1e-6 / (64 / rate), accuracy: 1e-9 * max(floor, 1))
                let backToBack = try XCTUnwrap(row["latency_floor_back_to_back"] as? Double)
                let issue = try XCTUnwrap(ceiling["launch_issue_us"] as? Double)
                XCTAssertEqual(backToBack, launches * issue * 1e-6 / (64 / rate), accuracy: 1e-9 * max(backToBack, 1))
            } else {
                XCTAssertNil(row["launches_per_step"])
                XCTAssertNil(row["latency_floor"])
                XCTAssertNil(row["latency_floor_back_to_back"])
            }
        }
    }

    /// `--help` on a command prints its options and runs nothing: `icl train --help` must not train.
    func testHelpOnACommandPrintsItsOptionsAndRunsNothing() throws {
        let dir = CLI.tempDir()
        for command in ["train", "eval", "check", "bench", "prune", "probe", "reproduce", "devices"] {
            let r = try CLI.run([command, "--help", "--out", dir + "/run"])
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("usage: icl \(command) [options]"), "\(command): \(r.stdout)")
            XCTAssertTrue(r.stderr.isEmpty, "\(command): \(r.stderr)")
        }
        XCTAssertTrue(try CLI.run(["train", "-h"]).stdout.contains("--steps N"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run"), "nothing was trained or written")
    }

    func testUnknownCommand() throws {
        assertCleanFailure(try CLI.run(["fly"]), status: 2, contains: ["fly", "icl help"])
    }

    func testCorruptCheckpointIsRefusedAndNotOverwritten() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        XCTAssertEqual(try CLI.run(["train", "--out", dir] + small).status, 0)
        let path = dir + "/checkpoint.safetensors"
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = full.prefix(full.count / 2)
        try truncated.write(to: URL(fileURLWithPath: path))
        assertCleanFailure(try CLI.run(["eval", "--checkpoint", path]), status: 2, contains: [path])
        assertCleanFailure(try CLI.run(["train", "--resume", "--out", dir] + small), status: 2, contains: [path])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), truncated, "nothing overwritten")
        var garbage = full
        garbage[20] = 0x7B
        garbage[21] = 0x7B
        try garbage.write(to: URL(fileURLWithPath: path))
        assertCleanFailure(try CLI.run(["eval", "--checkpoint", path]), status: 2, contains: [path])
    }

    func testNoOpenCLPlatformNamesPackagesAndFallback() throws {
        let empty = CLI.tempDir()
        let r = try CLI.run(["train", "--out", CLI.tempDir()] + small, env: ["OCL_ICD_VENDORS": empty])
        assertCleanFailure(r, status: 1, contains: ["pocl-opencl-icd", "--device cpu-reference"])
        let d = try CLI.run(["devices"], env: ["OCL_ICD_VENDORS": empty])
        assertCleanFailure(d, status: 1, contains: ["pocl-opencl-icd"])
    }

    func testCPUReferenceDeviceTrains() throws {
        let r = try CLI.run(["train", "--device", "cpu-reference", "--out", CLI.tempDir(), "--set", "steps=3",
                             "--set", "batch=8", "--set", "evalPrompts=50", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("cpu-reference"), r.stdout)
    }

    func testKernelBuildFailureShowsBuildLog() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernels")
        for name in try FileManager.default.contentsOfDirectory(atPath: kernels.path) {
            try FileManager.default.copyItem(atPath: kernels.path + "/" + name, toPath: dir + "/" + name)
        }
        // common.cl starts every program, so the default pipeline cannot avoid it.
        try "__kernel void broken( { this is not C }\n".write(toFile: dir + "/common.cl", atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--out", CLI.tempDir()] + small, env: ["ICL_KERNEL_DIR": dir, "ICL_CACHE_DIR": "off"])
        assertCleanFailure(r, status: 1, contains: ["clBuildProgram", "CL_BUILD_PROGRAM_FAILURE", "error"])
    }

    func testAllocationFailureNamesSizeAndLimit() throws {
        try skipUnlessOpenCL()
        // The unfused pipeline materialises the prompts ([B, l + 1, d] floats, 514 GB here); the pattern-space
        // pipeline never does and would fit, so it is not the one asked for.
        let r = try CLI.run(["train", "--out", CLI.tempDir(), "--pipeline", "unfused", "--set", "batch=16000000",
                             "--set", "lTrain=200", "--quiet"])
        assertCleanFailure(r, status: 1, contains: ["bytes", "allows at most", "smaller batch"])
    }

    func testDivergenceStopsAndKeepsLastGoodCheckpoint() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        let r = try CLI.run(["train", "--out", dir, "--set", "lr=1e30", "--set", "xi=1", "--set", "batch=32",
                             "--set", "steps=50", "--set", "checkpointEvery=1", "--quiet"])
        assertCleanFailure(r, status: 1, contains: ["diverged", "at step", "last good checkpoint"])
        let ckpt = try Checkpoint.read(path: dir + "/checkpoint.safetensors")
        XCTAssertTrue(ckpt.weights.packed.allSatisfy(\.isFinite))
        XCTAssertTrue(r.stderr.contains("(step \(ckpt.step))"), r.stderr)
    }

    func testCheckDumpWritesEveryTensor() throws {
        try skipUnlessOpenCL()
        let path = CLI.tempDir() + "/dump.safetensors"
        // --device, --variant and --json are honoured here (CommonOptionsTests refuses the rest quickly): every line is
        // a JSON record, and the last says where the dump went.
        let r = try CLI.run(["check", "--device", "opencl", "--variant", "cpu", "--dump", path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        let records = try r.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0))
        }
        XCTAssertGreaterThan(records.count, 100)
        XCTAssertEqual(records.last?["dump"] as? String, path)
        let checked = records.dropLast()
        XCTAssertTrue(checked.allSatisfy { $0["passed"] as? Bool == true && $0["variant"] as? String == "cpu" })
        let f = try SafeTensorsFile.read(path: path)
        let d = 40, m = 64, B = 64
        let expected: [String: [Int]] = [
            "prompts": [B, 21, d], "labels": [B], "W_Q": [d, d], "W_K": [d, d], "W_V": [d, d], "W_O": [m, d],
            "a": [m], "F": [B], "loss": [1], "grad.W_Q": [d, d], "grad.W_K": [d, d], "grad.W_V": [d, d],
            "grad.W_O": [m, d],
        ]
        XCTAssertEqual(Set(f.tensors.keys), Set(expected.keys))
        for (k, s) in expected { XCTAssertEqual(f.tensors[k]?.shape, s, k) }
        XCTAssertNotNil(f.metadata["config"])
        // The dump's outputs agree with the CPU reference recomputed from the dumped inputs.
        let w = ModelWeights<Double>(d: d, m: m, WQ: f.tensors["W_Q"]!.data.map(Double.init),
                                     WK: f.tensors["W_K"]!.data.map(Double.init), WV: f.tensors["W_V"]!.data.map(Double.init),
                                     WO: f.tensors["W_O"]!.data.map(Double.init), a: f.tensors["a"]!.data.map(Double.init))
        let t = ReferenceModel.trace(w, prompts: f.tensors["prompts"]!.data.map(Double.init),
                                     labels: f.tensors["labels"]!.data.map(Double.init), batch: B, length: 20,
                                     attendQuery: false)
        XCTAssertEqual(Double(f.tensors["loss"]!.data[0]), t.hinge.loss, accuracy: 1e-4 * t.hinge.loss)
        let gWO = f.tensors["grad.W_O"]!.data, scale = t.gradients.WO.map(abs).max()!
        for i in 0..<gWO.count { XCTAssertEqual(Double(gWO[i]), t.gradients.WO[i], accuracy: 1e-4 * scale) }
    }
}
