import Foundation

/// Target-specific code a program may be built with, chosen by the host for each device (CLBlast-style: the host
/// picks the kernel files; no kernel tests the target itself). Named in `icl devices`, `icl bench`, `icl check`,
/// the run's device line and the checkpoint metadata, because the paths round differently.
/// - `avx512`: the pattern tile kernel reads its tables (≤ 32 entries) at eight columns at once with one AVX-512
///   `vpermi2ps` (`pattern_lookup_avx512.cl` + `pattern_reads_vector.cl`); x86 CPUs with AVX-512 (PoCL).
/// - `avx2`: the same reads with four AVX2 `vpermps` and blends (`pattern_lookup_avx2.cl` + `pattern_reads_vector.cl`);
///   x86 CPUs with AVX2 and FMA. It reads the same values as avx512, so the two round alike.
/// - `portable`: plain OpenCL C, column by column (`pattern_reads_portable.cl`); every device, and tables past 32.
public enum DevicePath: String, CaseIterable, Sendable {
    case avx512, avx2, portable

    /// Vector registers the path's target has (32 on AVX-512; 16 on AVX2, and assumed elsewhere), passed to the CPU
    /// tile kernels as ICL_VREGS: their row loops and the sampler's Philox keep that many sums or words in flight
    /// (`tile_cpu.cl`, `sampler_chunks.cl`). Only how the loops are blocked, not the order of any sum, so no rounding changes.
    public var vectorRegisters: Int { self == .avx512 ? 32 : 16 }

    /// The layout of the chunk sampler's Philox words (`sampler_chunks.cl`): `philox8_wide.cl` (a word per ulong lane)
    /// with 32 vector registers, `philox8_packed.cl` (eight words per uint8) with 16, where the wide layout's state
    /// spills. Integer arithmetic: both draw the same words.
    public var philoxFile: String { vectorRegisters >= 32 ? "philox8_wide.cl" : "philox8_packed.cl" }

    /// The chunk sampler's files for this path's target, in order, after `sampler.cl`.
    public var chunkSamplerFiles: [String] { [philoxFile, "sampler_chunks.cl"] }

    /// The kernel files of the pattern tile kernel's table reads on this path, in order.
    public var patternReadsFiles: [String] {
        switch self {
        case .avx512, .avx2: return ["pattern_lookup_\(rawValue).cl", "pattern_reads_vector.cl"]
        case .portable: return ["pattern_reads_portable.cl"]
        }
    }

    /// The paths a device with `features` can run, fastest first (an AVX-512 CPU runs the avx2 path too).
    public static func supported(by features: DeviceFeatures) -> [DevicePath] {
        (features.contains(.avx512) ? [.avx512] : []) + (features.isSuperset(of: [.avx2, .fma]) ? [.avx2] : []) + [.portable]
    }

    /// The paths the device can run, fastest first.
    public static func supported(for context: CLContext) throws -> [DevicePath] {
        supported(by: try DeviceFeatures.of(context))
    }

    /// The best path the device's compiler supports, or `portable` when the environment sets ICL_PORTABLE_KERNELS=1
    /// (to run and check the portable path on any device).
    public static func best(for context: CLContext) throws -> DevicePath {
        if ProcessInfo.processInfo.environment["ICL_PORTABLE_KERNELS"] == "1" { return .portable }
        return try supported(for: context)[0]
    }

    /// The path the pattern pipeline runs: `best`, where the tables fit it (`paddedBasis` ≤ 32 for the vector paths).
    public static func forPattern(_ best: DevicePath, paddedBasis: Int) -> DevicePath {
        best != .portable && paddedBasis <= 32 ? best : .portable
    }
}

/// What a device's OpenCL C compiler targets (the bits of the `icl_device_features` probe kernel), read once per
/// device.
public struct DeviceFeatures: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let avx512 = DeviceFeatures(rawValue: 1)
    public static let avx2 = DeviceFeatures(rawValue: 2)
    public static let fma = DeviceFeatures(rawValue: 4)

    private static let lock = NSLock()
    nonisolated(unsafe) private static var known: [String: DeviceFeatures] = [:]

    /// The device's features (one small build and launch per CPU device and process; the program cache keeps the
    /// build). Devices that are not CPUs have none of these and run no probe: under Oclgrind (a `gpu` device) the
    /// probe's launch before a training run made its --uninitialized plugin report every fused tile's softmax and
    /// hinge as reading uninitialised values (60 reports in a two-step run; none without the probe, the kernels the same).
    public static func of(_ context: CLContext) throws -> DeviceFeatures {
        let device = context.device, key = device.name + "|" + device.driverVersion + "|" + device.platformName
        guard device.kind == .cpu else { return [] }
        lock.lock(); defer { lock.unlock() }
        if let f = known[key] { return f }
        let program = try ProgramBuild(files: ["device_features.cl"]).build(context)
        let kernel = try program.kernel("icl_device_features")
        let out = try context.buffer([Int32(0)], label: "device features")
        try kernel.set(args: [out])
        try kernel.launch(global: [1], local: nil)
        let f = DeviceFeatures(rawValue: try out.read()[0])
        known[key] = f
        return f
    }
}
