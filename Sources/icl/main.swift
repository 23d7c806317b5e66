import Foundation
import ICLCore
import ICLKit

/// `icl`: train, evaluate, check and benchmark the paper's transformer. Errors are one sentence on
/// stderr; exit code 2 for bad usage, config or input files, 1 for failures while running.
func run(_ argv: [String]) throws {
    guard let command = argv.first else {
        print(Commands.usage)
        return
    }
    let rest = Array(argv.dropFirst())
    switch command {
    case "help", "--help", "-h": try Commands.help(rest)
    default:
        let c = try Commands.named(command)
        try c.run(try Arguments(rest, spec: c.spec))
    }
}

/// The one sentence and exit status of an error: 2 for bad usage, config or input files, 128 + N for a stop by
/// signal N, 1 for failures while running. Library remedies become option advice here.
func failure(_ error: Error) -> (message: String, status: Int32) {
    switch error {
    case let e as PipelineError: return (usageAdvice(e).message, 2)
    case let e as UsageError: return (e.message + advice(e.remedy), 2)
    case let e as ConfigError: return (e.message, 2)
    case let e as CheckpointError: return (e.description, 2)
    case let e as Interrupted: return (e.description + " Continue with --resume.", 128 + e.signal)
    case let e as RunError: return (e.message + advice(e.remedy), 1)
    default: return ("\(error)", 1)
    }
}

setvbuf(stdout, nil, _IOLBF, 0)
do {
    try run(Array(CommandLine.arguments.dropFirst()))
    exit(0)
} catch let e as HelpRequested {
    print(e.text)
    exit(0)
} catch {
    let (message, status) = failure(error)
    FileHandle.standardError.write(Data("icl: \(message)\n".utf8))
    exit(status)
}
