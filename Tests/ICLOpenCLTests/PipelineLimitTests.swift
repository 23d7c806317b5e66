import XCTest
import ICLTestSupport
import ICLCore
@testable import ICLOpenCL

/// Every pipeline refuses, before anything is built or launched, a config whose local memory or work-group size the
/// device cannot take, with one sentence naming the limit; `auto` picks the fastest pipeline that fits. Checked
/// against a GPU-like description of the test device (the spec's minimum 32 KiB of local memory, 1024 work-items).
final class PipelineLimitTests: XCTestCase {
    override func setUpWithError() throws { try skipUnlessOpenCL() }

    /// The test device as a GPU with `localMemSize` bytes of local memory and work-groups of `maxWorkGroupSize`.
    func gpuLike(localMemSize: Int = 32 * 1024, maxWorkGroupSize: Int = 1024) -> CLDeviceInfo {
        let d = OpenCLTestDevice.context!.device
        return CLDeviceInfo(index: d.index, id: d.id, platformID: d.platformID, platformName: d.platformName,
                            name: "GPU-like", vendor: d.vendor, driverVersion: d.driverVersion,
                            deviceVersion: d.deviceVersion, kind: .gpu, computeUnits: 8,
                            maxWorkGroupSize: maxWorkGroupSize, localMemSize: localMemSize,
                            globalMemSize: d.globalMemSize, maxAllocSize: d.maxAllocSize, profilingSupported: true)
    }

    func shape(_ c: Config) -> ModelShape {
        ModelShape(dX: c.dX, dY: c.dY, length: c.lTrain, m: c.m, attendQuery: c.attendQuery)
    }

    func rule(_ requested: Pipeline?, _ variant: KernelVariant, _ c: Config, _ device: CLDeviceInfo) throws -> Pipeline {
        try PipelineRule.oneLayer(requested: requested, variant: variant, shape: shape(c), spec: .training(c, bank: PatternBank(config: c)),
                                  device: device)
    }

    func assertRefused(_ requested: Pipeline, _ variant: KernelVariant, _ c: Config, _ device: CLDeviceInfo,
                       naming needles: [String], line: UInt = #line) {
        XCTAssertThrowsError(try rule(requested, variant, c, device), line: line) { error in
            guard let e = error as? PipelineError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(e.reason, .tileLocalMemory, line: line)
            XCTAssertEqual(e.message.filter { $0 == "." }.count, 1, "one sentence: \(e.message)", line: line)
            for n in needles { XCTAssertTrue(e.message.contains(n), "'\(n)' in: \(e.message)", line: line) }
        }
    }

    /// m = 256: the CPU-variant fused tile needs (40 + 256)·5·32 = 47 360 bytes against 32 768; explicit requests are
    /// refused, `auto` and the GPU variant run.
    func testCPUVariantTilesAreRefusedWhereLocalMemoryIsShort() throws {
        var c = Config()
        c.m = 256
        let gpu = gpuLike()
        assertRefused(.fused, .cpu, c, gpu, naming: ["47360", "32768", "GPU-like", "fused"])
        XCTAssertEqual(try rule(.fused, .gpu, c, gpu), .fused)
        XCTAssertEqual(try rule(nil, .gpu, c, gpu), .pattern, "the fastest pipeline that fits")
        XCTAssertNotEqual(try rule(nil, .cpu, c, gpu), .fused, "auto never picks a pipeline the device refuses")
    }

    /// Prompts too long for one prompt's columns in local memory: both GPU-variant tiles refuse, `auto` runs unfused.
    func testGPUVariantTilesAreRefusedWhenAPromptDoesNotFit() throws {
        var c = Config()
        c.lTrain = 1000
        let gpu = gpuLike()
        assertRefused(.fused, .gpu, c, gpu, naming: ["1001 columns", "32768"])
        assertRefused(.pattern, .gpu, c, gpu, naming: ["1001 columns", "32768"])
        XCTAssertEqual(try rule(nil, .gpu, c, gpu), .unfused)
    }

