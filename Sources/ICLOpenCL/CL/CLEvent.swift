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

/// A command's four profiling timestamps, in nanoseconds of the device's clock.
public struct CLProfilingTimestamps: Sendable {
    public var queued: UInt64, submitted: UInt64, started: UInt64, ended: UInt64
    /// From CL_PROFILING_COMMAND_QUEUED to _END: the launch's whole latency as the device saw it.
    public var queuedToEnd: UInt64 { ended >= queued ? ended - queued : 0 }
    /// From CL_PROFILING_COMMAND_START to _END: the command's execution.
    public var startToEnd: UInt64 { ended >= started ? ended - started : 0 }
}

extension CLEvent {
    /// The command's profiling timestamps (QUEUED, SUBMIT, START, END), after waiting for it. Nil when the queue does
    /// not profile, or when the answers are not a clock (0 for QUEUED or START, or START after END): Mesa rusticl 22.3 answers
    /// 0, 1, 2, 3 for every command, which would read as 1 ns kernels.
    public var profilingTimestamps: CLProfilingTimestamps? {
        get throws {
            try wait()
            var t = [cl_ulong](repeating: 0, count: 4)
            for (i, param) in [CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT, CL_PROFILING_COMMAND_START,
                               CL_PROFILING_COMMAND_END].enumerated() {
                guard clGetEventProfilingInfo(event, cl_profiling_info(param), MemoryLayout<cl_ulong>.size, &t[i], nil)
                        == CL_SUCCESS else { return nil }
            }
            guard t[0] > 0, t[2] > 0, t[2] <= t[3] else { return nil }
            return CLProfilingTimestamps(queued: t[0], submitted: t[1], started: t[2], ended: t[3])
        }
    }
}
