import COpenCL
import Foundation

/// The cl_context and in-order command queue of one device, released when the last user lets go.
/// Programs, kernels and buffers hold this strongly (never `CLContext`, whose program cache holds them), so no cycle.
/// It also carries the fault-injection state, which kernel launches consult.
final class CLContextHandle {
    let device: CLDeviceInfo
    let context: cl_context
    let queue: cl_command_queue

    private let faultLock = NSLock()
    private var faultTarget: String?
    private var faultCountdown = 0
    /// Kernel launches enqueued on this queue so far.
    private(set) var launches = 0

    init(device requested: CLDeviceInfo) throws {
        var status: cl_int = CL_SUCCESS
        var deviceID: cl_device_id? = requested.id
        var properties: [cl_context_properties] = [
            cl_context_properties(CL_CONTEXT_PLATFORM), cl_context_properties(Int(bitPattern: requested.platformID)), 0,
        ]
        guard let context = clCreateContext(&properties, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw CLError(call: "clCreateContext", status: status == CL_SUCCESS ? CL_INVALID_CONTEXT : status,
                          detail: "device \(requested.summary)")
        }
        var device = requested
        var queue = clCreateCommandQueue(context, requested.id, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &status)
        if queue == nil || status != CL_SUCCESS {
            // Some drivers refuse profiling queues; run without timings rather than not at all.
            device = requested.withoutProfiling()
            queue = clCreateCommandQueue(context, requested.id, 0, &status)
        }
        guard let queue, status == CL_SUCCESS else {
            clReleaseContext(context)
            throw CLError(call: "clCreateCommandQueue", status: status == CL_SUCCESS ? CL_INVALID_COMMAND_QUEUE : status,
                          detail: "device \(requested.summary)")
        }
        self.device = device
        self.context = context
        self.queue = queue
    }

    deinit {
        clFinish(queue)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// The kernel name (or "*") whose next matching launch fails; nil when none.
    var injectedFault: String? {
        faultLock.lock(); defer { faultLock.unlock() }
        return faultTarget
    }

    /// Arms a fault for the `nth` launch (1 = the next) of kernel `target` ("*": any kernel); nil disarms.
    func injectFault(_ target: String?, nth: Int = 1) {
        faultLock.lock(); defer { faultLock.unlock() }
        faultTarget = target
        faultCountdown = max(1, nth)
    }

    /// Called once per launch: counts it, and returns true when this launch must fail. The fault fires once, then
    /// disarms.
    func consumeFault(kernel: String) -> Bool {
        faultLock.lock(); defer { faultLock.unlock() }
        launches += 1
        guard let target = faultTarget, target == "*" || target == kernel else { return false }
        faultCountdown -= 1
        if faultCountdown > 0 { return false }
        faultTarget = nil
        return true
    }
}
