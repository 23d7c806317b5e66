import ICLOpenCL

/// One OpenCL device as `icl devices` lists it.
public struct DeviceEntry: Sendable {
    /// Position in the flat list over all platforms: `--device opencl:N`.
    public var index: Int
    /// The device's name, as the driver reports it.
    public var name: String
    /// cpu, gpu, accelerator or other.
    public var kind: String
    /// The name of the OpenCL platform that exposes the device.
    public var platform: String
    /// The driver's version string.
    public var driver: String
    /// The OpenCL version the device reports.
    public var version: String
    /// Compute units (CL_DEVICE_MAX_COMPUTE_UNITS).
    public var computeUnits: Int
    /// Global memory, in bytes.
    public var globalMemoryBytes: Int
    /// The largest single buffer allocation, in bytes.
    public var maxAllocationBytes: Int
    /// Local (work-group shared) memory, in bytes.
    public var localMemoryBytes: Int
    /// The largest work-group size, in work-items.
    public var maxWorkGroupSize: Int
    /// The best target-specific kernel path for the device, nil where it could not be probed.
    public var path: DevicePath?
    /// "[0] pthread-haswell-AMD EPYC (cpu, Portable Computing Language 3.1, 2 CUs, 21.5 GiB)".
    public var summary: String

    init(_ d: CLDeviceInfo, path: DevicePath?) {
        index = d.index; name = d.name; kind = d.kind.rawValue; platform = d.platformName; driver = d.driverVersion
        version = d.deviceVersion; computeUnits = d.computeUnits; globalMemoryBytes = d.globalMemSize
        maxAllocationBytes = d.maxAllocSize; localMemoryBytes = d.localMemSize; maxWorkGroupSize = d.maxWorkGroupSize
        self.path = path
        summary = d.summary
    }
}

/// `icl devices`: the OpenCL devices on the machine.
public enum DeviceList {
    /// Every OpenCL device on the machine, each probed for its kernel path (a device that cannot build the probe gets
    /// nil). Throws one clear error (what to install) when there is no platform or no device.
    public static func all() throws -> [DeviceEntry] {
        try devices().map { d in
            DeviceEntry(d, path: try? DevicePath.best(for: CLContext(device: d)))
        }
    }

    /// The OpenCL devices; no platform or no device is a RunError whose remedy is the CPU reference.
    static func devices() throws -> [CLDeviceInfo] {
        do {
            return try CLDevices.all()
        } catch let e as CLError where e.call == "clGetPlatformIDs" || e.status == -1 /* CL_DEVICE_NOT_FOUND */ {
            throw RunError(e.detail, remedy: .cpuReference)
        }
    }
}
