import Foundation
import XCTest
import ICLTestSupport
@testable import ICLCore

/// Hostile config input: thousands of seeded mutations of a valid JSON config and of `key=value` strings.
/// Every case must end in a value or a ConfigError: never a trap, never a hang.
final class ConfigFuzzTests: XCTestCase {
    func testMutatedJSONConfigsFailCleanly() {
        var rng = SeededRandom(seed: 2024)
        let valid = Array(Config().jsonString().utf8)
        let alphabet = Array("{}[]\":,0123456789.-+eEtruefalsn \\u\u{0}\u{7F}abcXYZ".utf8)
        var accepted = 0, refused = 0
        let began = Date()
        for i in 0..<3000 {
            var bytes = valid
            switch i % 4 {
            case 0:  // truncation
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            case 1:  // byte flips
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
            case 2:  // random bytes
                bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default: // a field set to a hostile value
                let field = Config.fieldNames.randomElement(using: &rng)!
                let hostile = ["1e400", "-1e400", "NaN", "\"inf\"", "99999999999999999999999", "-0", "[]", "{}", "null",
                               "true", "\"\"", "\"1,2,,3\"", "[1,[2]]", "-9223372036854775809", "1e-400"].randomElement(using: &rng)!
                bytes = Array("{\"\(field)\": \(hostile)}".utf8)
            }
            var c = Config()
            do {
                try c.merge(json: String(decoding: bytes, as: UTF8.self))
                try c.validate()
                accepted += 1
            } catch is ConfigError {
                refused += 1
            } catch {
                XCTFail("case \(i): not a ConfigError: \(error)")
            }
        }
        XCTAssertEqual(accepted + refused, 3000)
        XCTAssertGreaterThan(refused, 2000)
        XCTAssertLessThan(Date().timeIntervalSince(began), 20)
    }

    func testHostileAssignmentsFailCleanly() {
        var rng = SeededRandom(seed: 7)
        let values = ["", "=", "nan", "inf", "-inf", "1e39", "-1e39", "9223372036854775808", "0x10", "1_000", " 3",
                      "3 ", "true", "maybe", "1,2", ",", "-1", "0", "٣", "１"]
        for _ in 0..<3000 {
            let key = (Config.fieldNames + ["", "nosuch", "M1 ", "=lr"]).randomElement(using: &rng)!
            let value = values.randomElement(using: &rng)!
            var c = Config()
            do {
                try c.apply(assignment: key + "=" + value)
                try c.validate()
                for (n, v) in [("lr", c.lr), ("alpha", c.alpha), ("K", c.K), ("S1", c.S1), ("xi", c.xi), ("beta", c.beta)] {
                    XCTAssertTrue(v.isFinite, "\(n) accepted a non-finite value from \(key)=\(value)")
                }
            } catch is ConfigError {
            } catch {
                XCTFail("\(key)=\(value): not a ConfigError: \(error)")
            }
        }
    }
}
