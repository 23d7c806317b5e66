/// Philox-4x32-10 (Salmon et al., SC'11): a counter-based generator. The same function is
/// implemented in `Kernels/sampler.cl`, so host and device draw bit-identical numbers from
/// (seed, counter) with no state to carry.
public enum Philox {
    /// The four 32-bit outputs for a 128-bit counter and a 64-bit key.
    @inline(__always)
    public static func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32,
                             key: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var x = (c0, c1, c2, c3)
        var k0 = UInt32(truncatingIfNeeded: key), k1 = UInt32(truncatingIfNeeded: key >> 32)
        for round in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x.0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x.2)
            let hi0 = UInt32(p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            x = (hi1 ^ x.1 ^ k0, lo1, hi0 ^ x.3 ^ k1, lo0)
            if round < 9 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
        }
        return x
    }

    /// A float in [0, 1) from the top 24 bits of `r`; exact, so identical on every device.
    @inline(__always)
    public static func unitFloat(_ r: UInt32) -> Float { Float(r >> 8) * 0x1p-24 }

    /// An integer in [0, n) from the top 24 bits of `r` (fixed-point multiply; identical on device).
    @inline(__always)
    public static func below(_ r: UInt32, _ n: Int) -> Int { Int((UInt64(r >> 8) &* UInt64(n)) >> 24) }

    /// A double in (0, 1) for host-side draws (Box–Muller, random pruning).
    @inline(__always)
    public static func openUnitDouble(_ r: UInt32) -> Double { (Double(r) + 0.5) * 0x1p-32 }
}

/// The independent random streams of a run; the stream number is the last counter word.
public enum RNGStream: UInt32 {
    case trainPrompts = 0
    case basis = 1
    case labelVector = 2
    case initWeights = 3
    case oodIrrelevantMix = 4
    case randomPruning = 5
    case checkPrompts = 6
    /// Evaluation prompts use `evalBase + k` for the k-th evaluation set.
    case evalBase = 16
}

/// A host-side sequence of Gaussian draws from one Philox stream (basis, q, W_O init).
public struct GaussianSequence {
    let key: UInt64
    let stream: UInt32
    var counter: UInt32 = 0

    public init(seed: UInt64, stream: RNGStream) {
        self.key = seed
        self.stream = stream.rawValue
    }

    /// Two independent N(0, 1) draws (Box–Muller on one Philox block).
    public mutating func nextPair() -> (Double, Double) {
        let r = Philox.block(counter, 0, 0, stream, key: key)
        counter &+= 1
        let u1 = Philox.openUnitDouble(r.0), u2 = Philox.openUnitDouble(r.1)
        let radius = (-2 * _log(u1)).squareRoot()
        return (radius * _cos(2 * Double.pi * u2), radius * _sin(2 * Double.pi * u2))
    }

    /// `n` independent N(0, 1) draws.
    public mutating func next(_ n: Int) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(n + 1)
        while out.count < n {
            let (a, b) = nextPair()
            out.append(a)
            out.append(b)
        }
        return Array(out.prefix(n))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@inline(__always) func _log(_ x: Double) -> Double { log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { sin(x) }
