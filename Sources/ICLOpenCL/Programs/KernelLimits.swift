/// What a compiled kernel can take on its device, checked when a program is built so that a pipeline refuses a
/// device before any launch.
extension CLKernel {
    /// Throws the one-sentence refusal when this device's build of the kernel takes work-groups smaller than `items`
    /// (its CL_KERNEL_WORK_GROUP_SIZE, below the `reqd_work_group_size` the kernel was compiled for).
    func requireGroupSize(_ items: Int, of what: String, on device: CLDeviceInfo) throws {
        let limit = workGroupSizeLimit
        guard items <= limit else {
            throw PipelineError(.workGroupSize, "\(what) runs work-groups of \(items) work-items, but '\(device.name)' takes at most \(limit) for its kernel '\(name)'.")
        }
    }
}
