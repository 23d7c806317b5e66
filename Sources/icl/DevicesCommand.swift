import ICLKit
import ICLOpenCL

/// `icl devices [--json]`: every OpenCL device, plus the CPU reference.
enum DevicesCommand {
    static func run(_ argv: [String]) throws {
        let args = try Arguments(argv, command: "devices", options: [], flags: ["json"])
        let devices = try CLDevices.all()
        if args.has("json") {
            for d in devices {
                Output.json(["device": "opencl:\(d.index)", "name": d.name, "kind": d.kind.rawValue,
                             "platform": d.platformName, "driver": d.driverVersion, "version": d.deviceVersion,
                             "compute_units": d.computeUnits, "global_mem_bytes": d.globalMemSize,
                             "max_alloc_bytes": d.maxAllocSize, "local_mem_bytes": d.localMemSize])
            }
            Output.json(["device": "cpu-reference", "name": "plain Swift CPU reference", "kind": "reference"])
            return
        }
        for d in devices { print("opencl:\(d.index)  \(d.summary)") }
        print("cpu-reference  plain-Swift CPU reference (the oracle; slow)")
    }
}
