import Foundation
import XCTest

/// What one run of the `icl` binary did: its exit status and everything it printed.
public struct CLIResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs the built `icl` binary: $ICL_BINARY, else the `icl` beside the test executable.
public enum CLI {
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["ICL_BINARY"] { return path }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent == "MacOS" || dir.lastPathComponent == "Contents" {
            dir = dir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        }
        return dir.appendingPathComponent("icl").path
    }

    @discardableResult
    public static func run(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath,
                    line: UInt = #line) throws -> CLIResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["ICL_DEVICE"] = nil
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        // Output goes to files, so a chatty child never blocks on a full pipe.
        let base = NSTemporaryDirectory() + "icl-cli-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        p.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        p.standardError = FileHandle(forWritingAtPath: base + ".err")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let outData = FileManager.default.contents(atPath: base + ".out") ?? Data()
        let errData = FileManager.default.contents(atPath: base + ".err") ?? Data()
        return CLIResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh temporary folder.
    public static func tempDir(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "icl-test-\(safe)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

extension XCTestCase {
    /// Asserts a clean failure: the exit code, one line on stderr (no trap, no backtrace) containing `needles`.
    public func assertCleanFailure(_ r: CLIResult, status: Int32, contains needles: [String],
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, "stderr: \(r.stderr)", file: file, line: line)
        let ours = r.stderr.split(separator: "\n").filter { $0.hasPrefix("icl: ") }
        XCTAssertEqual(ours.count, 1, "exactly one error line from icl; stderr: \(r.stderr)", file: file, line: line)
        for n in needles {
            XCTAssertTrue(r.stderr.contains(n), "stderr should mention '\(n)': \(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), file: file, line: line)
    }
}
