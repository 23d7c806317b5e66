import Foundation
import XCTest
import ICLTestSupport
@testable import ICLOpenCL

/// The checked OpenCL wrappers and the embedded kernels, on whatever device the machine has (PoCL in CI).
final class CLWrapperTests: XCTestCase {
    private var cacheDir: URL!

    override func setUpWithError() throws {
        // Keep the on-disk program cache of these tests out of ~/.cache.
        cacheDir = FileManager.default.temporaryDirectory.appendingPathComponent("icl-cltests-\(UUID().uuidString)")
        setenv("ICL_CACHE_DIR", cacheDir.path, 1)
        // Last, so that tearDownWithError (which runs after a skip too) finds cacheDir set.
        try skipUnlessOpenCL()
    }

    override func tearDownWithError() throws {
        unsetenv("ICL_CACHE_DIR")
        try? FileManager.default.removeItem(at: cacheDir)
    }

    private func makeContext() throws -> CLContext {
        try CLContext(device: try XCTUnwrap(CLDevices.all().first))
    }

    /// A probe program whose source no other test (or earlier run) has built.
    private func freshProbeSource() throws -> String {
        try KernelSource.text("probe.cl") + "\n// \(UUID().uuidString)\n"
    }

    func testDevicesAreFound() throws {
        let devices = try CLDevices.all()
        XCTAssertGreaterThanOrEqual(devices.count, 1)
        for (i, device) in devices.enumerated() {
            XCTAssertEqual(device.index, i)
            XCTAssertFalse(device.name.isEmpty)
            XCTAssertGreaterThan(device.maxAllocSize, 0)
            XCTAssertGreaterThan(device.computeUnits, 0)
            XCTAssertTrue(device.summary.hasPrefix("[\(i)] \(device.name) ("), device.summary)
        }
    }

    func testProbeKernelCopiesABuffer() throws {
        let context = try makeContext()
        let program = try context.program(source: KernelSource.text("probe.cl"), options: "")
        let kernel = try program.kernel("icl_probe_copy")
        let input = (0..<1000).map { Float($0) * 0.5 - 3 }
        let a = try context.buffer(input, label: "a")
        let b = try context.buffer(Float.self, count: input.count, label: "b")
        try b.fill(-1)
        try kernel.set(args: [a, b])
        let event = try kernel.launch(global: [input.count], local: nil, timed: true)
        try context.finish()
        XCTAssertEqual(try b.read(), input)
        XCTAssertEqual(try b.read(count: 3), Array(input.prefix(3)))
        if context.device.profilingSupported {
            _ = try XCTUnwrap(event).elapsedNanoseconds
        }
        XCTAssertNil(try kernel.launch(global: [input.count], local: nil))
    }

    /// A non-blocking read returns what the buffer held when it was enqueued, even if a later command overwrites
    /// the buffer; a read dropped unwaited is safe; a read past the end is refused with the sizes named.
    func testReadLaterSeesTheBufferAsOfItsTurnInTheQueue() throws {
        let context = try makeContext()
        let b = try context.buffer([Float](repeating: 0, count: 8), label: "stats")
        try b.fill(3)
        let first = try b.readLater(count: 2)
        try b.fill(5)
        let dropped = try b.readLater(count: 8)
        _ = dropped
        XCTAssertEqual(try first.values(), [3, 3])
        XCTAssertEqual(try b.readLater(count: 8).values(), [Float](repeating: 5, count: 8))
        XCTAssertThrowsError(try b.readLater(count: 9)) {
            XCTAssertTrue("\($0)".contains("holds 8 elements; cannot read 9"), "\($0)")
        }
    }

    /// Re-setting an argument to the value it holds skips the driver call; any change still reaches the kernel
    /// (a buffer swapped in and back, between launches).
    func testKernelArgumentsFollowEveryChange() throws {
        let context = try makeContext()
        let kernel = try context.program(source: KernelSource.text("probe.cl"), options: "").kernel("icl_probe_copy")
        let a = try context.buffer([Float]([0, 1, 2, 3]), label: "a")
        let b = try context.buffer([Float]([10, 11, 12, 13]), label: "b")
        let out1 = try context.buffer(Float.self, count: 4, label: "out1")
        let out2 = try context.buffer(Float.self, count: 4, label: "out2")
        let fromA: [Float] = [0, 1, 2, 3], fromB: [Float] = [10, 11, 12, 13]
        let launches: [(CLBuffer<Float>, CLBuffer<Float>, [Float])] = [
            (a, out1, fromA), (b, out1, fromB), (b, out2, fromB), (a, out2, fromA), (a, out2, fromA)]
        for (src, dst, expected) in launches {
            try dst.fill(-1)
            try kernel.set(args: [src, dst])
            try kernel.launch(global: [4], local: nil)
            XCTAssertEqual(try dst.read(), expected)
        }
    }

