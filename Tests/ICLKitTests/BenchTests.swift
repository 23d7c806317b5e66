import XCTest
@testable import ICLKit
import ICLCore
import ICLOpenCL
import ICLTestSupport

/// `icl bench`'s launch figures: the launches each pipeline's training step really enqueues (counted by the context,
/// not taken from a list), and the empty kernel's launch latency. No timing thresholds: only that a latency was measured.
final class BenchTests: XCTestCase {
    override func setUpWithError() throws {
        try skipUnlessOpenCL()
    }

    var device: DeviceContext { DeviceContext(OpenCLTestDevice.context!) }

    /// The GPT-2-style model at the smallest shape the tests train (2 layers).
    static var gpt2: Config { GPT2TrainerTests.config(steps: 10) }

    /// Launches per training step, as `Bench.train` counts them over its timed steps (one repeat, no minimum time).
    func launchesPerStep(_ config: Config, _ variant: VariantChoice, _ pipeline: Pipeline, batch: Int = 64) throws -> Double {
        var bench = Bench(device: device, config: config, variant: variant)
        bench.repeats = 1
        bench.minSeconds = 0
        return try XCTUnwrap(try bench.train(batch: batch, pipeline: pipeline).launchesPerStep)
    }

    /// The one-layer pipelines launch what their documentation says, at any batch: pattern 4 (tables, tiles, reduce,
    /// gradients + SGD; its one-time projection of the loaded weights falls in the warm-up, which is not counted), fused
    /// 4 (precompute, tiles, reduce, gradients + SGD), unfused 9 (one kernel per op), in either kernel variant.
    func testOneLayerLaunchesPerStep() throws {
        let c = Config()
        for variant in [VariantChoice.cpu, .gpu] {
            for (pipeline, launches) in [(Pipeline.pattern, 4.0), (.fused, 4), (.unfused, 9)] {
                guard variant == .cpu || Bench(device: device, config: c, variant: variant).runnablePipelines.contains(pipeline)
                else { continue }
                XCTAssertEqual(try launchesPerStep(c, variant, pipeline), launches, "\(variant) \(pipeline)")
            }
        }
        XCTAssertEqual(try launchesPerStep(c, .cpu, .pattern, batch: 1000), 4)
    }

    /// The GPT-2-style model's step: 7 launches plus 21 per layer in the CPU variant (49 at 2 layers, 70 at 3), 7 plus
    /// 20 per layer in the GPU variant (47, 67), whose attention backward is one launch where the CPU variant's is two.
    func testGPT2LaunchesPerStep() throws {
        XCTAssertEqual(try launchesPerStep(Self.gpt2, .cpu, .gpt2, batch: 4), 49)
        XCTAssertEqual(try launchesPerStep(Self.gpt2, .gpu, .gpt2, batch: 4), 47)
        var c = Self.gpt2
        c.layers = 3
        XCTAssertEqual(try launchesPerStep(c, .cpu, .gpt2, batch: 4), 70)
        XCTAssertEqual(try launchesPerStep(c, .gpu, .gpt2, batch: 4), 67)
    }

    /// The empty kernel's launch latency is measured: positive and finite, from the host clock, from device events
    /// (the test device profiles) and back to back.
    func testLaunchLatencyIsMeasured() throws {
        let context = OpenCLTestDevice.context!
        let program = try ProgramBuild(files: ["ceilings.cl"], defines: ["ICL_PEAK_ITERS": Ceilings.peakIterations]).build(context)
        let latency = try Ceilings.launchLatency(context: context, program: program)
        for (what, us) in [("host", latency.hostUs), ("back to back", latency.issueUs)] {
            XCTAssertTrue(us.isFinite && us > 0, "\(what): \(us) µs")
        }
        if context.device.profilingSupported {
            let event = try XCTUnwrap(latency.eventUs)
            XCTAssertTrue(event.isFinite && event > 0, "events: \(event) µs")
        }
    }
}