    /// The GPU-variant group stays within the device's local memory and work-group size, and within a compiled
    /// kernel's smaller limit.
    func testTileGroupsFitTheDevice() throws {
        let c = Config()
        for (local, items) in [(32 * 1024, 1024), (16 * 1024, 256), (48 * 1024, 64)] {
            let device = gpuLike(localMemSize: local, maxWorkGroupSize: items)
            for width in [c.d, c.M1 + c.M2 + 1] {
                let g = try XCTUnwrap(TileGroup.largest(shape: shape(c), width: width, batch: 1024, device: device))
                XCTAssertLessThanOrEqual(g.items, items)
                XCTAssertLessThanOrEqual(TileGroup.localBytes(shape: shape(c), width: width, lanes: g.lanes, inFlight: g.inFlight), local)
                XCTAssertEqual(g.tile % g.inFlight, 0)
                let limited = try XCTUnwrap(TileGroup.largest(shape: shape(c), width: width, batch: 1024, device: device,
                                                              workGroupLimit: 48))
                XCTAssertLessThanOrEqual(limited.items, 48)
            }
        }
    }

    /// A compiled kernel that takes smaller work-groups than a pipeline launches is refused in one sentence.
    func testKernelsBelowTheirWorkGroupAreRefused() throws {
        let context = OpenCLTestDevice.context!
        let program = try ModelProgram(context: context, shape: shape(Config()), variant: .gpu)
        let limit = try context.groupLimit(of: program.attentionForward)
        XCTAssertNoThrow(try program.attentionForward.requireGroupSize(ModelProgram.groupSize, of: "x", in: context))
        XCTAssertThrowsError(try program.attentionForward.requireGroupSize(limit + 1, of: "the gpu variant", in: context)) {
            let e = $0 as? PipelineError
            XCTAssertEqual(e?.reason, .workGroupSize)
            XCTAssertTrue(e?.message.contains("at most \(limit)") ?? false, "\($0)")
        }
    }

    /// The GPT-2 engine's GPU-variant attention holds a head's slices and two T × T tables in local memory: at the
    /// defaults (head width 32) prompts of up to 39 tokens fit 32 KiB, 40 are refused in one sentence before anything
    /// is built.
    func testGPT2AttentionFitsUpTo39TokensIn32KiB() throws {
        let gpu = gpuLike()
        XCTAssertNoThrow(try GPT2Program.requireLocalMemory(shape: GPT2Shape(), device: gpu), "the defaults: 21 tokens")
        XCTAssertNoThrow(try GPT2Program.requireLocalMemory(shape: GPT2Shape(maxTokens: 39), device: gpu))
        XCTAssertThrowsError(try GPT2Program.requireLocalMemory(shape: GPT2Shape(maxTokens: 40), device: gpu)) { error in
            guard let e = error as? PipelineError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.reason, .localMemory)
            XCTAssertEqual(e.message.filter { $0 == "." }.count, 1, "one sentence: \(e.message)")
            for n in ["33280 bytes", "maxTokens = 40", "32768", "cpu variant"] { XCTAssertTrue(e.message.contains(n), "'\(n)' in: \(e.message)") }
        }
        // Static arrays count too: 640 bytes more and 39 tokens no longer fit.
        XCTAssertThrowsError(try GPT2Program.requireLocalMemory(shape: GPT2Shape(maxTokens: 39), device: gpu, staticBytes: 640))
    }

    /// Every other GPU-variant GPT-2 kernel's local memory is its static arrays, as compiled on the test device: the
    /// matmul's two 16 × 17 tiles and the reductions' 64 floats, far below any device's 32 KiB.
    func testGPT2StaticLocalMemoryIsSmall() throws {
        let program = try GPT2Program(context: OpenCLTestDevice.context!, shape: GPT2Shape(), variant: .gpu)
        let tile = 2 * GPT2Program.tile * (GPT2Program.tile + 1) * 4
        XCTAssertLessThanOrEqual(program.mmTiled!.localMemoryUsed, tile + 64, "gpt2_mm_wg: \(program.mmTiled!.localMemoryUsed)")
        XCTAssertGreaterThan(program.mmTiled!.localMemoryUsed, 0, "the driver reports the static tiles (the query works)")
        for k in [program.lnForward, program.lnBackward, program.lnGrads, program.head] {
            XCTAssertLessThanOrEqual(k.localMemoryUsed, GPT2Program.groupSize * 4 + 64, "\(k.name): \(k.localMemoryUsed)")
        }
    }
}
