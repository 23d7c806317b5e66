// swift-tools-version:6.0
// ICLKit used as a library: train a small one-layer model, evaluate it, save a checkpoint (see main.swift).
import PackageDescription

let package = Package(
    name: "TrainAndEvaluate",
    dependencies: [
        // The icl package, two folders up; elsewhere: .package(url: "<the repository's URL>", branch: "main").
        .package(name: "icl", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "TrainAndEvaluate",
            dependencies: [.product(name: "ICLKit", package: "icl")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
