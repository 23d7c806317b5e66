// swift-tools-version:6.0
// The ICL training engine: the paper's one-layer transformer on OpenCL, cross-checked against a CPU reference.
import PackageDescription

let package = Package(
    name: "icl",
    products: [
        .library(name: "ICLKit", targets: ["ICLKit"]),
        .library(name: "ICLExperiments", targets: ["ICLExperiments"]),
        .executable(name: "icl", targets: ["icl"]),
    ],
    targets: [
        // The system OpenCL (ICD loader + headers), seen through a C module map.
        .systemLibrary(
            name: "COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers", "pocl-opencl-icd"])]
        ),
        // Layers 1-3, 5-7: config, data, CPU reference, backend protocol, checkpoints, pruning. No OpenCL.
        .target(name: "ICLCore"),
        // Layer 4 and its backend: checked OpenCL wrappers, embedded kernels, the OpenCL backend.
        .target(
            name: "ICLOpenCL",
            dependencies: ["ICLCore", "COpenCL"],
            plugins: ["EmbedKernels"]
        ),
        // Training, evaluation, device selection and cross-checks: what the CLI drives.
        .target(name: "ICLKit", dependencies: ["ICLCore", "ICLOpenCL"]),
        // The paper's experiments (`icl reproduce`): recipes, result tables, SVG figures. Drives ICLKit only.
        .target(name: "ICLExperiments", dependencies: ["ICLCore", "ICLKit"]),
        .executableTarget(name: "icl", dependencies: ["ICLKit", "ICLExperiments"]),
        // Build-time generator: Kernels/*.cl -> one Swift file of string constants.
        .executableTarget(name: "embed-kernels"),
        .plugin(
            name: "EmbedKernels",
            capability: .buildTool(),
            dependencies: ["embed-kernels"]
        ),
        // Helpers the test targets share: running the built `icl`, a seeded generator, the OpenCL test device
        // (or why there is none, so OpenCL tests skip instead of trapping).
        .target(name: "ICLTestSupport", dependencies: ["ICLOpenCL"], path: "Tests/ICLTestSupport"),
        .testTarget(name: "ICLCoreTests", dependencies: ["ICLCore", "ICLTestSupport"]),
        .testTarget(name: "ICLOpenCLTests", dependencies: ["ICLCore", "ICLOpenCL", "ICLKit", "ICLTestSupport"]),
        .testTarget(name: "ICLKitTests", dependencies: ["ICLKit", "ICLExperiments", "icl", "ICLTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
