import ICLKit

/// `icl devices [--json]`: every OpenCL device with its kernel path, plus the CPU reference.
enum DevicesCommand {
    static let listsOnly = "it lists the devices and runs no model"
    static let spec = CommandSpec(
        name: "devices",
        summary: "lists the OpenCL devices (opencl:N, with the kernel path each runs) and the CPU reference",
        options: [CommonSpecs.json],
        refused: ["device", "variant", "pipeline", "config", "set", "seed", "model"].map { ($0, listsOnly) },
        examples: ["icl devices", "icl devices --json"])

    static func run(_ args: Arguments) throws {
        let devices = try DeviceList.all()
        if args.has("json") {
            for d in devices {
                Output.json(["device": "opencl:\(d.index)", "name": d.name, "kind": d.kind, "platform": d.platform,
                             "driver": d.driver, "version": d.version, "compute_units": d.computeUnits,
                             "global_mem_bytes": d.globalMemoryBytes, "max_alloc_bytes": d.maxAllocationBytes,
                             "local_mem_bytes": d.localMemoryBytes, "path": d.path?.rawValue ?? "unknown"])
            }
            Output.json(["device": "cpu-reference", "name": "plain Swift CPU reference", "kind": "reference"])
            return
        }
        for d in devices { print("opencl:\(d.index)  \(d.summary), \(d.path?.rawValue ?? "unprobed") path") }
        print("cpu-reference  plain-Swift CPU reference (the oracle; slow)")
    }
}
