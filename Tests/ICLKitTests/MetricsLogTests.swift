import Foundation
import XCTest
import ICLTestSupport
import ICLKit

/// metrics.jsonl: the loss line written directly reads back as the record `append` would write.
final class MetricsLogTests: XCTestCase {
    func testLossLineMatchesTheGeneralRecord() throws {
        let dir = CLI.tempDir()
        let fast = try MetricsLog(path: dir + "/fast.jsonl", truncate: true)
        let general = try MetricsLog(path: dir + "/general.jsonl", truncate: true)
        // Values whose shortest forms are awkward: many digits, an exponent, an exact binary fraction, zero.
        let cases: [(Int, Double, Double, Double, Double)] = [
            (10, 0.9999803304672241, 0.51171875, 0.0032405853271484375, 0.0049315690994262695),
            (2000, 1e-05, 0, 1.5e-7, 123456.789),
            (7, Double(Float(0.1)), 1, 3, 1e300),
        ]
        for (step, loss, err, train, wall) in cases {
            fast.appendLoss(step: step, loss: loss, trainError: err, trainSeconds: train, wallSeconds: wall)
            general.append(["step": step, "loss": loss, "train_error": err, "train_s": train, "wall_s": wall])
        }
        let read = { (name: String) -> [String] in
            try String(contentsOfFile: dir + "/" + name, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let (fastLines, generalLines) = (try read("fast.jsonl"), try read("general.jsonl"))
        XCTAssertEqual(fastLines.count, cases.count)
        for (f, g) in zip(fastLines, generalLines) {
            let fo = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(f.utf8)) as? [String: Any], f)
            let go = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(g.utf8)) as? [String: Any], g)
            XCTAssertEqual(fo.keys.sorted(), go.keys.sorted())
            for key in go.keys {
                XCTAssertEqual((fo[key] as? NSNumber)?.doubleValue, (go[key] as? NSNumber)?.doubleValue, "\(key) in \(f)")
            }
            // The same key order (sorted), so a reader of either sees the same text layout.
            let keys = { (line: String) in line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element) }
            XCTAssertEqual(keys(f), keys(g))
        }
    }
}
