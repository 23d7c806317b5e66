#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The scalar types the CPU reference runs in: Float for cross-checks and training, Double for
/// finite-difference gradient checks.
public protocol RefReal: BinaryFloatingPoint {
    static func exponential(_ x: Self) -> Self
}

extension Float: RefReal {
    @inline(__always) public static func exponential(_ x: Float) -> Float { expf(x) }
}

extension Double: RefReal {
    @inline(__always) public static func exponential(_ x: Double) -> Double { exp(x) }
}
