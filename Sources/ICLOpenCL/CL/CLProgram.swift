import COpenCL

/// A program built for the context's device. Create with `CLContext.program(source:options:)`.
public final class CLProgram {
    let program: cl_program
    let handle: CLContextHandle
    /// The OpenCL C source and the build options it was built with.
    public let source: String
    public let options: String
    /// True when it was loaded from the on-disk binary cache rather than compiled from source.
    public let fromDiskCache: Bool

    /// Compiles `source`; a failure throws CLError(call: "clBuildProgram", detail: the full build log).
    init(handle: CLContextHandle, source: String, options: String) throws {
        var status: cl_int = CL_SUCCESS
        let created: cl_program? = source.withCString { text in
            var strings: [UnsafePointer<CChar>?] = [text]
            return clCreateProgramWithSource(handle.context, 1, &strings, nil, &status)
        }
        guard let program = created, status == CL_SUCCESS else {
            throw CLError(call: "clCreateProgramWithSource", status: status == CL_SUCCESS ? CL_INVALID_PROGRAM : status)
        }
        let built = CLProgram.build(program, handle: handle, options: options)
        if built != CL_SUCCESS {
            let log = CLProgram.buildLog(program, device: handle.device.id)
            clReleaseProgram(program)
            throw CLError(call: "clBuildProgram", status: built,
                          detail: log.isEmpty ? "the compiler left no build log (options: \"\(options)\")" : log)
        }
        self.program = program
        self.handle = handle
        self.source = source
        self.options = options
        self.fromDiskCache = false
    }

    /// Loads a binary from the disk cache; nil when the driver rejects it (the caller then compiles from source).
    init?(handle: CLContextHandle, binary: [UInt8], source: String, options: String) {
        var status: cl_int = CL_SUCCESS
        var binaryStatus: cl_int = CL_SUCCESS
        var device: cl_device_id? = handle.device.id
        var length = binary.count
        let created: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointers: [UnsafePointer<UInt8>?] = [bytes.baseAddress]
            return clCreateProgramWithBinary(handle.context, 1, &device, &length, &pointers, &binaryStatus, &status)
        }
        guard let program = created else { return nil }
        guard status == CL_SUCCESS, binaryStatus == CL_SUCCESS,
              CLProgram.build(program, handle: handle, options: options) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        self.program = program
        self.handle = handle
        self.source = source
        self.options = options
        self.fromDiskCache = true
    }

    deinit {
        clReleaseProgram(program)
    }

    /// Creates kernel `name`; a missing name throws CLError(CL_INVALID_KERNEL_NAME) listing the program's kernels.
    public func kernel(_ name: String) throws -> CLKernel {
        var status: cl_int = CL_SUCCESS
        let kernel = clCreateKernel(program, name, &status)
        guard let kernel, status == CL_SUCCESS else {
            let known = kernelNames
            throw CLError(call: "clCreateKernel", status: status == CL_SUCCESS ? CL_INVALID_KERNEL : status,
                          detail: "no kernel '\(name)' in this program" + (known.isEmpty ? "" : "; it has: " + known.joined(separator: ", ")))
        }
        return CLKernel(kernel: kernel, name: name, program: self)
    }

    /// The names of the program's kernels (CL_PROGRAM_KERNEL_NAMES), sorted; empty if the driver cannot say.
    public var kernelNames: [String] {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_KERNEL_NAMES), 0, nil, &size) == CL_SUCCESS, size > 0 else { return [] }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_KERNEL_NAMES), size, &bytes, nil) == CL_SUCCESS else { return [] }
        return String(cString: bytes).split(separator: ";").map(String.init).sorted()
    }

    /// The device binary (CL_PROGRAM_BINARIES), for the disk cache; nil if the driver gives none.
    func binary() -> [UInt8]? {
        var size = 0
        guard clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == CL_SUCCESS,
              size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let status: cl_int = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointers: [UnsafeMutablePointer<UInt8>?] = [buffer.baseAddress]
            return pointers.withUnsafeMutableBytes { raw in
                clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES), raw.count, raw.baseAddress, nil)
            }
        }
        return status == CL_SUCCESS ? bytes : nil
    }

    static func build(_ program: cl_program, handle: CLContextHandle, options: String) -> cl_int {
        var device: cl_device_id? = handle.device.id
        return clBuildProgram(program, 1, &device, options, nil, nil)
    }

    /// The compiler's log for the device, trimmed; "" if none.
    static func buildLog(_ program: cl_program, device: cl_device_id) -> String {
        var size = 0
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS,
              size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS
        else { return "" }
        return CLDevices.trimmed(String(cString: bytes))
    }
}