    func testLaunchPadsGlobalSizeToLocalSize() throws {
        let context = try makeContext()
        let kernel = try context.program(source: KernelSource.text("probe.cl"), options: "").kernel("icl_probe_copy")
        // 13 work-items in groups of 8 launch 16: both buffers are sized for the padded range.
        let a = try context.buffer((0..<16).map(Float.init), label: "a")
        let b = try context.buffer(Float.self, count: 16, label: "b")
        try b.fill(0)
        try kernel.set(0, a)
        try kernel.set(1, b)
        try kernel.launch(global: [13], local: [8])
        XCTAssertEqual(try b.read(), (0..<16).map(Float.init))
    }

    func testWrongBufferSizesThrowInsteadOfTrapping() throws {
        let context = try makeContext()
        let b = try context.buffer(Float.self, count: 4, label: "small")
        XCTAssertThrowsError(try b.write([1, 2, 3])) { XCTAssertTrue("\($0)".contains("small"), "\($0)") }
        XCTAssertThrowsError(try b.write([1, 2], at: 3))
        XCTAssertThrowsError(try b.read(count: 5))
        try b.write([9], at: 2)
        XCTAssertEqual(try b.read(count: 4)[2], 9)
        XCTAssertEqual(try context.buffer(Float.self, count: 0, label: "empty").read(), [])
    }

    func testSyntaxErrorThrowsBuildLog() throws {
        let context = try makeContext()
        let source = "__kernel void broken(__global float* x) { x[0] = ; }"
        XCTAssertThrowsError(try context.program(source: source, options: "")) { error in
            guard let error = error as? CLError else { return XCTFail("not a CLError: \(error)") }
            XCTAssertEqual(error.call, "clBuildProgram")
            XCTAssertEqual(error.statusName, "CL_BUILD_PROGRAM_FAILURE")
            XCTAssertTrue(error.detail.lowercased().contains("error"), error.detail)
            XCTAssertTrue(error.description.hasPrefix("clBuildProgram failed with CL_BUILD_PROGRAM_FAILURE (-11): "))
        }
    }

    func testMissingKernelNameIsNamed() throws {
        let context = try makeContext()
        let program = try context.program(source: KernelSource.text("probe.cl"), options: "")
        XCTAssertThrowsError(try program.kernel("no_such_kernel")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no_such_kernel") && text.contains("icl_probe_copy"), text)
        }
    }

    func testOversizedBufferNamesBytesAndLimit() throws {
        let context = try makeContext()
        let limit = context.device.maxAllocSize
        let count = limit / MemoryLayout<Float>.stride + 1
        let bytes = count * MemoryLayout<Float>.stride
        XCTAssertThrowsError(try context.buffer(Float.self, count: count, label: "huge")) { error in
            guard let error = error as? CLError else { return XCTFail("not a CLError: \(error)") }
            XCTAssertEqual(error.call, "clCreateBuffer")
            XCTAssertEqual(error.statusName, "CL_INVALID_BUFFER_SIZE")
            XCTAssertTrue(error.description.contains("\(bytes)"), error.description)
            XCTAssertTrue(error.description.contains("\(limit)"), error.description)
            XCTAssertTrue(error.description.contains("huge"), error.description)
        }
    }

    func testProgramCacheInMemory() throws {
        let context = try makeContext()
        let source = try freshProbeSource()
        let first = try context.program(source: source, options: "-DX=1")
        XCTAssertTrue(try context.program(source: source, options: "-DX=1") === first)
        XCTAssertFalse(try context.program(source: source, options: "-DX=2") === first)
        XCTAssertFalse(try context.program(source: source + " ", options: "-DX=1") === first)
    }

    func testProgramCacheOnDiskSurvivesContextsAndIgnoresCorruptFiles() throws {
        let source = try freshProbeSource()
        let built = try makeContext().program(source: source, options: "")
        XCTAssertFalse(built.fromDiskCache)
        let files = try FileManager.default.contentsOfDirectory(
            at: cacheDir.appendingPathComponent("programs"), includingPropertiesForKeys: nil).filter { $0.pathExtension == "bin" }
        XCTAssertEqual(files.count, 1)

        let loaded = try makeContext().program(source: source, options: "")
        XCTAssertTrue(loaded.fromDiskCache)
        try runProbe(loaded)

        // A damaged binary (right header, garbage body) is ignored: the program is rebuilt and the file rewritten.
        let original = try Data(contentsOf: files[0])
        let header = original.prefix(while: { $0 != UInt8(ascii: "\n") }).count + 1
        let headerEnd = original[header...].firstIndex(of: UInt8(ascii: "\n"))! + 1
        try (original.prefix(headerEnd) + Data(repeating: 0x5A, count: 64)).write(to: files[0])
        let rebuilt = try makeContext().program(source: source, options: "")
        XCTAssertFalse(rebuilt.fromDiskCache)
        try runProbe(rebuilt)
        XCTAssertNotEqual(try Data(contentsOf: files[0]).suffix(64), Data(repeating: 0x5A, count: 64))
        XCTAssertTrue(try makeContext().program(source: source, options: "").fromDiskCache)
    }

