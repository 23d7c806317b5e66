import Foundation
import XCTest

/// The bench scripts' refusals of bad input: one sentence on stderr and exit status 2, before any build or run.
final class BenchScriptTests: XCTestCase {
    /// The repository's root (this file is Tests/ICLKitTests/BenchScriptTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func bash(_ script: String, _ args: [String] = [], env: [String: String]) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [Self.root + "/" + script] + args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func assertRefused(_ script: String, _ args: [String] = [], env: [String: String], saying text: String,
                       line: UInt = #line) throws {
        let (status, stderr) = try bash(script, args, env: env)
        XCTAssertEqual(status, 2, stderr, line: line)
        XCTAssertTrue(stderr.contains(text), stderr, line: line)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, "one sentence: \(stderr)", line: line)
    }

    func testCPUBarsRefusesBadInput() throws {
        let script = "bench/cpu_bars.sh"
        try assertRefused(script, env: ["ICL": "/nonexistent/icl"], saying: "cpu_bars: no icl at /nonexistent/icl")
        try assertRefused(script, env: ["ICL": "/bin/true", "QS_ROUNDS": "0"],
                          saying: "cpu_bars: QS_ROUNDS must be a positive integer, not '0'.")
        try assertRefused(script, env: ["ICL": "/bin/true", "REF": "no-such-commit"],
                          saying: "cpu_bars: REF 'no-such-commit' is not a commit of this repository")
        try assertRefused(script, env: ["ICL": "/bin/true", "REF": "HEAD", "PYTHON": "/bin/false"],
                          saying: "cpu_bars: /bin/false cannot import jax")
    }

    func testTraceABNeedsABuild() throws {
        try assertRefused("bench/trace_ab.sh", ["2", "100"], env: [:], saying: "usage: bash bench/trace_ab.sh ROUNDS STEPS ICL_A")
    }
}
