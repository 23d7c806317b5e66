import ICLOpenCL

/// The device's measured ceilings: peak FP32 FMA rate and copy bandwidth (clpeak-style probes), and the launch
/// latency of an empty kernel (at small batches a step's launches, not its FLOPs, bound a GPU).
public struct Ceilings: Sendable {
    /// Peak FP32 FMA rate, in GFLOP/s (an FMA counts as 2 FLOPs).
    public var gflops: Double
    /// Copy bandwidth, in GB/s (bytes read plus bytes written).
    public var copyGBs: Double
    /// Launch latency, in microseconds: the median host-clock round trip of one empty kernel (global size 1), from
    /// the enqueue to clFinish's return, with nothing else queued. What one launch whose result the host waits for costs.
    public var launchLatencyUs: Double = 0
    /// The device-side latency of the same empty launch from event profiling, CL_PROFILING_COMMAND_QUEUED to _END,
    /// median, in microseconds (nil when the queue has no profiling or its timestamps are not a clock, as on Mesa
    /// rusticl 22.3, whose kernel rows are then timed by the host clock). These launches carry an event, which on some
    /// drivers (PoCL) makes their round trip slower than an untimed launch's.
    public var launchEventUs: Double?
    /// Microseconds per empty kernel enqueued back to back and finished once (the median of 5 rounds of
    /// `launchSamples / 5`): what a launch costs when the host keeps the in-order queue fed, as the trainer's step loop does.
    public var launchIssueUs: Double = 0

    static let peakIterations = 4096
    /// Empty-kernel launches per latency measurement (after `launchWarmup` untimed ones).
    public static let launchSamples = 200
    static let launchWarmup = 20

    /// A ceilings value (the measured fields are what `measure` fills in).
    public init(gflops: Double, copyGBs: Double, launchLatencyUs: Double = 0, launchEventUs: Double? = nil,
                launchIssueUs: Double = 0) {
        self.gflops = gflops
        self.copyGBs = copyGBs
        self.launchLatencyUs = launchLatencyUs
        self.launchEventUs = launchEventUs
        self.launchIssueUs = launchIssueUs
    }

    /// Runs each probe several times; keeps the best (a ceiling is the best the device showed).
    static func measure(context: CLContext, repeats: Int = 5) throws -> Ceilings {
        let program = try ProgramBuild(files: ["ceilings.cl"], defines: ["ICL_PEAK_ITERS": peakIterations]).build(context)
        // Three shapes of FMA chains: eight float16 per work-item (CPUs vectorise within a work-item; AVX-512), twelve
        // float8 (the same on CPUs with 16 vector registers, where eight float16 chains spill), and eight floats per
        // work-item, 16 times as many (GPUs and llvmpipe vectorise across work-items); the ceiling is the fastest.
        let items = max(1024, context.device.computeUnits * 1024)
        var best = 0.0
        let probes = [("icl_peak_fma", items, 16, 8), ("icl_peak_fma8", 2 * items, 8, 12),
                      ("icl_peak_fma_scalar", 16 * items, 1, 8)]
        for (name, count, lanes, chains) in probes {
            let peak = try program.kernel(name)
            let out = try context.buffer(Float.self, count: count, label: "peak probe output")
            try peak.set(args: [out, Float(1)])
            for r in 0...repeats {
                let t = try Timing.seconds(context: context) { try peak.launch(global: [count], local: nil, timed: true) }
                if r > 0 { best = max(best, Double(count * 2 * lanes * chains) * Double(peakIterations) / t / 1e9) }
            }
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
        let latency = try launchLatency(context: context, program: program)
        return Ceilings(gflops: best, copyGBs: bestCopy, launchLatencyUs: latency.hostUs, launchEventUs: latency.eventUs,
                        launchIssueUs: latency.issueUs)
    }

    /// Times the empty kernel `icl_empty` (global size 1): the median host round trip (enqueue → clFinish) and, where
    /// the queue profiles, the median queued → end of its event, over `launchSamples` launches each after a warm-up;
    /// and the cost per launch of launches enqueued back to back (median of 5 rounds). Microseconds.
    static func launchLatency(context: CLContext, program: CLProgram) throws
        -> (hostUs: Double, eventUs: Double?, issueUs: Double) {
        let empty = try program.kernel("icl_empty")
        for _ in 0..<launchWarmup { try empty.launch(global: [1], local: [1]); try context.finish() }
        // Untimed launches, as the pipelines enqueue them: no event to create or query.
        let host = try (0..<launchSamples).map { _ -> Double in
            let t0 = monotonicNanoseconds()
            try empty.launch(global: [1], local: [1])
            try context.finish()
            return Double(monotonicNanoseconds() - t0) / 1e3
        }
        var eventUs: Double? = nil
        if context.device.profilingSupported {
            let events = try (0..<launchSamples).compactMap { _ -> Double? in
                let event = try empty.launch(global: [1], local: [1], timed: true)
                try context.finish()
                return try event?.profilingTimestamps.map { Double($0.queuedToEnd) / 1e3 }
            }
            if events.count == launchSamples { eventUs = Timing.summary(events).median }
        }
        let rounds = 5, perRound = launchSamples / rounds
        let issue = try (0..<rounds).map { _ -> Double in
            let t0 = monotonicNanoseconds()
            for _ in 0..<perRound { try empty.launch(global: [1], local: [1]) }
            try context.finish()
            return Double(monotonicNanoseconds() - t0) / 1e3 / Double(perRound)
        }
        return (Timing.summary(host).median, eventUs, Timing.summary(issue).median)
    }
}

/// Timing helpers: device event timers where the device has them, else the host clock around a finish.
public enum Timing {
    /// Seconds one enqueued command took: its event's START → END where the device's timestamps are a clock, else the
    /// host clock from the enqueue to clFinish's return.
    static func seconds(context: CLContext, _ body: () throws -> CLEvent?) throws -> Double {
        let start = monotonicNanoseconds()
        let event = try body()
        try context.finish()
        let host = Double(monotonicNanoseconds() - start) / 1e9
        if let e = event, let t = try? e.profilingTimestamps, t.startToEnd > 0 { return Double(t.startToEnd) / 1e9 }
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
