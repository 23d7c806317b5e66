/// How every program is built: kernel files (from `Kernels/`, `common.cl` first) concatenated in order, with sizes
/// and tunables as -D defines, the options sorted so equal builds are equal strings. The context's program cache
/// (in memory, and on disk as device binaries) is keyed by the resulting source and options.
public struct ProgramBuild: Hashable, Sendable {
    /// Kernel files after `common.cl`, in dependency order.
    public var files: [String]
    public var defines: [String: Int]

    public init(files: [String], defines: [String: Int] = [:]) {
        self.files = files
        self.defines = defines
    }

    /// `common.cl` (size-free helpers every program may use), then `files`.
    public var allFiles: [String] { ["common.cl"] + files.filter { $0 != "common.cl" } }

    /// "-DNAME=value …" in name order, then the language version.
    public var options: String {
        (defines.keys.sorted().map { "-D\($0)=\(defines[$0]!)" } + ["-cl-std=CL1.2"]).joined(separator: " ")
    }

    public func source() throws -> String {
        try allFiles.map { try KernelSource.text($0) }.joined(separator: "\n")
    }

    public func build(_ context: CLContext) throws -> CLProgram {
        try context.program(source: try source(), options: options)
    }
}

/// Launch geometry shared by the programs.
public enum LaunchGeometry {
    /// x rounded up to a multiple of `multiple`.
    public static func roundUp(_ x: Int, _ multiple: Int) -> Int { (x + multiple - 1) / multiple * multiple }

    /// Tiles of `tile` prompts covering `batch`.
    public static func tiles(_ batch: Int, tile: Int) -> Int { (batch + tile - 1) / tile }
}
