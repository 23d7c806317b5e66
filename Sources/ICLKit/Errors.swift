/// What the caller can do about an error, in the library's terms; the command-line tool words it as option advice
/// (`icl` turns `.startFresh` into "drop --resume to start a new run"), a Swift caller acts on it directly.
public enum Remedy: Sendable {
    /// Start a new run instead of resuming one.
    case startFresh
    /// Resume the run in the output folder, or write to another folder.
    case resumeOrOtherOut
    /// Write to another output folder.
    case otherOut
    /// Resume from the kept checkpoint once the device works again.
    case resumeLater
    /// Pick another device (the CPU reference always exists).
    case otherDevice
    /// Run on the CPU reference.
    case cpuReference
    /// See the devices this machine has.
    case listDevices
}

/// A mistake in how the library was called: a request that cannot run as asked (exit code 2 in `icl`).
public struct UsageError: Error, CustomStringConvertible {
    /// The mistake, in one sentence.
    public let message: String
    /// What the caller can do about it; nil when there is nothing to suggest.
    public let remedy: Remedy?
    /// A usage error saying `message`, with an optional remedy.
    public init(_ message: String, remedy: Remedy? = nil) { self.message = message; self.remedy = remedy }
    /// The message.
    public var description: String { message }
}

/// A failure while running (exit code 1 in `icl`), one clear sentence.
public struct RunError: Error, CustomStringConvertible {
    /// The failure, in one sentence.
    public let message: String
    /// What the caller can do about it; nil when there is nothing to suggest.
    public let remedy: Remedy?
    /// A run error saying `message`, with an optional remedy.
    public init(_ message: String, remedy: Remedy? = nil) { self.message = message; self.remedy = remedy }
    /// The message.
    public var description: String { message }
}
