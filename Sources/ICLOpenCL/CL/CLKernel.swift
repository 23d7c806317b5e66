import COpenCL

/// A value `CLKernel.set(args:)` binds to one kernel argument: a buffer (`CLMemory`), an `Int32`, `UInt32` or
/// `Float`, or a `CLLocal` size; for convenience an `Int` becomes an int (range-checked) and a `Double` a float.
/// A protocol rather than `Any`, so an unsupported type is a compile error and binding needs no dynamic cast (casts
/// of `Any` cost about 8 µs of host time per training step, on the CPU the kernels run on).
public protocol CLKernelArgument {
    /// Binds this value to argument `index` of `kernel`.
    func bind(to kernel: CLKernel, at index: Int) throws
}

/// A `__local` kernel argument of `bytes` bytes, for `CLKernel.set(args:)`.
public struct CLLocal: CLKernelArgument {
    public let bytes: Int
    public init(bytes: Int) { self.bytes = bytes }
    public func bind(to kernel: CLKernel, at index: Int) throws { try kernel.setLocal(index, bytes: bytes) }
}

extension Int32: CLKernelArgument {
    public func bind(to kernel: CLKernel, at index: Int) throws { try kernel.set(index, self) }
}
extension UInt32: CLKernelArgument {
    public func bind(to kernel: CLKernel, at index: Int) throws { try kernel.set(index, self) }
}
extension Float: CLKernelArgument {
    public func bind(to kernel: CLKernel, at index: Int) throws { try kernel.set(index, self) }
}
extension Double: CLKernelArgument {
    public func bind(to kernel: CLKernel, at index: Int) throws { try kernel.set(index, Float(self)) }
}
extension Int: CLKernelArgument {
    public func bind(to kernel: CLKernel, at index: Int) throws {
        guard let narrow = Int32(exactly: self) else {
            throw CLError(call: "clSetKernelArg", status: CL_INVALID_ARG_VALUE,
                          detail: "kernel '\(kernel.name)' argument \(index): \(self) does not fit an int")
        }
        try kernel.set(index, narrow)
    }
}

/// One kernel of a program, with its arguments; launches go through the context's queue.
/// Holds its program (and so the context) and every buffer bound to it, so nothing is freed while in use.
public final class CLKernel {
    public let name: String
    public let program: CLProgram
    let kernel: cl_kernel
    private var handle: CLContextHandle { program.handle }
    private var bound: [Int: CLMemory] = [:]
    private var setIndices: Set<Int> = []
    /// The bytes (up to 8) last given to each argument: setting an argument to the value it already has skips
    /// clSetKernelArg, so a launch loop that re-sets every argument costs only the ones that changed.
    private var lastValue: [(size: Int, bits: UInt64)?]

    init(kernel: cl_kernel, name: String, program: CLProgram) {
        self.kernel = kernel
        self.name = name
        self.program = program
        var count: cl_uint = 0
        clGetKernelInfo(kernel, cl_kernel_info(CL_KERNEL_NUM_ARGS), MemoryLayout<cl_uint>.size, &count, nil)
        lastValue = Array(repeating: nil, count: Int(count))
    }

    deinit {
        clReleaseKernel(kernel)
    }

    /// Binds a buffer to `__global` argument `index`.
    public func set(_ index: Int, _ buffer: CLMemory) throws {
        var mem: cl_mem? = buffer.mem
        guard try setRaw(index, size: MemoryLayout<cl_mem?>.size, value: &mem, what: self.describe(buffer)) else { return }
        bound[index] = buffer  // keeps the buffer (so its cl_mem) alive while bound: a skipped re-set is the same buffer
    }

    public func set(_ index: Int, _ value: Int32) throws {
        var value = value
        try setRaw(index, size: 4, value: &value, what: "int \(value)")
    }

    public func set(_ index: Int, _ value: UInt32) throws {
        var value = value
        try setRaw(index, size: 4, value: &value, what: "uint \(value)")
    }

    public func set(_ index: Int, _ value: Float) throws {
        var value = value
        try setRaw(index, size: 4, value: &value, what: "float \(value)")
    }

    /// Sizes `__local` argument `index` to `bytes` bytes.
    public func setLocal(_ index: Int, bytes: Int) throws {
        try clCheck(clSetKernelArg(kernel, cl_uint(index), bytes, nil), "clSetKernelArg",
                    detail: "kernel '\(name)' argument \(index) (__local, \(bytes) bytes; device has \(handle.device.localMemSize))")
        bound[index] = nil
        if index < lastValue.count { lastValue[index] = nil }
        setIndices.insert(index)
    }

    /// Sets arguments 0..<args.count in order (see `CLKernelArgument` for what each may be).
    public func set(args: [any CLKernelArgument]) throws {
        for (index, arg) in args.enumerated() { try arg.bind(to: self, at: index) }
    }

