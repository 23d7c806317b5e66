/// What a compiled kernel can take on its device, checked when a program is built so that a pipeline refuses a
/// device before any launch.
extension CLContext {
    /// The largest work-group `kernel` takes on this device: its CL_KERNEL_WORK_GROUP_SIZE, except on a driver that
    /// reports the same smaller value for an empty kernel, which needs no resources at all: Mesa rusticl 22.3 on
    /// llvmpipe gives its sub-group width, 32, for every kernel, and runs groups of up to the device's 1024 work-items
    /// correctly (checked with groups of 64, 128 and 256). There the device's CL_DEVICE_MAX_WORK_GROUP_SIZE is the limit.
    func groupLimit(of kernel: CLKernel) throws -> Int {
        let reported = kernel.workGroupSizeLimit
        guard reported < device.maxWorkGroupSize else { return reported }
        let empty = try program(source: "__kernel void icl_empty(void) {}", options: "-cl-std=CL1.2").kernel("icl_empty")
        return empty.workGroupSizeLimit < device.maxWorkGroupSize ? device.maxWorkGroupSize : reported
    }
}

extension CLKernel {
    /// Throws the one-sentence refusal when this device's build of the kernel takes work-groups smaller than `items`
    /// (below the `reqd_work_group_size` the kernel was compiled for).
    func requireGroupSize(_ items: Int, of what: String, in context: CLContext) throws {
        let limit = try context.groupLimit(of: self)
        guard items <= limit else {
            throw PipelineError(.workGroupSize, "\(what) runs work-groups of \(items) work-items, but '\(context.device.name)' takes at most \(limit) for its kernel '\(name)'.")
        }
    }
}
