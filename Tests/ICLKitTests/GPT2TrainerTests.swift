import Foundation
import XCTest
import ICLTestSupport
import ICLCore
import ICLKit

/// The GPT-2-style model through the trainer and the CLI: checkpoints with the AdamW moments, bit-exact
/// resume, evaluation, pruning, and clean refusals.
final class GPT2TrainerTests: XCTestCase {
    static func config(steps: Int) -> Config {
        var c = Config()
        c.model = "gpt2"
        c.width = 8
        c.layers = 2
        c.heads = 2
        c.lTrain = 6
        c.lTest = 6
        c.batch = 4
        c.steps = steps
        c.warmup = 2
        c.adamLR = 3e-3
        c.evalEvery = 0
        c.evalPrompts = 40
        c.checkpointEvery = 0
        c.logEvery = 1
        return c
    }

    static let tiny = ["--model", "gpt2", "--device", "cpu-reference",
                       "--set", "width=8 layers=2 heads=2 lTrain=6 lTest=6 batch=4 warmup=2 evalPrompts=40 evalEvery=0"]

    func request(_ c: Config, _ dir: String, resume: Bool = false) -> TrainRequest {
        var r = TrainRequest(config: c, outDir: dir, resume: resume, factory: BackendFactory(choice: .cpuReference),
                             showProgress: false)
        r.keepLosses = true
        return r
    }

    func testResumeIsIdenticalToAnUninterruptedRun() throws {
        let straight = CLI.tempDir() + "/a", split = CLI.tempDir() + "/b"
        let full = try Trainer.run(request(Self.config(steps: 6), straight))
        _ = try Trainer.run(request(Self.config(steps: 3), split))
        let second = try Trainer.run(request(Self.config(steps: 6), split, resume: true))
        XCTAssertEqual(second.startStep, 3)
        XCTAssertEqual(second.losses.map(\.bitPattern), Array(full.losses.suffix(3)).map(\.bitPattern))
        let a = try GPT2Checkpoint.read(path: straight + "/checkpoint.safetensors")
        let b = try GPT2Checkpoint.read(path: split + "/checkpoint.safetensors")
        XCTAssertEqual(a.step, 6)
        XCTAssertEqual(a.weights.packed.map(\.bitPattern), b.weights.packed.map(\.bitPattern))
        XCTAssertEqual(a.adam.v.map(\.bitPattern), b.adam.v.map(\.bitPattern))
        XCTAssertTrue(a.adam.v.contains { $0 > 0 }, "the AdamW moments are saved")
        // Training moved the weights away from their initial values.
        let initial = GPT2Weights<Float>.initial(shape: Self.config(steps: 6).gpt2Shape, seed: 1)
        XCTAssertNotEqual(a.weights.packed, initial.packed)
    }

    func testCheckpointRoundTripAndRefusals() throws {
        let dir = CLI.tempDir()
        _ = try Trainer.run(request(Self.config(steps: 2), dir))
        let path = dir + "/checkpoint.safetensors"
        let c = try GPT2Checkpoint.read(path: path)
        XCTAssertEqual(c.config.model, "gpt2")
        XCTAssertEqual(c.weights.shape, Self.config(steps: 2).gpt2Shape)
        // The one-layer reader names the other model instead of a generic format error.
        XCTAssertThrowsError(try Checkpoint.read(path: path)) { XCTAssertTrue("\($0)".contains("GPT-2"), "\($0)") }
        // Resuming it as the one-layer model is refused.
        var other = Self.config(steps: 4)
        other.model = "onelayer"
        XCTAssertThrowsError(try Trainer.run(request(other, dir, resume: true))) { XCTAssertTrue("\($0)".contains("model"), "\($0)") }
    }

    func testCommandLineTrainEvalPruneAndRefusals() throws {
        let dir = CLI.tempDir()
        let r = try CLI.run(["train", "--out", dir + "/run", "--steps", "3", "--quiet"] + Self.tiny)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("GPT-2-style model") && r.stdout.contains("AdamW"), r.stdout)
        let ckpt = dir + "/run/checkpoint.safetensors"
        let e = try CLI.run(["eval", "--checkpoint", ckpt, "--device", "cpu-reference", "--prompts", "30", "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let rec = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        XCTAssertNotNil(rec["error"] as? Double)

        // Probing: every layer and head, with the layer's mean the mean of its heads (text and JSON).
        let probe = try CLI.run(["probe", "--checkpoint", ckpt, "--prompts", "16", "--json"])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        let probed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(probe.stdout.utf8)) as? [String: Any])
        let perHead = try XCTUnwrap(probed["head_same_attention"] as? [[Double]])
        let perLayer = try XCTUnwrap(probed["layer_same_attention"] as? [Double])
        let shape = Self.config(steps: 3).gpt2Shape
        XCTAssertEqual(perHead.map(\.count), Array(repeating: shape.heads, count: shape.layers))
        for (heads, mean) in zip(perHead, perLayer) {
            XCTAssertEqual(mean, heads.reduce(0, +) / Double(heads.count), accuracy: 1e-12)
            XCTAssertTrue(heads.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(heads)")
        }
        let text = try CLI.run(["probe", "--checkpoint", ckpt, "--prompts", "16", "--ood"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("layer \(shape.layers)") && text.stdout.contains("head \(shape.heads)"), text.stdout)

        // Pruning: rate 0 is the identity; rate R zeroes ⌊R·4W⌋ neurons of each block, weights and moments.
        let same = try CLI.run(["prune", "--checkpoint", ckpt, "--rate", "0", "--out", dir + "/p0.safetensors"])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertEqual(try GPT2Checkpoint.read(path: dir + "/p0.safetensors").weights, try GPT2Checkpoint.read(path: ckpt).weights)
        let half = try CLI.run(["prune", "--checkpoint", ckpt, "--rate", "0.3", "--out", dir + "/p3.safetensors"])
        XCTAssertEqual(half.status, 0, half.stderr)
        let p = try GPT2Checkpoint.read(path: dir + "/p3.safetensors")
        let mags = GPT2Pruning.magnitudes(p.weights)
        XCTAssertEqual(mags.map { $0.filter { $0 == 0 }.count }, [9, 9], "⌊0.3 · 32⌋ = 9 neurons per block")
        let original = GPT2Pruning.magnitudes(try GPT2Checkpoint.read(path: ckpt).weights)
        for (before, after) in zip(original, mags) {
            // The zeroed ones are the smallest.
            let cut = before.sorted()[9]
            for (x, y) in zip(before, after) where y == 0 { XCTAssertLessThanOrEqual(x, cut) }
        }

        for (args, needles) in [
            (["probe", "--checkpoint", ckpt, "--length", "9"], ["lTrain = 6"]),
            (["prune", "--checkpoint", ckpt, "--rate", "1", "--out", dir + "/x.safetensors"], ["[0, 1)"]),
            (["prune", "--checkpoint", ckpt, "--rate", "0.2", "--by", "wo", "--out", dir + "/x.safetensors"], ["--by"]),
            (["eval", "--checkpoint", ckpt, "--device", "cpu-reference", "--length", "9"], ["lTrain = 6"]),
            (["train", "--out", dir + "/bad"] + Self.tiny + ["--set", "heads=3"], ["heads"]),
            (["train", "--out", dir + "/bad2", "--model", "gpt3"], ["model"]),
            (["check", "--model", "gpt3"], ["unknown model 'gpt3'"]),
        ] as [([String], [String])] {
            assertCleanFailure(try CLI.run(args), status: 2, contains: needles)
        }
    }
}
