import COpenCL

/// What kind of device CL_DEVICE_TYPE says it is.
public enum CLDeviceKind: String, Sendable {
    case cpu, gpu, accelerator, other
}

/// One OpenCL device as found on the machine. `index` is its position in the flat list over all platforms.
public struct CLDeviceInfo: @unchecked Sendable {
    public let index: Int
    public let id: cl_device_id
    public let platformID: cl_platform_id
    public let platformName: String
    public let name: String
    public let vendor: String
    public let driverVersion: String
    /// CL_DEVICE_VERSION, e.g. "OpenCL 3.0 PoCL ...".
    public let deviceVersion: String
    public let kind: CLDeviceKind
    public let computeUnits: Int
    public let maxWorkGroupSize: Int
    public let localMemSize: Int
    public let globalMemSize: Int
    /// CL_DEVICE_MAX_MEM_ALLOC_SIZE: the largest single buffer, in bytes.
    public let maxAllocSize: Int
    /// Queue profiling is core in OpenCL 1.2; false only when a profiling queue could not be created.
    public let profilingSupported: Bool

    /// One line: "[0] pthread-AMD EPYC (cpu, Portable Computing Language 3.1, 2 CUs, 3.6 GiB)".
    public var summary: String {
        let gib = Double(globalMemSize) / Double(1 << 30)
        let memory = (gib * 10).rounded() / 10
        return "[\(index)] \(name) (\(kind.rawValue), \(platformName) \(driverVersion), \(computeUnits) CUs, \(memory) GiB)"
    }

    /// This device, marked as unable to profile (its driver refused a profiling queue).
    func withoutProfiling() -> CLDeviceInfo {
        CLDeviceInfo(index: index, id: id, platformID: platformID, platformName: platformName, name: name, vendor: vendor,
                     driverVersion: driverVersion, deviceVersion: deviceVersion, kind: kind, computeUnits: computeUnits,
                     maxWorkGroupSize: maxWorkGroupSize, localMemSize: localMemSize, globalMemSize: globalMemSize,
                     maxAllocSize: maxAllocSize, profilingSupported: false)
    }
}

/// Enumerates the machine's OpenCL devices.
public enum CLDevices {
    static let installHint = "installing `pocl-opencl-icd ocl-icd-opencl-dev` (or a GPU's OpenCL driver) gives one, and the CPU reference needs none"

    /// All devices of all platforms, in platform order then device order.
    /// Throws one clear CLError (what to install; the CPU reference needs nothing) when there is no platform or no device.
    public static func all() throws -> [CLDeviceInfo] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        if status == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (status == CL_SUCCESS && platformCount == 0) {
            throw CLError(call: "clGetPlatformIDs", status: status == CL_SUCCESS ? CL_DEVICE_NOT_FOUND : status,
                          detail: "no OpenCL platform is installed on this machine; \(installHint).")
        }
        try clCheck(status, "clGetPlatformIDs", detail: "cannot list OpenCL platforms; \(installHint).")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try clCheck(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var devices: [CLDeviceInfo] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            let found = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if found == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try clCheck(found, "clGetDeviceIDs", detail: "platform \(platformName)")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try clCheck(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil),
                        "clGetDeviceIDs", detail: "platform \(platformName)")
            for case let id? in ids {
                devices.append(try describe(id, platform: platform, platformName: platformName, index: devices.count))
            }
        }
        if devices.isEmpty {
            throw CLError(call: "clGetDeviceIDs", status: CL_DEVICE_NOT_FOUND,
                          detail: "OpenCL platforms are installed but none has a device; \(installHint).")
        }
        return devices
    }

    /// Reads every field of `CLDeviceInfo` for one device.
    static func describe(_ id: cl_device_id, platform: cl_platform_id, platformName: String, index: Int) throws -> CLDeviceInfo {
        let type: cl_device_type = try deviceScalar(id, CL_DEVICE_TYPE)
        let kind: CLDeviceKind
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { kind = .gpu }
        else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { kind = .cpu }
        else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { kind = .accelerator }
        else { kind = .other }
        let computeUnits: cl_uint = try deviceScalar(id, CL_DEVICE_MAX_COMPUTE_UNITS)
        let maxWorkGroup: Int = try deviceScalar(id, CL_DEVICE_MAX_WORK_GROUP_SIZE)
        let localMem: cl_ulong = try deviceScalar(id, CL_DEVICE_LOCAL_MEM_SIZE)
        let globalMem: cl_ulong = try deviceScalar(id, CL_DEVICE_GLOBAL_MEM_SIZE)
        let maxAlloc: cl_ulong = try deviceScalar(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        return CLDeviceInfo(
            index: index, id: id, platformID: platform, platformName: platformName,
            name: try deviceString(id, CL_DEVICE_NAME),
            vendor: try deviceString(id, CL_DEVICE_VENDOR),
            driverVersion: try deviceString(id, CL_DRIVER_VERSION),
            deviceVersion: try deviceString(id, CL_DEVICE_VERSION),
            kind: kind,
            computeUnits: Int(computeUnits),
            maxWorkGroupSize: maxWorkGroup,
            localMemSize: Int(clamping: localMem),
            globalMemSize: Int(clamping: globalMem),
            maxAllocSize: Int(clamping: maxAlloc),
            profilingSupported: true
        )
    }

    static func platformString(_ platform: cl_platform_id, _ param: cl_platform_info) throws -> String {
        var size = 0
        try clCheck(clGetPlatformInfo(platform, param, 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetPlatformInfo(platform, param, size, &bytes, nil), "clGetPlatformInfo")
        return trimmed(String(cString: bytes))
    }

    static func deviceString(_ device: cl_device_id, _ param: Int32) throws -> String {
        var size = 0
        try clCheck(clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try clCheck(clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo")
        return trimmed(String(cString: bytes))
    }

    static func deviceScalar<T: FixedWidthInteger>(_ device: cl_device_id, _ param: Int32) throws -> T {
        var value: T = 0
        try clCheck(clGetDeviceInfo(device, cl_device_info(param), MemoryLayout<T>.size, &value, nil),
                    "clGetDeviceInfo", detail: "parameter \(param)")
        return value
    }

    /// Drivers pad names with spaces (and PoCL's device version ends in a newline or two).
    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
