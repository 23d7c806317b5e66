import COpenCL
import Foundation

/// Context + in-order command queue (profiling enabled) on one device, plus the program cache.
public final class CLContext {
    /// The device, as found by `CLDevices.all()` (`profilingSupported` false if the driver refused a profiling queue).
    public let device: CLDeviceInfo
    let handle: CLContextHandle

    private let cacheLock = NSLock()
    private var programs: [ProgramCacheEntry: CLProgram] = [:]

    /// The source and options as UTF-8 bytes: String's hashing and == compare Unicode-canonically, which for the
    /// kernel sources (their comments are not ASCII) walks every character through NFC normalization (2.5 % of the
    /// CPU samples of 6000 quick-start steps). Bytes are what the compiler sees; canonically equal sources with
    /// other bytes would only miss the cache.
    private struct ProgramCacheEntry: Hashable {
        let source: [UInt8]
        let options: [UInt8]
        init(source: String, options: String) {
            self.source = Array(source.utf8)
            self.options = Array(options.utf8)
        }
        func hash(into hasher: inout Hasher) {     // the bytes in one call each, not byte by byte
            source.withUnsafeBytes { hasher.combine(bytes: $0) }
            options.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    /// Creates the context and its queue. Reads ICL_INJECT_FAULT=<kernel name or *>[@N] once, here.
    public init(device: CLDeviceInfo) throws {
        handle = try CLContextHandle(device: device)
        self.device = handle.device
        if let spec = ProcessInfo.processInfo.environment["ICL_INJECT_FAULT"], !spec.isEmpty {
            let parts = spec.split(separator: "@", maxSplits: 1).map(String.init)
            let nth = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
            handle.injectFault(parts[0], nth: nth)
        }
    }

    /// Builds (or returns cached) a program for this device.
    /// Cached in memory per context (same source and options give the same object) and on disk as a device binary,
    /// keyed by device name, driver version, FNV-1a 64 hashes of source and options (see `CLProgramDiskCache`).
    /// A build failure throws CLError(call: "clBuildProgram", detail: the full build log).
    public func program(source: String, options: String) throws -> CLProgram {
        let entry = ProgramCacheEntry(source: source, options: options)
        cacheLock.lock(); defer { cacheLock.unlock() }
        if let cached = programs[entry] { return cached }

        let key = CLProgramDiskCache.Key(device: device, source: source, options: options)
        let program: CLProgram
        if let binary = CLProgramDiskCache.load(key), let loaded = CLProgram(handle: handle, binary: binary, source: source, options: options) {
            program = loaded
        } else {
            program = try CLProgram(handle: handle, source: source, options: options)
            if let binary = program.binary() { CLProgramDiskCache.store(key, binary: binary) }
        }
        programs[entry] = program
        return program
    }

    /// Allocates a device buffer of `count` elements of `T` (a plain value type: Float, Int32, UInt32, ...).
    /// A size over `device.maxAllocSize`, or a device out of memory, throws a CLError whose detail names the bytes asked
    /// for, the label, the device limit and suggests a smaller batch, length or width.
    public func buffer<T>(_ type: T.Type, count: Int, label: String) throws -> CLBuffer<T> {
        try CLBuffer<T>(handle: handle, count: count, label: label)
    }

    /// Allocates a buffer holding `values` (create + blocking upload).
    public func buffer<T>(_ values: [T], label: String) throws -> CLBuffer<T> {
        let buffer = try CLBuffer<T>(handle: handle, count: values.count, label: label)
        try buffer.write(values)
        return buffer
    }

    /// Waits until every command queued so far has finished.
    public func finish() throws {
        try clCheck(clFinish(handle.queue), "clFinish", detail: "device \(device.name)")
    }

    /// Kernel launches enqueued through this context so far (what `icl bench` divides by steps for launches per step).
    public var launchCount: Int { handle.launches }

    /// Test hook for fault injection (device loss). When set, the next launch of the kernel with this name ("*": any)
    /// fails with CLError(call: "clEnqueueNDRangeKernel", status: CL_OUT_OF_RESOURCES, detail: "injected fault"),
    /// then the hook clears itself. ICL_INJECT_FAULT=<name or *>[@N] (fail the N-th matching launch) arms it at init.
    public var injectFault: String? {
        get { handle.injectedFault }
        set { handle.injectFault(newValue) }
    }
}