    private func runProbe(_ program: CLProgram) throws {
        let kernel = try program.kernel("icl_probe_copy")
        // The program's own context: buffers and kernel must share it.
        let a = try CLBuffer<Float>(handle: program.handle, count: 4, label: "a")
        let b = try CLBuffer<Float>(handle: program.handle, count: 4, label: "b")
        try a.write([1, 2, 3, 4])
        try kernel.set(args: [a, b])
        try kernel.launch(global: [4], local: nil)
        XCTAssertEqual(try b.read(), [1, 2, 3, 4])
    }

    func testInjectedFaultFailsNextLaunchOnly() throws {
        let context = try makeContext()
        let kernel = try context.program(source: KernelSource.text("probe.cl"), options: "").kernel("icl_probe_copy")
        let a = try context.buffer([Float](repeating: 1, count: 8), label: "a")
        let b = try context.buffer(Float.self, count: 8, label: "b")
        try kernel.set(args: [a, b])

        context.injectFault = "other_kernel"
        XCTAssertNoThrow(try kernel.launch(global: [8], local: nil))
        context.injectFault = "icl_probe_copy"
        XCTAssertThrowsError(try kernel.launch(global: [8], local: nil)) { error in
            guard let error = error as? CLError else { return XCTFail("not a CLError: \(error)") }
            XCTAssertEqual(error.call, "clEnqueueNDRangeKernel")
            XCTAssertEqual(error.status, -5)
            XCTAssertEqual(error.detail, "injected fault")
        }
        XCTAssertNil(context.injectFault)
        XCTAssertNoThrow(try kernel.launch(global: [8], local: nil))
        context.injectFault = "*"
        XCTAssertThrowsError(try kernel.launch(global: [8], local: nil))
        XCTAssertNoThrow(try kernel.launch(global: [8], local: nil))
        XCTAssertEqual(try b.read(), [Float](repeating: 1, count: 8))
    }

    func testInjectedFaultFromEnvironmentOnNthLaunch() throws {
        setenv("ICL_INJECT_FAULT", "icl_probe_copy@2", 1)
        defer { unsetenv("ICL_INJECT_FAULT") }
        let context = try makeContext()
        let kernel = try context.program(source: KernelSource.text("probe.cl"), options: "").kernel("icl_probe_copy")
        try kernel.set(args: [try context.buffer([Float](repeating: 1, count: 8), label: "a"),
                              try context.buffer(Float.self, count: 8, label: "b")])
        XCTAssertNoThrow(try kernel.launch(global: [8], local: nil))
        XCTAssertThrowsError(try kernel.launch(global: [8], local: nil))
        XCTAssertNoThrow(try kernel.launch(global: [8], local: nil))
    }

    // An unsupported argument type is a compile error (CLKernelArgument); an Int that no int holds is refused by name.
    func testIntArgumentOutOfRangeIsNamed() throws {
        let context = try makeContext()
        let kernel = try context.program(source: KernelSource.text("probe.cl"), options: "").kernel("icl_probe_copy")
        XCTAssertThrowsError(try kernel.set(args: [Int(Int32.max) + 1])) {
            XCTAssertTrue("\($0)".contains("icl_probe_copy' argument 0: 2147483648 does not fit an int"), "\($0)")
        }
    }

    func testStatusNames() {
        XCTAssertEqual(CLError(call: "x", status: -5, detail: "").statusName, "CL_OUT_OF_RESOURCES")
        XCTAssertEqual(CLError(call: "x", status: -11, detail: "").statusName, "CL_BUILD_PROGRAM_FAILURE")
        XCTAssertEqual(CLError(call: "x", status: -1001, detail: "").statusName, "CL_PLATFORM_NOT_FOUND_KHR")
        XCTAssertEqual(CLError(call: "x", status: -12345, detail: "").statusName, "CL_UNKNOWN_ERROR")
        XCTAssertEqual(CLError(call: "clFinish", status: -36, detail: "").description,
                       "clFinish failed with CL_INVALID_COMMAND_QUEUE (-36).")
    }

    func testKernelSourceEmbeddedAndOverride() throws {
        XCTAssertTrue(KernelSource.embeddedNames.contains("probe.cl"))
        XCTAssertTrue(try KernelSource.text("probe.cl").contains("icl_probe_copy"))
        XCTAssertThrowsError(try KernelSource.text("missing.cl")) { XCTAssertTrue("\($0)".contains("missing.cl")) }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("icl-kdir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "// override\n".write(to: dir.appendingPathComponent("probe.cl"), atomically: true, encoding: .utf8)
        setenv("ICL_KERNEL_DIR", dir.path, 1)
        defer { unsetenv("ICL_KERNEL_DIR") }
        XCTAssertEqual(try KernelSource.text("probe.cl"), "// override\n")
        XCTAssertThrowsError(try KernelSource.text("other.cl")) { XCTAssertTrue("\($0)".contains("ICL_KERNEL_DIR"), "\($0)") }
    }

    func testEmbeddedTextMatchesTheFileExactly() throws {
        let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernels")
        let onDisk = try String(contentsOf: kernels.appendingPathComponent("probe.cl"), encoding: .utf8)
        XCTAssertEqual(try KernelSource.text("probe.cl"), onDisk)
    }
}
