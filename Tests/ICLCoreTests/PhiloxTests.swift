import XCTest
@testable import ICLCore

final class PhiloxTests: XCTestCase {
    private func assertBlock(_ c: (UInt32, UInt32, UInt32, UInt32), k0: UInt32, k1: UInt32,
                             _ expected: (UInt32, UInt32, UInt32, UInt32), file: StaticString = #filePath, line: UInt = #line) {
        let key = UInt64(k1) << 32 | UInt64(k0)
        let r = Philox.block(c.0, c.1, c.2, c.3, key: key)
        let got = [r.0, r.1, r.2, r.3], want = [expected.0, expected.1, expected.2, expected.3]
        XCTAssertEqual(got, want, "got \(got.map { String($0, radix: 16) }), want \(want.map { String($0, radix: 16) })",
                       file: file, line: line)
    }

    // Random123 kat_vectors, philox4x32 with 10 rounds.
    func testKnownAnswerZero() {
        assertBlock((0, 0, 0, 0), k0: 0, k1: 0, (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
    }

    func testKnownAnswerAllOnes() {
        assertBlock((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), k0: 0xffff_ffff, k1: 0xffff_ffff,
                    (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd))
    }

    func testKnownAnswerPi() {
        assertBlock((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), k0: 0xa409_3822, k1: 0x299f_31d0,
                    (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1))
    }

    func testKeyHalvesAreNotInterchangeable() {
        // k0 is the low word: swapping the halves must change the output.
        let a = Philox.block(1, 2, 3, 4, key: 0x0000_0001_0000_0002)
        let b = Philox.block(1, 2, 3, 4, key: 0x0000_0002_0000_0001)
        XCTAssertNotEqual([a.0, a.1, a.2, a.3], [b.0, b.1, b.2, b.3])
    }

    func testUnitFloatRangeAndExactness() {
        XCTAssertEqual(Philox.unitFloat(0), 0)
        XCTAssertEqual(Philox.unitFloat(0xFF), 0)            // only the top 24 bits count
        XCTAssertEqual(Philox.unitFloat(0x100), 0x1p-24)
        XCTAssertEqual(Philox.unitFloat(0x8000_0000), 0.5)
        XCTAssertEqual(Philox.unitFloat(.max), 1 - 0x1p-24)
        XCTAssertLessThan(Philox.unitFloat(.max), 1)
        var sum = 0.0
        let n = 50_000
        for i in 0..<n {
            let r = Philox.block(UInt32(i), 0, 0, 99, key: 7)
            for w in [r.0, r.1, r.2, r.3] {
                let u = Philox.unitFloat(w)
                XCTAssertTrue(u >= 0 && u < 1)
                // Exact: u · 2^24 is the integer w >> 8.
                XCTAssertEqual(u * 0x1p24, Float(w >> 8))
                XCTAssertEqual(UInt32(u * 0x1p24), w >> 8)
                sum += Double(u)
            }
        }
        XCTAssertEqual(sum / Double(4 * n), 0.5, accuracy: 0.005)
    }

    func testBelowRangeAndEnds() {
        for n in [1, 2, 3, 7, 24, 1000] {
            XCTAssertEqual(Philox.below(0, n), 0)
            XCTAssertEqual(Philox.below(.max, n), n - 1)
            for r: UInt32 in [1, 0x7fff_ffff, 0x8000_0000, 0xdead_beef, 0x1234_5678] {
                let k = Philox.below(r, n)
                XCTAssertTrue(k >= 0 && k < n)
            }
        }
    }

    func testBelowRoughlyUniform() {
        let draws = 120_000
        for n in [3, 7, 24] {
            var counts = [Int](repeating: 0, count: n)
            var i: UInt32 = 0
            while counts.reduce(0, +) < draws {
                let r = Philox.block(i, UInt32(n), 0, 42, key: 0x1234_5678_9abc_def0)
                i += 1
                for w in [r.0, r.1, r.2, r.3] {
                    let k = Philox.below(w, n)
                    XCTAssertTrue(k >= 0 && k < n)
                    counts[k] += 1
                }
            }
            let total = Double(counts.reduce(0, +)), expect = total / Double(n)
            let chi2 = counts.reduce(0.0) { $0 + (Double($1) - expect) * (Double($1) - expect) / expect }
            let df = Double(n - 1)
            // Mean df, std sqrt(2 df): a bound of df + 6 sqrt(2 df) is never hit by a sound generator.
            XCTAssertLessThan(chi2, df + 6 * (2 * df).squareRoot(), "n = \(n), counts \(counts)")
            // And no bin is empty or wildly off.
            for c in counts { XCTAssertEqual(Double(c) / expect, 1, accuracy: 0.05, "n = \(n), counts \(counts)") }
        }
    }

    func testCounterWordsAllMatter() {
        let base = Philox.block(5, 6, 7, 8, key: 9)
        let variants = [Philox.block(4, 6, 7, 8, key: 9), Philox.block(5, 7, 7, 8, key: 9),
                        Philox.block(5, 6, 8, 8, key: 9), Philox.block(5, 6, 7, 9, key: 9),
                        Philox.block(5, 6, 7, 8, key: 10), Philox.block(5, 6, 7, 8, key: 9 | 1 << 32)]
        for v in variants { XCTAssertNotEqual([v.0, v.1, v.2, v.3], [base.0, base.1, base.2, base.3]) }
        let again = Philox.block(5, 6, 7, 8, key: 9)
        XCTAssertEqual([again.0, again.1, again.2, again.3], [base.0, base.1, base.2, base.3])
    }

    func testOpenUnitDouble() {
        XCTAssertGreaterThan(Philox.openUnitDouble(0), 0)
        XCTAssertLessThan(Philox.openUnitDouble(.max), 1)
    }

    func testGaussianSequenceMoments() {
        var g = GaussianSequence(seed: 3, stream: .initWeights)
        let x = g.next(40_001)
        XCTAssertEqual(x.count, 40_001)
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
        let within1 = Double(x.filter { abs($0) < 1 }.count) / Double(x.count)
        XCTAssertEqual(within1, 0.6827, accuracy: 0.02)
        // Deterministic, and streams differ.
        var g2 = GaussianSequence(seed: 3, stream: .initWeights)
        XCTAssertEqual(g2.next(40_001), x)
        var g3 = GaussianSequence(seed: 3, stream: .basis)
        XCTAssertNotEqual(g3.next(10), Array(x.prefix(10)))
    }
}
