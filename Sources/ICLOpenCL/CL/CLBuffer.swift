import COpenCL

/// Anything that can be bound to a `__global` kernel argument.
public protocol CLMemory: AnyObject, CLKernelArgument {
    var mem: cl_mem { get }
}

extension CLMemory {
    public func bind(to kernel: CLKernel, at index: Int) throws { try kernel.set(index, self) }
}

/// A device buffer of `count` elements of `T` (a plain value type: Float, Int32, UInt32, ...); released in deinit.
/// Reads and writes go through the context's in-order queue and block; `fill` does not (later commands see it).
public final class CLBuffer<T>: CLMemory {
    public let count: Int
    /// A name for errors: "W_Q", "prompts", ...
    public let label: String
    public let mem: cl_mem
    let handle: CLContextHandle

    /// Size in bytes.
    public var byteCount: Int { count * MemoryLayout<T>.stride }

    init(handle: CLContextHandle, count: Int, label: String) throws {
        let device = handle.device
        guard _isPOD(T.self) else {
            throw CLError(call: "clCreateBuffer", status: CL_INVALID_VALUE,
                          detail: "buffer '\(label)': \(T.self) is not a plain value type and cannot live on a device")
        }
        let (bytes, overflow) = max(count, 0).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count >= 0, !overflow, bytes <= device.maxAllocSize else {
            throw CLError(call: "clCreateBuffer", status: CL_INVALID_BUFFER_SIZE,
                          detail: count < 0 ? "buffer '\(label)' asks for \(count) elements"
                              : CLBuffer.tooLarge(label: label, count: count, bytes: overflow ? Int.max : bytes, device: device))
        }
        var status: cl_int = CL_SUCCESS
        // OpenCL refuses empty buffers; an empty one still gets a byte so it can be bound.
        let mem = clCreateBuffer(handle.context, cl_mem_flags(CL_MEM_READ_WRITE), max(bytes, 1), nil, &status)
        guard let mem, status == CL_SUCCESS else {
            throw CLError(call: "clCreateBuffer", status: status == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : status,
                          detail: CLBuffer.tooLarge(label: label, count: count, bytes: bytes, device: device))
        }
        self.count = count
        self.label = label
        self.mem = mem
        self.handle = handle
    }

    deinit {
        clReleaseMemObject(mem)
    }

    /// Uploads `values`, which must have exactly `count` elements (else CL_INVALID_VALUE). Blocking.
    public func write(_ values: [T]) throws {
        guard values.count == count else {
            throw CLError(call: "clEnqueueWriteBuffer", status: CL_INVALID_VALUE,
                          detail: "buffer '\(label)' holds \(count) elements but \(values.count) were given")
        }
        try write(values, at: 0)
    }

    /// Uploads `values` to elements offset ..< offset + values.count. Blocking.
    public func write(_ values: [T], at offset: Int) throws {
        guard offset >= 0, offset + values.count <= count else {
            throw CLError(call: "clEnqueueWriteBuffer", status: CL_INVALID_VALUE,
                          detail: "buffer '\(label)' holds \(count) elements; cannot write \(values.count) at offset \(offset)")
        }
        guard !values.isEmpty else { return }
        let stride = MemoryLayout<T>.stride
        let status = values.withUnsafeBytes { bytes in
            clEnqueueWriteBuffer(handle.queue, mem, cl_bool(CL_TRUE), offset * stride, bytes.count, bytes.baseAddress, 0, nil, nil)
        }
        try check(status, "clEnqueueWriteBuffer")
    }

    /// Downloads all elements. Blocking.
    public func read() throws -> [T] {
        try read(count: count)
    }

    /// Downloads the first `count` elements. Blocking.
    public func read(count wanted: Int) throws -> [T] {
        guard wanted >= 0, wanted <= count else {
            throw CLError(call: "clEnqueueReadBuffer", status: CL_INVALID_VALUE,
                          detail: "buffer '\(label)' holds \(count) elements; cannot read \(wanted)")
        }
        guard wanted > 0 else { return [] }
        var status: cl_int = CL_SUCCESS
        let values = [T](unsafeUninitializedCapacity: wanted) { buffer, initialized in
            status = clEnqueueReadBuffer(handle.queue, mem, cl_bool(CL_TRUE), 0, wanted * MemoryLayout<T>.stride,
                                         buffer.baseAddress, 0, nil, nil)
            initialized = wanted  // T is plain data: every bit pattern the device wrote is a value
        }
        try check(status, "clEnqueueReadBuffer")
        return values
    }

