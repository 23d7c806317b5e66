import XCTest
import ICLTestSupport
import ICLCore
import ICLOpenCL
import ICLKit

/// Every kernel, both variants, against the CPU reference at the paper's and awkward sizes (PoCL in CI).
final class CrossCheckTests: XCTestCase {
    /// The shared test device (the first CPU device); the class skips when there is none.
    static var context: CLContext { OpenCLTestDevice.context! }

    override func setUpWithError() throws {
        try skipUnlessOpenCL()
    }

    func check(_ variant: KernelVariant) throws {
        for c in CheckCase.standard {
            let report = try CrossCheck.run(context: Self.context, variant: variant, check: c)
            let failures = report.comparisons.filter { !$0.passed }.map(\.line)
            XCTAssertTrue(report.passed, "[\(variant)] \(c.name):\n" + failures.joined(separator: "\n"))
            XCTAssertEqual(report.comparisons.count, 22, "every kernel output is compared")
        }
    }

    func testCPUVariantMatchesReference() throws { try check(.cpu) }

    /// The fused pipelines over whole steps (in-kernel sampling, A/C algebra, tile partials, reduce, grads + SGD), in
    /// both kernel variants: a work-item per tile at every check size, and a work-group per tile at the paper's size and
    /// the quick check's awkward ones (every size of both runs in `icl check`; each size is a new build of the
    /// work-group kernel, which PoCL compiles slowly).
    func testFusedPipelinesMatchReference() throws {
        for variant in KernelVariant.allCases {
            for pipeline in [Pipeline.fused, .pattern] {
                for c in variant == .cpu ? CheckCase.standard : [CheckCase.standard[0]] + CheckCase.quick {
                    let report = try CrossCheck.runPipeline(context: Self.context, check: c, pipeline: pipeline, variant: variant)
                    XCTAssertEqual(report.pipeline?.variant, variant)
                    XCTAssertTrue(report.passed, "[\(variant) \(pipeline)] \(c.name):\n" + report.comparisons.filter { !$0.passed }.map(\.line).joined(separator: "\n"))
                }
            }
        }
    }
    func testGPUVariantMatchesReference() throws { try check(.gpu) }

