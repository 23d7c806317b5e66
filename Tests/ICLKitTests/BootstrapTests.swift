import XCTest
@testable import ICLExperiments

/// The percentile bootstrap over seeds behind T1's and T2's slope intervals.
final class BootstrapTests: XCTestCase {
    /// Per-seed rows y = c_s · x^slope at x = 1…6: every resample has the same slope, so the interval is that
    /// slope alone; with noisy seeds it widens and still holds the full-sample slope.
    func testIntervalOfASlopeOverSeeds() {
        func table(_ scale: [Double], noise: Double) -> AggregatedTable {
            var rows: [ResultRow] = []
            for (s, c) in scale.enumerated() {
                for x in 1...6 {
                    let wobble = 1 + noise * (Double((s * 7 + x * 3) % 5) - 2)
                    rows.append(ResultRow(keys: ["seed": String(s + 1), "alpha": String(x)],
                                          values: ["y": c * pow(Double(x), -0.7) * wobble]))
                }
            }
            return AggregatedTable(spec: TableSpec("t", keys: ["seed", "alpha"], values: ["y"]), rows: rows)
        }
        let exact = table([1, 2, 3, 4, 5], noise: 0)
        XCTAssertEqual(exact.seeds, [1, 2, 3, 4, 5])
        let ci = try! XCTUnwrap(Bootstrap.interval(seeds: exact.seeds) { exact.slopeOverSeeds($0, group: "alpha", y: "y") { $0 } })
        XCTAssertEqual(ci.lo, -0.7, accuracy: 1e-9)
        XCTAssertEqual(ci.hi, -0.7, accuracy: 1e-9)

        let noisy = table([1, 2, 3, 4, 5], noise: 0.1)
        let stat = { (seeds: [Int]) in noisy.slopeOverSeeds(seeds, group: "alpha", y: "y") { $0 } }
        let wide = try! XCTUnwrap(Bootstrap.interval(seeds: noisy.seeds, statistic: stat))
        let full = stat(noisy.seeds)
        XCTAssertLessThan(wide.lo, wide.hi)
        XCTAssertTrue(wide.lo <= full && full <= wide.hi, "\(wide) holds \(full)")
        // Deterministic: the same draws every time.
        let again = try! XCTUnwrap(Bootstrap.interval(seeds: noisy.seeds, statistic: stat))
        XCTAssertEqual(wide.lo, again.lo)
        XCTAssertEqual(wide.hi, again.hi)
        // One seed has no spread to resample.
        XCTAssertNil(Bootstrap.interval(seeds: [1], statistic: stat))
    }
}
