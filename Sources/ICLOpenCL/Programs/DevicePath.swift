import Foundation

/// Target-specific code a program may be built with, chosen by the host for each device (CLBlast-style: the host
/// picks the kernel files; no kernel tests the target itself). Named in `icl devices`, `icl bench`, `icl check`,
/// the run's device line and the checkpoint metadata, because the paths round differently.
/// - `avx512`: the pattern tile kernel reads its 32-entry tables with one AVX-512 `vpermi2ps` per eight columns
///   (`pattern_reads_avx512.cl`); for x86 CPUs with AVX-512 (PoCL), and bases of at most 32 vectors.
/// - `portable`: plain OpenCL C for every device (`pattern_reads_portable.cl`).
public enum DevicePath: String, CaseIterable, Sendable {
    case avx512, portable

    /// The kernel file of the pattern tile kernel's table reads on this path.
    public var patternReadsFile: String { "pattern_reads_\(rawValue).cl" }

    /// The best path the device's compiler supports, or `portable` when the environment sets
    /// ICL_PORTABLE_KERNELS=1 (to run and check the portable path on any device).
    public static func best(for context: CLContext) throws -> DevicePath {
        if ProcessInfo.processInfo.environment["ICL_PORTABLE_KERNELS"] == "1" { return .portable }
        return try DeviceFeatures.of(context).avx512 ? .avx512 : .portable
    }

    /// The path the pattern pipeline runs: the device's best, where the tables fit it (`paddedBasis` ≤ 32 for avx512).
    public static func forPattern(_ best: DevicePath, paddedBasis: Int) -> DevicePath {
        best == .avx512 && paddedBasis <= 32 ? .avx512 : .portable
    }
}

/// What a device's OpenCL C compiler targets, read once per device by the `icl_device_features` probe kernel.
public struct DeviceFeatures: Sendable, Equatable {
    public var avx512: Bool
    public var avx2: Bool
    public var fma: Bool

    private static let lock = NSLock()
    nonisolated(unsafe) private static var known: [String: DeviceFeatures] = [:]

    /// The device's features (one small build and launch per device and process; the program cache keeps the build).
    public static func of(_ context: CLContext) throws -> DeviceFeatures {
        let device = context.device, key = device.name + "|" + device.driverVersion + "|" + device.platformName
        lock.lock(); defer { lock.unlock() }
        if let f = known[key] { return f }
        let program = try ProgramBuild(files: ["device_features.cl"]).build(context)
        let kernel = try program.kernel("icl_device_features")
        let out = try context.buffer([Int32(0)], label: "device features")
        try kernel.set(args: [out])
        try kernel.launch(global: [1], local: nil)
        let bits = try out.read()[0]
        let f = DeviceFeatures(avx512: bits & 1 != 0, avx2: bits & 2 != 0, fma: bits & 4 != 0)
        known[key] = f
        return f
    }
}
