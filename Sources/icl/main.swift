import Foundation
import ICLCore
import ICLKit

/// `icl`: train, evaluate, check and benchmark the paper's transformer. Errors are one sentence on
/// stderr; exit code 2 for bad usage, config or input files, 1 for failures while running.
let usage = """
usage: icl COMMAND [options]

commands:
  devices   list OpenCL devices (and the CPU reference)
  train     train the model; prints the ICL error on unseen in-domain and OOD tasks
  eval      evaluate a checkpoint on fresh prompts
  prune     remove neurons (rows of W_O) by magnitude or at random; writes a smaller checkpoint
  probe     the trained model's mechanism: attention on same-pattern contexts, neuron alignment
  reproduce the paper's experiments (NAME|all; --quick, --seeds K, --shard i/n, --merge): CSV, SVG, summary.md
  check     cross-check every OpenCL kernel against the CPU reference
  bench     kernel and end-to-end throughput against the device's measured ceilings
  help      this text

common options: --model onelayer|gpt2 (train; eval reads it from the checkpoint), --device cpu-reference|opencl[:N|:gpu|:cpu] (env ICL_DEVICE), --variant auto|cpu|gpu,
  --pipeline auto|pattern|fused|unfused|gpt2 (env ICL_PIPELINE),
  --config FILE.json, --set key=value (repeatable), --seed N, --json
"""

func run(_ argv: [String]) throws {
    guard let command = argv.first else {
        print(usage)
        return
    }
    let rest = Array(argv.dropFirst())
    switch command {
    case "devices": try DevicesCommand.run(rest)
    case "train": try TrainCommand.run(rest)
    case "eval": try EvalCommand.run(rest)
    case "check": try CheckCommand.run(rest)
    case "bench": try BenchCommand.run(rest)
    case "prune": try PruneCommand.run(rest)
    case "probe": try ProbeCommand.run(rest)
    case "reproduce": try ReproduceCommand.run(rest)
    case "help", "--help", "-h": print(usage)
    default: throw UsageError("unknown command '\(command)'; run `icl help` for the list.")
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
