import Foundation

/// A kernel source file that could not be found, embedded or on disk.
public struct KernelSourceError: Error, CustomStringConvertible {
    public let description: String
}

/// The OpenCL C sources of Kernels/, embedded in the binary at build time (see embed-kernels).
public enum KernelSource {
    /// The text of kernel file `file` (e.g. "attention.cl"): read from `$ICL_KERNEL_DIR/<file>` when ICL_KERNEL_DIR
    /// is set (for kernel development), else the copy embedded at build time.
    public static func text(_ file: String) throws -> String {
        if let dir = ProcessInfo.processInfo.environment["ICL_KERNEL_DIR"], !dir.isEmpty {
            let url = URL(fileURLWithPath: dir).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw KernelSourceError(description: "Kernel source \(file) was not found in ICL_KERNEL_DIR=\(dir); "
                    + "point ICL_KERNEL_DIR at the Kernels folder or unset it to use the embedded kernels.")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw KernelSourceError(description: "Kernel source \(url.path) is not UTF-8 text; save it as UTF-8.")
            }
            return text
        }
        guard let text = EmbeddedKernels.sources[file] else {
            throw KernelSourceError(description: "No kernel source named \(file) is embedded in this build (embedded: "
                + "\(embeddedNames.joined(separator: ", "))); add Kernels/\(file) and rebuild.")
        }
        return text
    }

    /// The file names of the embedded kernel sources, sorted.
    public static var embeddedNames: [String] { EmbeddedKernels.sources.keys.sorted() }
}
