import COpenCL

/// A command's completion event, returned by timed launches; released in deinit.
public final class CLEvent {
    let event: cl_event

    init(_ event: cl_event) {
        self.event = event
    }

    deinit {
        clReleaseEvent(event)
    }

    /// Blocks until the command has finished.
    public func wait() throws {
        var event: cl_event? = self.event
        try clCheck(clWaitForEvents(1, &event), "clWaitForEvents")
    }

    /// Device time between CL_PROFILING_COMMAND_START and _END, in nanoseconds. Waits for the command first.
    public var elapsedNanoseconds: UInt64 {
        get throws {
            try wait()
            let start = try profilingInfo(CL_PROFILING_COMMAND_START)
            let end = try profilingInfo(CL_PROFILING_COMMAND_END)
            return end >= start ? end - start : 0
        }
    }

    private func profilingInfo(_ param: Int32) throws -> UInt64 {
        var value: cl_ulong = 0
        try clCheck(clGetEventProfilingInfo(event, cl_profiling_info(param), MemoryLayout<cl_ulong>.size, &value, nil),
                    "clGetEventProfilingInfo", detail: "was the queue created with profiling? (CLDeviceInfo.profilingSupported)")
        return value
    }
}
