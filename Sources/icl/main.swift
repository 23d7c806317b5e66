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

setvbuf(stdout, nil, _IOLBF, 0)
do {
    try run(Array(CommandLine.arguments.dropFirst()))
    exit(0)
} catch let e as HelpRequested {
    print(e.text)
    exit(0)
} catch let e as PipelineError {
    FileHandle.standardError.write(Data("icl: \(usageAdvice(e).message)\n".utf8))
    exit(2)
} catch let e as UsageError {
    FileHandle.standardError.write(Data("icl: \(e.message)\(advice(e.remedy))\n".utf8))
    exit(2)
} catch let e as ConfigError {
    FileHandle.standardError.write(Data("icl: \(e.message)\n".utf8))
    exit(2)
} catch let e as Interrupted {
    FileHandle.standardError.write(Data("icl: \(e.description) Continue with --resume.\n".utf8))
    exit(128 + e.signal)
} catch let e as CheckpointError {
    FileHandle.standardError.write(Data("icl: \(e.description)\n".utf8))
    exit(2)
} catch let e as RunError {
    FileHandle.standardError.write(Data("icl: \(e.message)\(advice(e.remedy))\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("icl: \(error)\n".utf8))
    exit(1)
}