    /// Every device path this device can run (avx512, avx2, portable; at least portable) passes the pattern
    /// pipeline's whole-step checks and 20-step agreement, whichever the device's default is, and each report names
    /// the path that ran. The vector paths read the same table values, so where a device runs two of them their
    /// training is bitwise the same.
    func testEveryDevicePathMatchesReference() throws {
        let paths = try DevicePath.supported(for: Self.context)
        XCTAssertEqual(paths.last, .portable)
        var config = Config()
        config.batch = 64
        config.xi = 0.3
        var weights: [DevicePath: [UInt32]] = [:]
        for path in paths {
            for c in CheckCase.standard {
                let report = try CrossCheck.runPipeline(context: Self.context, check: c, pipeline: .pattern, path: path)
                let paddedBasis = 8 * ((c.config.M1 + c.config.M2 + 1 + 7) / 8)
                XCTAssertEqual(report.pipeline?.path, DevicePath.forPattern(path, paddedBasis: paddedBasis), c.name)
                XCTAssertTrue(report.passed, "[\(path)] \(c.name):\n" + report.comparisons.filter { !$0.passed }.map(\.line).joined(separator: "\n"))
            }
            let pairs = try CrossCheck.trainingAgreement(context: Self.context, variant: .cpu, config: config, steps: 20,
                                                         pipeline: .pattern, path: path)
            XCTAssertEqual(pairs.count, 20)
            for (step, p) in pairs.enumerated() {
                let rel = abs(Double(p.device) - Double(p.reference)) / abs(Double(p.reference))
                XCTAssertLessThanOrEqual(rel, 1e-3, "[\(path)] step \(step): device \(p.device) vs reference \(p.reference)")
            }
            let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: PatternBank(config: config),
                                                                   context: Self.context, variant: .cpu, pipeline: .pattern,
                                                                   path: path)
            for s in 0..<10 { _ = try b.trainStep(step: s) }
            weights[path] = try b.readWeights().packed.map(\.bitPattern)
        }
        if let w512 = weights[.avx512], let w2 = weights[.avx2] {
            XCTAssertEqual(w512, w2, "the avx512 and avx2 paths read the same values and round alike")
        }
    }

    /// The host picks the device path: the avx512 table reads only where the device's compiler targets AVX-512 and
    /// the padded basis is at most 32; the program built names the path it runs, and ICL_PORTABLE_KERNELS=1 forces
    /// the portable one.
    func testHostChoosesTheDevicePath() throws {
        let features = try DeviceFeatures.of(Self.context)
        let best = try DevicePath.best(for: Self.context)
        XCTAssertEqual(best, features.contains(.avx512) ? .avx512 : features.isSuperset(of: [.avx2, .fma]) ? .avx2 : .portable)
        XCTAssertEqual(DevicePath.supported(by: [.avx512, .avx2, .fma]), [.avx512, .avx2, .portable])
        XCTAssertEqual(DevicePath.supported(by: [.avx2, .fma]), [.avx2, .portable])
        XCTAssertEqual(DevicePath.supported(by: [.avx2]), [.portable])
        XCTAssertEqual(DevicePath.supported(by: []), [.portable])
        XCTAssertEqual(DevicePath.forPattern(.avx512, paddedBasis: 32), .avx512)
        XCTAssertEqual(DevicePath.forPattern(.avx2, paddedBasis: 32), .avx2)
        XCTAssertEqual(DevicePath.forPattern(.avx2, paddedBasis: 40), .portable)
        XCTAssertEqual(DevicePath.forPattern(.avx512, paddedBasis: 40), .portable)
        XCTAssertEqual(DevicePath.forPattern(.portable, paddedBasis: 8), .portable)
        setenv("ICL_PORTABLE_KERNELS", "1", 1)
        XCTAssertEqual(try DevicePath.best(for: Self.context), .portable)
        unsetenv("ICL_PORTABLE_KERNELS")
        var config = Config()
        config.batch = 16
        let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: PatternBank(config: config),
                                                               context: Self.context, variant: .cpu, pipeline: .pattern)
        XCTAssertEqual(b.pipeline.description.path, best, "the default basis (31 vectors) fits the vector paths' tables")
        XCTAssertTrue(b.deviceDescription.hasSuffix("pattern pipeline, \(best.rawValue) path"), b.deviceDescription)
        func reads(_ tile: TileKernel, _ path: DevicePath) -> [String] {
            PatternProgram.sourceFiles(tile, path: path).filter { $0.hasPrefix("pattern_reads") || $0.hasPrefix("pattern_lookup") }
        }
        XCTAssertEqual(reads(.perItem(tile: 8), .portable), ["pattern_reads_portable.cl"])
        XCTAssertEqual(reads(.perItem(tile: 8), .avx2), ["pattern_lookup_avx2.cl", "pattern_reads_vector.cl"])
        XCTAssertEqual(reads(.perGroup(TileGroup(lanes: 32, inFlight: 2, tile: 8)), .avx2), [],
                       "the gpu variant's tile kernel reads no tables through a device path")
    }

    /// The comparison itself must be able to fail: a perturbed tensor is caught, with its index.
    func testComparisonCatchesAnError() {
        let ref: [Double] = [1, 2, 3, 4]
        let bad = TensorComparison(kernel: "k", tensor: "t", device: [1, 2, 3.01, 4], reference: ref,
                                   rtol: 1e-4, scaledAtol: 1e-5)
        XCTAssertFalse(bad.passed)
        XCTAssertEqual(bad.firstBad, 2)
        XCTAssertTrue(bad.line.contains("first bad index 2"))
        let nan = TensorComparison(kernel: "k", tensor: "t", device: [1, .nan, 3, 4], reference: ref,
                                   rtol: 1e-4, scaledAtol: 1e-5)
        XCTAssertEqual(nan.firstBad, 1)
        XCTAssertFalse(TensorComparison(kernel: "s", tensor: "p", exactDevice: [1, 2], reference: [1, 2.0000002]).passed)
    }

    /// A 20-step run on OpenCL and on the CPU reference from the same seed agree in loss to 1e-3 relative
    /// at every step. Larger ξ than the default so the loss moves well away from 1 within 20 steps.
    func testTwentyStepsAgreeWithReference() throws {
        var config = Config()
        config.batch = 64
        config.xi = 0.3
        for variant in KernelVariant.allCases {
            for pipeline in Pipeline.oneLayer {
                let pairs = try CrossCheck.trainingAgreement(context: Self.context, variant: variant, config: config, steps: 20,
                                                             pipeline: pipeline)
                XCTAssertEqual(pairs.count, 20)
                for (step, p) in pairs.enumerated() {
                    let rel = abs(Double(p.device) - Double(p.reference)) / abs(Double(p.reference))
                    XCTAssertLessThanOrEqual(rel, 1e-3, "[\(variant), \(pipeline)] step \(step): device \(p.device) vs reference \(p.reference)")
                }
                let losses = pairs.map { Double($0.reference) }
                XCTAssertGreaterThan(losses.max()! - losses.min()!, 0.01, "the loss must move, or the agreement says little")
            }
        }
    }

    /// Same seed, same device → bitwise-identical losses and weights.
    func testTrainingIsBitwiseDeterministic() throws {
        var config = Config()
        config.batch = 128
        let bank = PatternBank(config: config)
        func run(_ pipeline: Pipeline, _ variant: KernelVariant) throws -> ([Float], [Float]) {
            let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: variant, pipeline: pipeline)
            let losses = try (0..<15).map { try b.trainStep(step: $0).loss }
            return (losses, try b.readWeights().packed)
        }
        for variant in KernelVariant.allCases {
            for pipeline in Pipeline.oneLayer {
                let (l1, w1) = try run(pipeline, variant), (l2, w2) = try run(pipeline, variant)
                XCTAssertEqual(l1.map(\.bitPattern), l2.map(\.bitPattern), "\(variant) \(pipeline)")
                XCTAssertEqual(w1.map(\.bitPattern), w2.map(\.bitPattern), "\(variant) \(pipeline)")
            }
        }
    }

    /// The pipelined step loop (a step enqueued before the last one's stats are read) computes exactly what
    /// step-by-step training does: the same stats for every step, in order, and the same weights.
    func testPipelinedStepsEqualSingleSteps() throws {
        var config = Config()
        config.batch = 96
        let bank = PatternBank(config: config)
        for pipeline in Pipeline.oneLayer {
            let single = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: .cpu, pipeline: pipeline)
            let expected = try (0..<12).map { try single.trainStep(step: $0) }
            let piped = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: .cpu, pipeline: pipeline)
            var seen: [(Int, BatchStats)] = []
            try piped.trainSteps(0..<5) { seen.append(($0, $1)); return true }
            try piped.trainSteps(5..<12) { seen.append(($0, $1)); return true }
            XCTAssertEqual(seen.map(\.0), Array(0..<12), "\(pipeline)")
            XCTAssertEqual(seen.map(\.1), expected, "\(pipeline)")
            XCTAssertEqual(try piped.readWeights().packed.map(\.bitPattern), try single.readWeights().packed.map(\.bitPattern),
                           "\(pipeline)")
        }
    }

    /// Stopping the pipelined loop: no step starts after `after` says stop, the ones already enqueued (at most
    /// two groups of statsSlots) are still reported, and the weights are those after exactly the reported steps.
    func testPipelinedStepsStopAfterTheStepsInFlight() throws {
        var config = Config()
        config.batch = 64
        let bank = PatternBank(config: config)
        let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: .cpu, pipeline: .pattern)
        XCTAssertGreaterThan(b.pipeline.statsSlots, 1, "the pattern pipeline reads several steps' statistics at once")
        var reported: [Int] = []
        try b.trainSteps(0..<50) { step, _ in reported.append(step); return step < 3 }
        XCTAssertEqual(reported, Array(0..<reported.count), "contiguous from the first step")
        XCTAssertTrue((4...(2 * b.pipeline.statsSlots)).contains(reported.count), "stopped at step 3: \(reported)")
        let reference = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: .cpu, pipeline: .pattern)
        for s in 0..<reported.count { _ = try reference.trainStep(step: s) }
        XCTAssertEqual(try b.readWeights().packed.map(\.bitPattern), try reference.readWeights().packed.map(\.bitPattern))
        // An error thrown by `after` stops the loop and leaves nothing running: the backend is usable at once.
        struct Stop: Error {}
        XCTAssertThrowsError(try b.trainSteps(10..<20) { _, _ in throw Stop() }) { XCTAssertTrue($0 is Stop) }
        XCTAssertNoThrow(try b.trainStep(step: 20))
    }

    /// A launch failing in the middle of a group of steps: the steps enqueued before it are reported, the error
    /// comes out, and the weights are those after exactly the reported steps.
    func testPipelinedStepsReportWhatRanBeforeALaunchFails() throws {
        var config = Config()
        config.batch = 64
        let bank = PatternBank(config: config)
        setenv("ICL_INJECT_FAULT", "pattern_tile@6", 1)
        let context = try CLContext(device: Self.context.device)
        unsetenv("ICL_INJECT_FAULT")
        let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: context, variant: .cpu, pipeline: .pattern)
        var reported: [Int] = []
        XCTAssertThrowsError(try b.trainSteps(0..<20) { step, _ in reported.append(step); return true }) {
            XCTAssertTrue("\($0)".contains("injected fault"), "\($0)")
        }
        XCTAssertEqual(reported, [0, 1, 2, 3, 4], "the sixth step's launch failed")
        let reference = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: .cpu, pipeline: .pattern)
        for s in 0..<5 { _ = try reference.trainStep(step: s) }
        XCTAssertEqual(try b.readWeights().packed.map(\.bitPattern), try reference.readWeights().packed.map(\.bitPattern))
    }

    /// Device evaluation agrees with the CPU reference's on the same prompts.
    func testEvaluationAgreesWithReference() throws {
        var config = Config()
        config.xi = 0.3
        let bank = PatternBank(config: config)
        let w = CrossCheck.checkWeights(config), mask = [Float](repeating: 1, count: config.m)
        let ref = CPUReferenceBackend(config: config, bank: bank)
        try ref.load(weights: w, mask: mask)
        let runs = Pipeline.oneLayer.map { (KernelVariant.cpu, $0) } + [(KernelVariant.gpu, Pipeline.fused), (.gpu, .pattern)]
        for (variant, pipeline) in runs {
            let dev = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: variant, pipeline: pipeline)
            try dev.load(weights: w, mask: mask)
            for domain in [PromptSpec.Domain.inDomain, .outOfDomain] {
                let spec = PromptSpec.evaluation(config, bank: bank, domain: domain, length: 7)
                let a = try dev.evaluate(spec, prompts: 5000), b = try ref.evaluate(spec, prompts: 5000)
                XCTAssertEqual(a.prompts, 5000)
                XCTAssertLessThanOrEqual(abs(a.errors - b.errors), 2, "\(variant) \(pipeline) \(domain)")
                XCTAssertEqual(Double(a.loss), Double(b.loss), accuracy: 1e-4 * Double(b.loss))
            }
        }
    }

    /// A still step, in which no prompt back-propagates (the batch's hinge loss is exactly 0, as in most steps after
    /// convergence), leaves the weights bit for bit, and the steps after it compute exactly what a backend loaded
    /// afresh with those weights computes (the pattern pipeline's copied projections are the ones pattern_project
    /// makes). Both pipelines whose update skips such steps, both kernel variants.
    func testStillStepsChangeNothing() throws {
        var config = Config()
        config.batch = 128
        let bank = PatternBank(config: config)
        let ones = [Float](repeating: 1, count: config.m)
        for (variant, pipeline) in KernelVariant.allCases.flatMap({ v in [Pipeline.pattern, .fused].map { (v, $0) } }) {
            func backend() throws -> OpenCLBackend<OneLayerDeviceState> {
                try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context,
                                                                variant: variant, pipeline: pipeline)
            }
            let scout = try backend()
            var still: Int?
            for s in 0..<3000 where try scout.trainStep(step: s).loss == 0 { still = s; break }
            let s0 = try XCTUnwrap(still, "[\(variant), \(pipeline)] training never reached a step with zero loss")
            let run = try backend()
            for s in 0..<s0 { _ = try run.trainStep(step: s) }
            let before = try run.readWeights().packed.map(\.bitPattern)
            XCTAssertEqual(try run.trainStep(step: s0).loss, 0, "[\(variant), \(pipeline)]")
            XCTAssertEqual(try run.readWeights().packed.map(\.bitPattern), before, "[\(variant), \(pipeline)] a still step changed the weights")
            let fresh = try backend()
            try fresh.load(weights: try run.readWeights(), mask: ones)
            var live = 0
            for s in (s0 + 1)..<(s0 + 200) {
                let a = try run.trainStep(step: s), b = try fresh.trainStep(step: s)
                XCTAssertEqual(a, b, "[\(variant), \(pipeline)] step \(s)")
                if a.loss > 0 { live += 1 }
            }
            XCTAssertGreaterThan(live, 0, "[\(variant), \(pipeline)] the steps compared must include some that update the weights")
            XCTAssertEqual(try run.readWeights().packed.map(\.bitPattern), try fresh.readWeights().packed.map(\.bitPattern),
                           "[\(variant), \(pipeline)]")
        }
    }

    /// A pruned neuron's row of W_O stays exactly zero through training.
    func testMaskKeepsPrunedRowsZero() throws {
        var config = Config()
        config.batch = 64
        let bank = PatternBank(config: config)
        for (variant, pipeline) in [(KernelVariant.gpu, Pipeline.unfused), (.cpu, .fused), (.cpu, .pattern)] {
        let b = try OpenCLBackend<OneLayerDeviceState>.oneLayer(config: config, bank: bank, context: Self.context, variant: variant, pipeline: pipeline)
        var w = ModelWeights<Float>.initial(config)
        let mask: [Float] = (0..<config.m).map { $0 % 4 == 0 ? 0 : 1 }
        for n in 0..<config.m where mask[n] == 0 { for j in 0..<config.d { w.WO[n * config.d + j] = 0 } }
        try b.load(weights: w, mask: mask)
        for s in 0..<5 { _ = try b.trainStep(step: s) }
        let out = try b.readWeights()
        for n in 0..<config.m {
            let row = out.WO[(n * config.d)..<((n + 1) * config.d)]
            if mask[n] == 0 { XCTAssertTrue(row.allSatisfy { $0 == 0 }, "row \(n) must stay zero") }
            else { XCTAssertTrue(row.contains { $0 != 0 }) }
        }
        }
    }
}
