import Foundation
import XCTest
import ICLTestSupport
import ICLCore
import ICLKit

/// The schedule: checkpoints, resume and determinism through `Trainer`.
final class TrainerTests: XCTestCase {
    func config(steps: Int) -> Config {
        var c = Config()
        c.steps = steps
        c.batch = 64
        c.evalEvery = 0
        c.evalPrompts = 200
        c.checkpointEvery = 5
        c.logEvery = 1
        return c
    }

    func request(_ c: Config, _ dir: String, resume: Bool = false, device: DeviceChoice = .opencl(.best)) -> TrainRequest {
        var r = TrainRequest(config: c, outDir: dir, resume: resume, factory: BackendFactory(choice: device), showProgress: false)
        r.keepLosses = true
        return r
    }

    /// The library says what is wrong and what can be done, never which command-line option does it: a run into a
    /// folder that holds one, and a resume with nothing to resume, carry a remedy and name no flag.
    func testLibraryErrorsCarryARemedyAndNameNoOption() throws {
        let dir = CLI.tempDir() + "/run"
        _ = try Trainer.run(request(config(steps: 2), dir))
        XCTAssertThrowsError(try Trainer.run(request(config(steps: 2), dir))) { error in
            let e = error as? UsageError
            XCTAssertEqual(e?.remedy, .resumeOrOtherOut, "\(error)")
            XCTAssertFalse(e?.message.contains("--") ?? true, "\(error)")
        }
        XCTAssertThrowsError(try Trainer.run(request(config(steps: 2), CLI.tempDir() + "/none", resume: true))) { error in
            let e = error as? UsageError
            XCTAssertEqual(e?.remedy, .startFresh, "\(error)")
            XCTAssertFalse(e?.message.contains("--") ?? true, "\(error)")
        }
    }

    /// Stop after 10 steps, reload, continue to 20 → bitwise the same as 20 steps straight.
    func testResumeIsIdenticalToAnUninterruptedRun() throws {
        try skipUnlessOpenCL()
        let straight = CLI.tempDir() + "/a", split = CLI.tempDir() + "/b"
        let full = try Trainer.run(request(config(steps: 20), straight))
        let first = try Trainer.run(request(config(steps: 10), split))
        let second = try Trainer.run(request(config(steps: 20), split, resume: true))
        XCTAssertEqual(second.startStep, 10)
        XCTAssertEqual((first.losses + second.losses).map(\.bitPattern), full.losses.map(\.bitPattern))
        let a = try Checkpoint.read(path: straight + "/checkpoint.safetensors")
        let b = try Checkpoint.read(path: split + "/checkpoint.safetensors")
        XCTAssertEqual(a.step, 20)
        XCTAssertEqual(a.weights.packed.map(\.bitPattern), b.weights.packed.map(\.bitPattern))
        // metrics.jsonl of the resumed run has each step once.
        let steps = try String(contentsOfFile: split + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["loss"] != nil }.compactMap { $0["step"] as? Int }
        XCTAssertEqual(steps, Array(1...20))
    }

    func testResumeRefusesAChangedModel() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir()
        _ = try Trainer.run(request(config(steps: 5), dir))
        var c = config(steps: 10)
        c.m = 32
        XCTAssertThrowsError(try Trainer.run(request(c, dir, resume: true))) { e in
            XCTAssertTrue("\(e)".contains("m"), "\(e)")
        }
    }

    /// The CPU reference and OpenCL trainers write the same schedule (checkpoint steps, metrics lines).
    func testCPUReferenceTrainerRuns() throws {
        var c = config(steps: 4)
        c.batch = 8
        let s = try Trainer.run(request(c, CLI.tempDir(), device: .cpuReference))
        XCTAssertEqual(s.losses.count, 4)
        XCTAssertTrue(s.device.contains("cpu-reference"))
        XCTAssertEqual(s.finalEvals.count, 2)
    }
}
