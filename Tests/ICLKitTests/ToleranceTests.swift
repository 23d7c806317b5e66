import XCTest
import ICLKit

/// The exact comparison (the sampler's): bitwise, except that +0 and −0 are equal.
final class ToleranceTests: XCTestCase {
    /// +0 against −0 passes either way round (rusticl folds `0 · x` to +0 where the reference keeps −0).
    func testExactComparisonTreatsSignedZerosAsEqual() {
        let plus: Float = 0, minus = -Float(0)
        XCTAssertNotEqual(plus.bitPattern, minus.bitPattern)
        XCTAssertTrue(TensorComparison(kernel: "s", tensor: "p", exactDevice: [1, plus, 3], reference: [1, minus, 3]).passed)
        XCTAssertTrue(TensorComparison(kernel: "s", tensor: "p", exactDevice: [minus, 2], reference: [plus, 2]).passed)
        let same = TensorComparison(kernel: "s", tensor: "p", exactDevice: [minus], reference: [minus])
        XCTAssertTrue(same.passed)
        XCTAssertEqual(same.maxAbsError, 0)
    }

    /// Everything else stays bitwise: 1 ulp apart fails (at 1, and at the smallest subnormal against zero), with the
    /// index; a NaN matches only the same NaN.
    func testExactComparisonFailsOneUlpApartAndDifferentNaNs() {
        let one: Float = 1
        let bad = TensorComparison(kernel: "s", tensor: "p", exactDevice: [0, one.nextUp], reference: [-0.0, one])
        XCTAssertFalse(bad.passed)
        XCTAssertEqual(bad.firstBad, 1)
        XCTAssertTrue(bad.line.contains("first bad index 1"), bad.line)
        XCTAssertFalse(TensorComparison(kernel: "s", tensor: "p", exactDevice: [one.nextDown], reference: [one]).passed)
        XCTAssertFalse(TensorComparison(kernel: "s", tensor: "p", exactDevice: [Float.leastNonzeroMagnitude],
                                        reference: [-0.0]).passed)
        XCTAssertFalse(TensorComparison(kernel: "s", tensor: "p", exactDevice: [-Float.leastNonzeroMagnitude],
                                        reference: [0]).passed)
        let nan = Float.nan, otherNaN = Float(nan: 1, signaling: false)
        XCTAssertNotEqual(nan.bitPattern, otherNaN.bitPattern)
        XCTAssertTrue(TensorComparison(kernel: "s", tensor: "p", exactDevice: [nan], reference: [nan]).passed)
        XCTAssertFalse(TensorComparison(kernel: "s", tensor: "p", exactDevice: [otherNaN], reference: [nan]).passed)
        XCTAssertFalse(TensorComparison(kernel: "s", tensor: "p", exactDevice: [0], reference: [nan]).passed)
        // A length mismatch still fails, at the shorter length.
        XCTAssertEqual(TensorComparison(kernel: "s", tensor: "p", exactDevice: [0], reference: [-0.0, 1]).firstBad, 1)
    }
}
