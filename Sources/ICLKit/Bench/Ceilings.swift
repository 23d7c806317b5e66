import ICLOpenCL

/// The device's measured ceilings: peak FP32 FMA rate and copy bandwidth (clpeak-style probes).
public struct Ceilings: Sendable {
    /// Peak FP32 FMA rate, in GFLOP/s (an FMA counts as 2 FLOPs).
    public var gflops: Double
    /// Copy bandwidth, in GB/s (bytes read plus bytes written).
    public var copyGBs: Double

    static let peakIterations = 4096

    /// Runs each probe several times; keeps the best (a ceiling is the best the device showed).
    static func measure(context: CLContext, repeats: Int = 5) throws -> Ceilings {
        let program = try ProgramBuild(files: ["ceilings.cl"], defines: ["ICL_PEAK_ITERS": peakIterations]).build(context)
        let peak = try program.kernel("icl_peak_fma")
        let items = max(1024, context.device.computeUnits * 1024)
        let out = try context.buffer(Float.self, count: items, label: "peak probe output")
        try peak.set(args: [out, Float(1)])
        var best = 0.0
        for r in 0...repeats {
            let t = try Timing.seconds(context: context) { try peak.launch(global: [items], local: nil, timed: true) }
            if r > 0 { best = max(best, Double(items) * 2 * 16 * 8 * Double(peakIterations) / t / 1e9) }
        }
        let copy = try program.kernel("icl_copy_bandwidth")
        let n = 8 << 20   // float4s: 128 MiB each way
        let a = try context.buffer(Float.self, count: 4 * n, label: "copy probe input")
        let b = try context.buffer(Float.self, count: 4 * n, label: "copy probe output")
        try a.fill(1)
        try copy.set(args: [a, b])
        var bestCopy = 0.0
        for r in 0...repeats {
            let t = try Timing.seconds(context: context) { try copy.launch(global: [n], local: nil, timed: true) }
            if r > 0 { bestCopy = max(bestCopy, Double(2 * 16 * n) / t / 1e9) }
        }
        return Ceilings(gflops: best, copyGBs: bestCopy)
    }
}

/// Timing helpers: device event timers where the device has them, else the host clock around a finish.
public enum Timing {
    /// Seconds one enqueued command took.
    static func seconds(context: CLContext, _ body: () throws -> CLEvent?) throws -> Double {
        let start = monotonicNanoseconds()
        let event = try body()
        try context.finish()
        let host = Double(monotonicNanoseconds() - start) / 1e9
        if let e = event, let ns = try? e.elapsedNanoseconds, ns > 0 { return Double(ns) / 1e9 }
        return host
    }

    /// Runs `body` (which does `unitsPerCall` units of work) once to warm up, then enough calls per repeat
    /// that a repeat lasts ≥ minSeconds; returns `repeats` samples of seconds per unit.
    static func repeated(repeats: Int, minSeconds: Double, unitsPerCall: Int, _ body: () throws -> Void) throws -> [Double] {
        try body()   // warm-up (program builds, first-touch)
        var calls = 1
        while true {
            let t0 = monotonicNanoseconds()
            for _ in 0..<calls { try body() }
            let t = Double(monotonicNanoseconds() - t0) / 1e9
            if t >= minSeconds || calls >= 1 << 16 { break }
            calls *= 2
        }
        return try (0..<repeats).map { _ in
            let t0 = monotonicNanoseconds()
            for _ in 0..<calls { try body() }
            return Double(monotonicNanoseconds() - t0) / 1e9 / Double(calls * unitsPerCall)
        }
    }

    /// Median and relative spread ((max − min) / median) of samples.
    public static func summary(_ samples: [Double]) -> (median: Double, spread: Double) {
        let s = samples.sorted()
        guard !s.isEmpty else { return (0, 0) }
        let median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        return (median, median > 0 ? (s.last! - s.first!) / median : 0)
    }
}

@inline(__always) func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

#if canImport(Glibc)
import Glibc
#endif
