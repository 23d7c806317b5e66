import Foundation
import ICLCore

/// `metrics.jsonl`: one JSON object per line, appended with a single write each so a reader (or a
/// crash) never sees half a line.
public final class MetricsLog {
    let handle: FileHandle
    /// The log file's path.
    public let path: String

    /// Opens `path` for appending, creating it (or emptying it when `truncate`) first; throws a RunError if it cannot.
    public init(path: String, truncate: Bool) throws {
        self.path = path
        let fm = FileManager.default
        if truncate || !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil) else {
                throw RunError("cannot create '\(path)'; check that the output folder is writable.")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw RunError("cannot open '\(path)' for writing; check that the output folder is writable.")
        }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Appends one record; keys are written sorted.
    public func append(_ record: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        handle.write(data + Data("\n".utf8))
    }

    /// Appends the training loop's loss line, the record {"loss", "step", "train_error", "train_s", "wall_s"} (keys
    /// sorted, as `append` writes them), formatted directly: JSONSerialization took about 60 µs a line, host time
    /// taken from the kernels on a CPU device. Each number is written as Swift's shortest round-trip form; the values
    /// must be finite (the trainer stops on a non-finite loss before logging it).
    public func appendLoss(step: Int, loss: Double, trainError: Double, trainSeconds: Double, wallSeconds: Double) {
        precondition([loss, trainError, trainSeconds, wallSeconds].allSatisfy(\.isFinite), "a loss line needs finite numbers")
        let line = "{\"loss\":\(loss),\"step\":\(step),\"train_error\":\(trainError),\"train_s\":\(trainSeconds),\"wall_s\":\(wallSeconds)}\n"
        handle.write(Data(line.utf8))
    }

    /// Drops lines whose step is beyond `step` (used on resume, so the log matches the checkpoint).
    public static func truncate(path: String, afterStep step: Int) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = obj["step"] as? Int else { return false }
            return s <= step
        }
        let body = kept.isEmpty ? "" : kept.joined(separator: "\n") + "\n"
        try? AtomicFile.write(Data(body.utf8), to: path)
    }
}

/// Whole-file writes through ICLCore's `writeFileAtomically` (temporary file, fsync, rename): readers see the
/// old file or the new one. Failures become a RunError (exit code 1).
public enum AtomicFile {
    /// Writes `data` to `path` atomically; a failure throws a RunError.
    public static func write(_ data: Data, to path: String) throws {
        do {
            try writeFileAtomically([UInt8](data), to: path)
        } catch let e as CheckpointError {
            throw RunError(e.message)
        }
    }
}
