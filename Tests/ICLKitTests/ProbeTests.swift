import Foundation
import XCTest
import ICLTestSupport
import ICLCore

/// Mechanism probes recorded during training (`probeEvery`) and by `icl probe`: attention concentrates on
/// same-pattern contexts and the large neurons' label parts align with ±q by the sign of a (PAPER.md §5).
final class ProbeTests: XCTestCase {
    func testProbesRecordTheMechanismDuringTraining() throws {
        try skipUnlessOpenCL()
        let dir = CLI.tempDir() + "/run"
        let r = try CLI.run(["train", "--out", dir, "--set", "steps=1500", "--set", "probeEvery=500",
                             "--set", "evalPrompts=300", "--set", "evalEvery=0", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let probes = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["probe"] != nil }
        XCTAssertEqual(probes.map { $0["step"] as! Int }, [0, 0, 500, 500, 1000, 1000, 1500, 1500])
        let id = probes.filter { ($0["probe"] as! String) == "id" }
        let start = id.first!["same_attention"] as! Double, end = id.last!["same_attention"] as! Double
        XCTAssertLessThan(start, 0.5, "near-uniform attention at initialisation")
        XCTAssertGreaterThan(end, 0.85, "attention concentrates on same-pattern contexts")

        let p = try CLI.run(["probe", "--checkpoint", dir + "/checkpoint.safetensors", "--json"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let rec = try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as! [String: Any]
        let magnitude = rec["label_magnitude"] as! [Double], angle = rec["label_angle"] as! [Double]
        let a = try Checkpoint.read(path: dir + "/checkpoint.safetensors").weights.a
        for n in magnitude.indices.sorted(by: { magnitude[$0] > magnitude[$1] }).prefix(10) {
            let target = a[n] > 0 ? 0 : Double.pi
            XCTAssertLessThan(abs(angle[n] - target), .pi / 4, "neuron \(n): label part at \(angle[n]) rad, a = \(a[n])")
        }
    }

    func testProbeNeedsACheckpoint() throws {
        assertCleanFailure(try CLI.run(["probe"]), status: 2, contains: ["--checkpoint"])
    }
}
