import Foundation
import XCTest
import ICLTestSupport
import ICLCore

/// `icl prune`: compacted checkpoints, identity at rate 0, exactly ⌊R·m⌋ rows removed, clean refusals.
final class PruneTests: XCTestCase {
    override func setUpWithError() throws {
        try skipUnlessOpenCL()
    }

    static let trained: String = {
        let dir = CLI.tempDir("prune") + "/run"
        let r = try! CLI.run(["train", "--out", dir, "--set", "steps=900", "--set", "evalPrompts=200", "--set", "evalEvery=0",
                              "--quiet"])
        precondition(r.status == 0, r.stderr)
        return dir + "/checkpoint.safetensors"
    }()

    func testRateZeroIsTheIdentity() throws {
        let out = CLI.tempDir() + "/p.safetensors"
        XCTAssertEqual(try CLI.run(["prune", "--checkpoint", Self.trained, "--rate", "0", "--out", out]).status, 0)
        let a = try Checkpoint.read(path: Self.trained), b = try Checkpoint.read(path: out)
        XCTAssertEqual(a.weights.packed, b.weights.packed)
        XCTAssertEqual(b.keptNeurons, Array(0..<64))
        let evalA = try CLI.run(["eval", "--checkpoint", Self.trained, "--ood", "--prompts", "2000", "--json"])
        let evalB = try CLI.run(["eval", "--checkpoint", out, "--ood", "--prompts", "2000", "--json"])
        func err(_ r: CLIResult) throws -> Double {
            try (JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any])["error"] as! Double
        }
        XCTAssertEqual(try err(evalA), try err(evalB))
    }

    func testRemovesExactlyFloorRateTimesMRows() throws {
        let full = try Checkpoint.read(path: Self.trained)
        let mags = Pruning.magnitudes(full.weights, by: "wo")
        for (rate, method) in [(0.2, "magnitude"), (0.5, "random"), (0.37, "magnitude")] {
            let out = CLI.tempDir() + "/p.safetensors"
            let r = try CLI.run(["prune", "--checkpoint", Self.trained, "--method", method, "--rate", "\(rate)", "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            let p = try Checkpoint.read(path: out)
            let expected = 64 - Int((rate * 64).rounded(.down))
            XCTAssertEqual(p.weights.m, expected)
            XCTAssertEqual(p.weights.WO.count, expected * 40)
            XCTAssertEqual(p.keptNeurons?.count, expected)
            for (row, n) in p.keptNeurons!.enumerated() {   // surviving rows, in their original order
                XCTAssertEqual(Array(p.weights.WO[(row * 40)..<((row + 1) * 40)]), Array(full.weights.WO[(n * 40)..<((n + 1) * 40)]))
            }
            if method == "magnitude" {   // every pruned neuron is no larger than every kept one
                let kept = Set(p.keptNeurons!)
                let smallestKept = kept.map { mags[$0] }.min()!
                for n in 0..<64 where !kept.contains(n) { XCTAssertLessThanOrEqual(mags[n], smallestKept) }
            }
            let e = try CLI.run(["eval", "--checkpoint", out, "--prompts", "500", "--json"])
            XCTAssertEqual(e.status, 0, e.stderr)
        }
    }

    func testBadArgumentsExitTwo() throws {
        let out = CLI.tempDir() + "/p.safetensors"
        for (args, needles) in [
            (["--rate", "1"], ["[0, 1)"]), (["--rate", "-0.1"], ["[0, 1)"]), (["--rate", "abc"], ["--rate"]),
            (["--rate", "0.2", "--method", "lottery"], ["lottery"]), (["--rate", "0.2", "--by", "wq"], ["wq"]),
        ] as [([String], [String])] {
            assertCleanFailure(try CLI.run(["prune", "--checkpoint", Self.trained, "--out", out] + args), status: 2,
                               contains: needles)
        }
        let other = CLI.tempDir() + "/other.safetensors"
        try SafeTensorsFile(tensors: ["x": SafeTensor(shape: [2], data: [1, 2])], metadata: ["format": "something-else"])
            .write(to: other)
        assertCleanFailure(try CLI.run(["prune", "--checkpoint", other, "--rate", "0.2", "--out", out]), status: 2,
                           contains: [other])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
