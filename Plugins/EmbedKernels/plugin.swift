// Build-tool plugin: embeds every <package>/Kernels/*.cl into the target as `EmbeddedKernels.sources`,
// by running the `embed-kernels` executable (the same one a CMake build runs).
// Editing a .cl file reruns the command. SwiftPM only re-plans (and so re-lists Kernels/) when a target's file list
// or the manifest changes: after adding or removing a .cl file, `touch Package.swift` (or add a Swift file).
import Foundation
import PackagePlugin

@main struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let kernelsDir = context.package.directoryURL.appendingPathComponent("Kernels", isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelsDir.path)) ?? []
        let inputs = names.filter { $0.hasSuffix(".cl") }.sorted().map { kernelsDir.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedKernels.swift")
        let tool = try context.tool(named: "embed-kernels")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) OpenCL kernel file(s) into \(target.name)",
                executable: tool.url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
