/// Which shape of kernel to run: one work-item per prompt (best on CPUs through PoCL), or one
/// work-group per prompt with local memory (best on GPUs). `auto` picks by device type.
public enum KernelVariant: String, CaseIterable, Sendable {
    case cpu, gpu

    /// The variant for a device: GPUs and accelerators get `gpu`, everything else `cpu`.
    public static func forDevice(_ device: CLDeviceInfo) -> KernelVariant {
        device.kind == .gpu || device.kind == .accelerator ? .gpu : .cpu
    }

    /// Parses `auto`, `cpu` or `gpu` for a device; nil for anything else.
    public static func parse(_ text: String, device: CLDeviceInfo) -> KernelVariant? {
        text == "auto" ? forDevice(device) : KernelVariant(rawValue: text)
    }
}
