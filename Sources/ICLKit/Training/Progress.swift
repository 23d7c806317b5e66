import Foundation

/// Training progress on stderr: a redrawn bar with ETA on a terminal, plain lines otherwise.
public final class Progress {
    let total: Int
    let start: Int
    let isTerminal: Bool
    let began = Date()
    var lastDraw = Date.distantPast
    var lastPlainStep = -1
    /// When false, `update` draws nothing (`line` still prints).
    public var enabled = true

    /// Progress from step `start` to `total`; a redrawn bar when stderr is a terminal, else about ten plain lines.
    public init(start: Int, total: Int, isTerminal: Bool = isatty(STDERR_FILENO) != 0) {
        self.start = start
        self.total = total
        self.isTerminal = isTerminal
    }

    /// Reports the state after `step`: the bar at most every 0.1 s, or a plain line every tenth of the run, with `note` before the ETA.
    public func update(step: Int, loss: Float, note: String = "") {
        guard enabled else { return }
        let done = step - start, todo = total - start
        // Called every step: decide whether to draw before formatting anything.
        if isTerminal {
            guard Date().timeIntervalSince(lastDraw) > 0.1 || step == total else { return }
            lastDraw = Date()
        } else {
            // About ten plain lines per run.
            let every = max(1, todo / 10)
            guard (done % every == 0 || step == total), step != lastPlainStep else { return }
            lastPlainStep = step
        }
        let elapsed = Date().timeIntervalSince(began)
        let eta = done > 0 ? elapsed / Double(done) * Double(todo - done) : 0
        let text = String(format: "step %d/%d  loss %.4f  %@ ETA %@", step, total, loss, note, Progress.clock(eta))
        if isTerminal {
            let width = 24, filled = todo > 0 ? width * done / todo : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(text)\u{1B}[K".utf8))
            if step == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Prints a line without breaking the bar.
    public func line(_ text: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }

    /// "3m20s", or "1h05m" past an hour.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
