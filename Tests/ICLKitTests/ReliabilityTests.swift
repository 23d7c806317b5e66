import Foundation
import XCTest
import ICLTestSupport
import ICLCore

/// Faults and interruptions: SIGKILL + resume, SIGINT/SIGTERM, output-folder locks, concurrent runs,
/// device failures. Each runs the real `icl` binary and is bounded in time.
final class ReliabilityTests: XCTestCase {
    override func setUpWithError() throws {
        try skipUnlessOpenCL()
    }

    /// A run long enough to be interrupted (a few seconds: 20 000 steps took 2–3 s here once the step loop was
    /// pipelined; 4 000 had become too short for the kill below to land mid-run), checkpointing often.
    static let longSteps = 20000
    let long = ["--set", "batch=256", "--set", "steps=\(ReliabilityTests.longSteps)", "--set", "checkpointEvery=50", "--set", "evalEvery=0",
                "--set", "evalPrompts=200", "--quiet"]

    func start(_ args: [String], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits (bounded) until `path` exists and holds a checkpoint past step 0.
    func waitForCheckpoint(_ path: String, seconds: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let c = try? Checkpoint.read(path: path), c.step > 0 { return true }
            usleep(20_000)
        }
        return false
    }

    func weightBits(_ dir: String) throws -> [UInt32] {
        try Checkpoint.read(path: dir + "/checkpoint.safetensors").weights.packed.map(\.bitPattern)
    }

    /// Killed with SIGKILL at a (seeded) random moment, then resumed: bitwise the same final weights as an
    /// uninterrupted run, no temporary file left, every metrics line whole.
    func testSIGKILLThenResumeEndsIdentical() throws {
        let straight = CLI.tempDir() + "/straight", killed = CLI.tempDir() + "/killed"
        XCTAssertEqual(try CLI.run(["train", "--out", straight] + long).status, 0)
        var rng = SystemRandomNumberGenerator()
        let delay = UInt32.random(in: 200_000...900_000, using: &rng)
        let p = try start(["train", "--out", killed] + long)
        XCTAssertTrue(waitForCheckpoint(killed + "/checkpoint.safetensors"))
        usleep(delay)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = try Checkpoint.read(path: killed + "/checkpoint.safetensors")
        XCTAssertLessThan(before.step, Self.longSteps, "the kill must land mid-run (delay \(delay) µs)")
        let r = try CLI.run(["train", "--resume", "--out", killed] + long)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try weightBits(killed), try weightBits(straight))
        let names = try FileManager.default.contentsOfDirectory(atPath: killed)
        XCTAssertFalse(names.contains { $0.contains(".tmp-") }, "\(names)")
        let lines = try String(contentsOfFile: killed + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        for l in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(l.utf8)), String(l)) }
    }

    /// SIGTERM and SIGINT: a checkpoint of the step reached, exit 128 + signal, and a hint to resume.
    func testSIGTERMAndSIGINTSaveACheckpoint() throws {
        for (sig, code) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
            let dir = CLI.tempDir() + "/run"
            let out = NSTemporaryDirectory() + "icl-sig-\(UUID().uuidString).err"
            _ = FileManager.default.createFile(atPath: out, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["train", "--out", dir] + long + ["--set", "steps=1000000", "--set", "checkpointEvery=100000"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle(forWritingAtPath: out)
            try p.run()
            // Wait until training runs (the step-0 checkpoint is written before the first step).
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: dir + "/checkpoint.safetensors") && Date() < deadline { usleep(20_000) }
            usleep(400_000)
            kill(p.processIdentifier, sig)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, code)
            let err = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            XCTAssertTrue(err.contains("--resume"), err)
            let c = try Checkpoint.read(path: dir + "/checkpoint.safetensors")
            XCTAssertGreaterThan(c.step, 0)
            XCTAssertTrue(err.contains("after step \(c.step)"), err)
        }
    }

    /// Two processes on one output folder: the second is refused while the first runs; the first is unharmed.
    func testSecondProcessOnTheSameFolderIsRefused() throws {
        let dir = CLI.tempDir() + "/run"
        let first = try start(["train", "--out", dir] + long + ["--set", "steps=1000000", "--set", "checkpointEvery=100000"])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dir + "/checkpoint.safetensors") && Date() < deadline { usleep(20_000) }
        for args in [["train", "--out", dir] + long, ["train", "--resume", "--out", dir] + long] {
            assertCleanFailure(try CLI.run(args), status: 1, contains: ["another icl process", dir])
        }
        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 143)
        XCTAssertNoThrow(try Checkpoint.read(path: dir + "/checkpoint.safetensors"))
    }

    /// Two processes on the same device with separate folders both finish, with the same (deterministic) result.
    func testTwoConcurrentRunsInSeparateFoldersBothFinish() throws {
        let a = CLI.tempDir() + "/a", b = CLI.tempDir() + "/b"
        let args = ["--set", "batch=128", "--set", "steps=300", "--set", "evalPrompts=500", "--set", "evalEvery=0", "--quiet"]
        let pa = try start(["train", "--out", a] + args), pb = try start(["train", "--out", b] + args)
        pa.waitUntilExit()
        pb.waitUntilExit()
        XCTAssertEqual(pa.terminationStatus, 0)
        XCTAssertEqual(pb.terminationStatus, 0)
        XCTAssertEqual(try weightBits(a), try weightBits(b))
        XCTAssertEqual(try Checkpoint.read(path: a + "/checkpoint.safetensors").step, 300)
    }

    /// The OpenCL runtime failing mid-run (injected through the backend's test hook): a clear message naming
    /// the step, and the last checkpoint intact.
    func testDeviceFailureMidRunKeepsTheLastCheckpoint() throws {
        let dir = CLI.tempDir() + "/run"
        for pipeline in ["pattern", "unfused"] {
            let kernel = pipeline == "pattern" ? "pattern_tile" : "attention_forward_wi"
            let out = dir + "-" + pipeline
            let r = try CLI.run(["train", "--out", out, "--pipeline", pipeline, "--set", "batch=32", "--set", "steps=100",
                                 "--set", "checkpointEvery=10", "--set", "evalEvery=0", "--quiet"],
                                env: ["ICL_INJECT_FAULT": "\(kernel)@25", "ICL_CACHE_DIR": "off"])
            assertCleanFailure(r, status: 1, contains: ["device failed during step 25", "CL_OUT_OF_RESOURCES",
                                                        "(step 20)", "--resume"])
            XCTAssertEqual(try Checkpoint.read(path: out + "/checkpoint.safetensors").step, 20)
            let resumed = try CLI.run(["train", "--resume", "--out", out, "--quiet"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
        }
    }
}