    /// Starts a download of the first `count` elements and returns at once; the values come from the returned
    /// read's `values()`. Commands enqueued after this one may overwrite the buffer: the in-order queue runs the
    /// read first.
    public func readLater(count wanted: Int) throws -> CLPendingRead<T> {
        guard wanted > 0, wanted <= count else {
            throw CLError(call: "clEnqueueReadBuffer", status: CL_INVALID_VALUE,
                          detail: "buffer '\(label)' holds \(count) elements; cannot read \(wanted)")
        }
        let pending = CLPendingRead<T>(count: wanted)
        var event: cl_event? = nil
        let status = clEnqueueReadBuffer(handle.queue, mem, cl_bool(CL_FALSE), 0, wanted * MemoryLayout<T>.stride,
                                         pending.storage.baseAddress, 0, nil, &event)
        try check(status, "clEnqueueReadBuffer")
        pending.event = event
        return pending
    }

    /// Sets every element to `value` (clEnqueueFillBuffer when T's size allows, else an upload).
    public func fill(_ value: T) throws {
        guard count > 0 else { return }
        let stride = MemoryLayout<T>.stride
        guard stride.nonzeroBitCount == 1, stride <= 128 else {
            return try write([T](repeating: value, count: count))
        }
        let status = withUnsafeBytes(of: value) { pattern in
            clEnqueueFillBuffer(handle.queue, mem, pattern.baseAddress, stride, 0, byteCount, 0, nil, nil)
        }
        try check(status, "clEnqueueFillBuffer")
    }

    /// Checks a transfer's status; out-of-memory failures (drivers often allocate at first use) say what to shrink.
    private func check(_ status: cl_int, _ call: String) throws {
        guard status != CL_SUCCESS else { return }
        let memory = status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES
        throw CLError(call: call, status: status,
                      detail: memory ? CLBuffer.tooLarge(label: label, count: count, bytes: byteCount, device: handle.device)
                                     : "buffer '\(label)' (\(byteCount) bytes)")
    }

    /// "buffer 'x' asks for N bytes (…) but device 'd' allows at most M bytes per buffer …; use a smaller …"
    static func tooLarge(label: String, count: Int, bytes: Int, device: CLDeviceInfo) -> String {
        "buffer '\(label)' asks for \(bytes) bytes (\(count) × \(MemoryLayout<T>.stride), \(humanBytes(bytes))) but device "
            + "'\(device.name)' allows at most \(device.maxAllocSize) bytes (\(humanBytes(device.maxAllocSize))) per buffer "
            + "and has \(device.globalMemSize) bytes (\(humanBytes(device.globalMemSize))) in all; "
            + "use a smaller batch, sequence length or width"
    }
}

/// A download in flight (`CLBuffer.readLater`): owns the host memory the device writes, and waits for the
/// read before that memory goes away, so dropping one early is safe.
public final class CLPendingRead<T> {
    let storage: UnsafeMutableBufferPointer<T>
    var event: cl_event?

    init(count: Int) {
        storage = .allocate(capacity: count)
    }

    deinit {
        if let event {
            var list: cl_event? = event
            clWaitForEvents(1, &list)
            clReleaseEvent(event)
        }
        storage.deallocate()
    }

    /// Waits for the read, then returns the values.
    public func values() throws -> [T] {
        if let event {
            var list: cl_event? = event
            try clCheck(clWaitForEvents(1, &list), "clWaitForEvents", detail: "a read of \(storage.count) elements")
        }
        return Array(storage)  // T is plain data: every bit pattern the device wrote is a value
    }
}

/// 1536 -> "1.5 KiB".
func humanBytes(_ bytes: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) bytes" : "\((value * 10).rounded() / 10) \(units[unit])"
}