    /// Enqueues the kernel on the context's queue over `global` work-items (1 to 3 dimensions), in work-groups of
    /// `local` (nil: the driver picks); each global size is rounded up to a multiple of its local size.
    /// With `timed`, returns the event (ask `elapsedNanoseconds`); else returns nil. A launch with no work-items does
    /// nothing and returns nil.
    @discardableResult
    public func launch(global: [Int], local: [Int]?, timed: Bool = false) throws -> CLEvent? {
        if handle.consumeFault(kernel: name) {
            throw CLError(call: "clEnqueueNDRangeKernel", status: CL_OUT_OF_RESOURCES, detail: "injected fault")
        }
        guard (1...3).contains(global.count), local == nil || local!.count == global.count else {
            throw CLError(call: "clEnqueueNDRangeKernel", status: CL_INVALID_WORK_DIMENSION,
                          detail: "kernel '\(name)': global \(global) and local \(local.map { "\($0)" } ?? "nil") must have 1 to 3 matching dimensions")
        }
        if let local, local.contains(where: { $0 <= 0 }) {
            throw CLError(call: "clEnqueueNDRangeKernel", status: CL_INVALID_WORK_GROUP_SIZE,
                          detail: "kernel '\(name)': local size \(local) must be positive")
        }
        if global.contains(where: { $0 <= 0 }) { return nil }
        var padded = global
        if let local {
            for d in padded.indices { padded[d] = (padded[d] + local[d] - 1) / local[d] * local[d] }
        }
        var event: cl_event? = nil
        let status: cl_int = withUnsafeMutablePointer(to: &event) { eventSlot in
            padded.withUnsafeBufferPointer { g in
                let enqueue = { (l: UnsafePointer<Int>?) -> cl_int in
                    clEnqueueNDRangeKernel(self.handle.queue, self.kernel, cl_uint(g.count), nil, g.baseAddress, l, 0, nil,
                                           timed ? eventSlot : nil)
                }
                guard let local else { return enqueue(nil) }
                return local.withUnsafeBufferPointer { enqueue($0.baseAddress) }
            }
        }
        guard status == CL_SUCCESS else {
            if let event { clReleaseEvent(event) }
            throw CLError(call: "clEnqueueNDRangeKernel", status: status, detail: launchDetail(status, global: padded, local: local))
        }
        guard timed, let event else { return nil }
        return CLEvent(event)
    }

    /// The kernel's CL_KERNEL_WORK_GROUP_SIZE on this device (its largest possible work-group).
    public var workGroupSizeLimit: Int {
        var size = 0
        let status = clGetKernelWorkGroupInfo(kernel, handle.device.id, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                              MemoryLayout<Int>.size, &size, nil)
        return status == CL_SUCCESS ? size : handle.device.maxWorkGroupSize
    }

    /// CL_KERNEL_LOCAL_MEM_SIZE: the local memory the kernel uses on its device, its static `__local` arrays plus the
    /// local arguments set so far (before any are set: the static arrays alone). 0 where the driver does not say.
    public var localMemoryUsed: Int {
        var size: cl_ulong = 0
        let status = clGetKernelWorkGroupInfo(kernel, handle.device.id, cl_kernel_work_group_info(CL_KERNEL_LOCAL_MEM_SIZE),
                                              MemoryLayout<cl_ulong>.size, &size, nil)
        return status == CL_SUCCESS ? Int(size) : 0
    }

    /// Sets argument `index` unless it already holds these bytes; returns whether it called clSetKernelArg.
    @discardableResult
    private func setRaw(_ index: Int, size: Int, value: UnsafeRawPointer, what: @autoclosure () -> String) throws -> Bool {
        var bits: UInt64 = 0
        withUnsafeMutableBytes(of: &bits) { $0.copyMemory(from: UnsafeRawBufferPointer(start: value, count: min(size, 8))) }
        let cacheable = size <= 8 && index < lastValue.count
        if cacheable, let last = lastValue[index], last.size == size, last.bits == bits { return false }
        try clCheck(clSetKernelArg(kernel, cl_uint(index), size, value), "clSetKernelArg",
                    detail: "kernel '\(name)' argument \(index) (\(what()))")
        bound[index] = nil
        if index < lastValue.count { lastValue[index] = cacheable ? (size, bits) : nil }
        setIndices.insert(index)
        return true
    }

    private func describe(_ memory: CLMemory) -> String {
        (memory as? CLDescribedMemory).map { "buffer '\($0.label)', \($0.byteCount) bytes" } ?? "buffer"
    }

    /// What we know about a failed launch: sizes, limits, unset arguments, bound buffers.
    private func launchDetail(_ status: cl_int, global: [Int], local: [Int]?) -> String {
        var parts = ["kernel '\(name)', global \(global), local \(local.map { "\($0)" } ?? "nil")"]
        switch status {
        case CL_INVALID_WORK_GROUP_SIZE, CL_INVALID_WORK_ITEM_SIZE:
            parts.append("this kernel allows work-groups of at most \(workGroupSizeLimit) on '\(handle.device.name)'")
        case CL_INVALID_KERNEL_ARGS:
            var count: cl_uint = 0
            clGetKernelInfo(kernel, cl_kernel_info(CL_KERNEL_NUM_ARGS), MemoryLayout<cl_uint>.size, &count, nil)
            let missing = (0..<Int(count)).filter { !setIndices.contains($0) }
            parts.append("arguments not set: \(missing)")
        case CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES:
            let buffers = bound.sorted { $0.key < $1.key }.map { describe($0.value) }
            parts.append("the device ran out of memory or resources (bound: \(buffers.joined(separator: "; "))); "
                         + "use a smaller batch, sequence length or width")
        default:
            break
        }
        return parts.joined(separator: "; ")
    }
}

/// Lets error messages name a bound buffer and its size without knowing its element type.
protocol CLDescribedMemory {
    var label: String { get }
    var byteCount: Int { get }
}

extension CLBuffer: CLDescribedMemory {}
