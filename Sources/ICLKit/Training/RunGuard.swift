import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on an output folder (`DIR/.icl.lock`, flock): a second process pointed at the same
/// folder is refused instead of interleaving checkpoints. The kernel drops the lock when the process dies,
/// even by SIGKILL.
public final class OutputLock {
    let fd: Int32
    /// The lock file: `folder/.icl.lock`.
    public let path: String

    /// Takes the lock on `folder`; throws a RunError if the lock file cannot be created or another process holds it.
    public init(folder: String) throws {
        path = folder + "/.icl.lock"
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunError("cannot create the lock file '\(path)' (errno \(errno)); check that the output folder is writable.")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw RunError("another icl process is already using '\(folder)' (it holds \(path)); wait for it to finish.", remedy: .otherOut)
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Removes temporary files a killed process may have left (`.NAME.tmp-PID`); final names are never partial.
    public static func removeStaleTemporaries(in folder: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }
}

/// SIGINT / SIGTERM as a request to stop: the trainer checkpoints at the end of the current step and exits.
public enum StopSignal {
    /// The signal number received, or 0.
    nonisolated(unsafe) public static var received: Int32 = 0

    /// Installs the handlers (the CLI does this; library users may not want it).
    public static func install() {
        signal(SIGINT) { StopSignal.received = $0 }
        signal(SIGTERM) { StopSignal.received = $0 }
    }
}

/// Training stopped on request after saving a checkpoint (the remedy: resume).
public struct Interrupted: Error, CustomStringConvertible {
    /// The signal that stopped training (SIGINT, SIGTERM or another).
    public let signal: Int32
    /// The last step completed, which the checkpoint holds.
    public let step: Int
    /// The checkpoint written before stopping.
    public let checkpointPath: String
    /// One sentence naming the signal, the step and the checkpoint.
    public var description: String {
        let name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
        return "stopped by \(name) after step \(step); the checkpoint at '\(checkpointPath)' holds it."
    }
}
