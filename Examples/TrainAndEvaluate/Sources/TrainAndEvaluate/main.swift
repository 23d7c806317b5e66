// ICLKit as a library: train a small one-layer model, evaluate it on fresh prompts, save a checkpoint.
//   swift run --package-path Examples/TrainAndEvaluate TrainAndEvaluate [OUT_DIR] [STEPS]
// ICL_DEVICE picks the device as for `icl` (cpu-reference, opencl, opencl:N, ...); the default is the best OpenCL device.
import Foundation
import ICLCore   // Config, PatternBank, PromptSpec, Checkpoint: the types ICLKit's API speaks
import ICLKit

let arguments = CommandLine.arguments.dropFirst()
let outDir = arguments.first ?? NSTemporaryDirectory() + "icl-example"
var config = Config()                       // PAPER.md's defaults: d = 40, l = 20, m = 64, α = 0.8, B = 256, η = 1
config.steps = arguments.dropFirst().first.flatMap { Int($0) } ?? 1000   // the error drops after about 800 steps
try config.validate()
let device = DeviceChoice(name: ProcessInfo.processInfo.environment["ICL_DEVICE"] ?? "opencl") ?? .opencl(.best)

// A backend holds the model on its device; trainSteps runs SGD steps and reports each one's loss and errors.
let bank = PatternBank(config: config)
let mask = [Float](repeating: 1, count: config.m)   // no pruned neurons
let model = try BackendFactory(choice: device).make(config: config, bank: bank, weights: .initial(config), mask: mask)
print("device: \(model.deviceDescription)")
try model.trainSteps(0..<config.steps) { step, stats in
    if (step + 1) % 200 == 0 { print("step \(step + 1): batch loss \(stats.loss), \(stats.errors) of \(stats.prompts) wrong") }
    return stats.loss.isFinite   // stop on divergence
}

// The ICL error on 2000 fresh prompts of unseen in-domain tasks and of out-of-domain tasks.
for (domain, name) in [(PromptSpec.Domain.inDomain, "unseen in-domain"), (.outOfDomain, "out-of-domain")] {
    let r = try Evaluator.evaluate(model, config: config, bank: bank, domain: domain, prompts: 2000)
    print("\(name) tasks, l = \(r.length): error \(r.error) (\(r.stats.errors) of \(r.stats.prompts))")
}

// A checkpoint that `icl eval --checkpoint` (or Checkpoint.read) opens.
try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
let path = outDir + "/checkpoint.safetensors"
try Checkpoint(config: config, weights: try model.readWeights(), step: config.steps, mask: mask,
               device: model.deviceDescription).write(to: path)
print("checkpoint: \(path)")
