import ICLCore
import ICLKit

/// One option of a command: what the parser accepts and what `icl help COMMAND` prints, from one definition.
struct OptionSpec {
    let name: String
    /// The value's name in the help ("N", "FILE"); nil for a flag.
    let valueName: String?
    /// What it does, in one line.
    let help: String
    /// The value used when the option is absent, in words; nil for a flag or a required option.
    let defaultText: String?
    /// The values it accepts, in words; nil when the description says it all.
    let allowed: String?
    var required = false
    /// May be given more than once (`--set`); every value is kept.
    var repeatable = false

    var isFlag: Bool { valueName == nil }

    static func flag(_ name: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: nil, help: help, defaultText: nil, allowed: nil)
    }

    static func valued(_ name: String, _ valueName: String, _ help: String, default defaultText: String? = nil,
                       allowed: String? = nil, required: Bool = false, repeatable: Bool = false) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help, defaultText: defaultText, allowed: allowed,
                   required: required, repeatable: repeatable)
    }
}

/// A command: its options (the parser's and the help's one table), the common options it refuses and why, and examples.
struct CommandSpec {
    let name: String
    /// What the command does, one line (the command list of `icl help`).
    let summary: String
    /// Positional arguments in the usage line ("NAME|all"); nil when the command takes none.
    var positional: String? = nil
    let options: [OptionSpec]
    /// Options other commands take that this one refuses, each with the reason (the rest of "… because …").
    var refused: [(name: String, reason: String)] = []
    var examples: [String] = []
    /// A closing line of the help (where to read more).
    var note: String? = nil

    func option(_ name: String) -> OptionSpec? { options.first { $0.name == name } }

    /// `icl help COMMAND` and `icl COMMAND --help`.
    var helpText: String {
        var lines = ["usage: icl \(name) [options]" + (positional.map { " " + $0 } ?? ""), "", summary, "", "options:"]
        let width = min(24, options.map { optionColumn($0).count }.max() ?? 0) + 2
        for o in options {
            let head = "  " + optionColumn(o)
            let pad = String(repeating: " ", count: width + 2)
            var first = o.help
            if o.isFlag { first += " (flag)" } else if o.required { first += " (required)" }
            if o.repeatable { first += " (repeatable)" }
            lines.append(head.count < width + 2 ? head + String(repeating: " ", count: width + 2 - head.count) + first
                                                : head + "\n" + pad + first)
            if let d = o.defaultText { lines.append(pad + "default: " + d) }
            if let a = o.allowed { lines.append(pad + "allowed: " + a) }
        }
        if !refused.isEmpty {
            lines += ["", "not taken by `icl \(name)`:"]
            for r in refused { lines.append("  --\(r.name): \(r.reason)") }
        }
        if !examples.isEmpty {
            lines += ["", "examples:"] + examples.map { "  " + $0 }
        }
        lines += ["", note ?? "`icl help config` lists the config fields that --set and --config take; README.md describes each command."]
        return lines.joined(separator: "\n")
    }

    private func optionColumn(_ o: OptionSpec) -> String { "--" + o.name + (o.valueName.map { " " + $0 } ?? "") }
}

/// The options several commands share, defined once.
enum CommonSpecs {
    static let device = OptionSpec.valued(
        "device", "D", "where the model runs: the CPU reference or an OpenCL device (see `icl devices`)",
        default: "$ICL_DEVICE, else the best OpenCL device (a GPU if there is one)",
        allowed: "cpu-reference, opencl, opencl:N, opencl:gpu, opencl:cpu")
    static let variant = OptionSpec.valued(
        "variant", "V", "kernel shape: a work-item per prompt (cpu) or a work-group per prompt (gpu)",
        default: "$ICL_VARIANT, else auto (gpu on GPUs and accelerators, cpu otherwise)", allowed: "auto, cpu, gpu")
    static let pipeline = OptionSpec.valued(
        "pipeline", "P", "how a training step runs on the device (README \"Performance\")",
        default: "$ICL_PIPELINE, else auto (the best the model, variant and config allow)",
        allowed: "auto, " + Pipeline.allCases.map(\.rawValue).joined(separator: ", "))
    static let config = OptionSpec.valued(
        "config", "FILE", "a JSON object of config fields, read before --set",
        default: "none (the defaults of `icl help config`)", allowed: "a .json file such as a run's config.json")
    static let set = OptionSpec.valued(
        "set", "KEY=VALUE", "sets config fields; several may share one argument, separated by spaces",
        default: "none", allowed: "the fields of `icl help config`", repeatable: true)
    static let seed = OptionSpec.valued(
        "seed", "N", "random seed (the config field seed): pattern basis, q, initial weights, prompts",
        default: "the config's seed, 1", allowed: "an unsigned 64-bit integer")
    static let json = OptionSpec.flag("json", "one JSON object per line on stdout instead of text")
    static let model = OptionSpec.valued(
        "model", "M", "which model (the config field model)", default: "the config's model, onelayer",
        allowed: "onelayer, gpt2")

    /// The options of a command that builds its config and backends from them (train, bench).
    static let runOptions = [model, device, variant, pipeline, config, set, seed]

    static let hostOnly = "it runs on the host from the checkpoint's weights, on no device"

    /// The refusals of the device options for a command that runs on the host; `what` says what it does there.
    static func hostOnlyRefusals(_ what: String) -> [(String, String)] {
        [("device", hostOnly + " (" + what + ")"), ("variant", hostOnly + ", so there is no kernel variant to choose"),
         ("pipeline", hostOnly + ", so there is no pipeline to choose")]
    }

    /// A checkpoint argument's refusal of --model.
    static let modelFromCheckpoint = ("model", "the checkpoint says which model it holds")
}

/// Every command, in the order `icl help` lists them.
enum Commands {
    /// Each command's option table and what runs it on the arguments parsed by that table.
    static let all: [(spec: CommandSpec, run: (Arguments) throws -> Void)] = [
        (DevicesCommand.spec, DevicesCommand.run),
        (TrainCommand.spec, TrainCommand.run),
        (EvalCommand.spec, EvalCommand.run),
        (PruneCommand.spec, PruneCommand.run),
        (ProbeCommand.spec, ProbeCommand.run),
        (ReproduceCommand.spec, ReproduceCommand.run),
        (SweepCommand.spec, SweepCommand.run),
        (CheckCommand.spec, CheckCommand.run),
        (BenchCommand.spec, BenchCommand.run),
    ]

    static var names: [String] { all.map(\.spec.name) + ["help"] }

    static func named(_ name: String) throws -> (spec: CommandSpec, run: (Arguments) throws -> Void) {
        guard let c = all.first(where: { $0.spec.name == name }) else {
            throw UsageError("unknown command '\(name)'\(Spelling.didYouMean(name, among: names)); run `icl help` for the list.")
        }
        return c
    }

    /// `icl help` and `icl` alone.
    static var usage: String {
        var lines = ["usage: icl COMMAND [options]", "", "commands:"]
        for c in all { lines.append("  " + pad(c.spec.name, 10) + c.spec.summary) }
        lines.append("  " + pad("help", 10) + "this list; `icl help COMMAND` for a command's options, `icl help config` for the config fields")
        lines += ["", "options of the commands that run a model (each command's help says which it takes):"]
        for o in [CommonSpecs.device, CommonSpecs.variant, CommonSpecs.pipeline, CommonSpecs.config, CommonSpecs.set,
                  CommonSpecs.seed, CommonSpecs.json] {
            lines.append("  " + pad("--" + o.name + (o.valueName.map { " " + $0 } ?? ""), 18) + o.help)
        }
        lines += ["", "run `icl help COMMAND` (or `icl COMMAND --help`) for a command's options, defaults and examples."]
        return lines.joined(separator: "\n")
    }

    /// `icl help config`: every config field with its default, allowed values and meaning.
    static var configHelp: String {
        let fields = Config.fieldDescriptions
        let nameWidth = fields.map(\.name.count).max()! + 2
        let defaultWidth = min(10, fields.map(\.defaultValue.count).max()!) + 2
        var lines = ["config fields (set with --set KEY=VALUE or a --config FILE.json; PAPER.md describes the parameters):", "",
                     "  " + pad("field", nameWidth) + pad("default", defaultWidth) + "meaning; allowed values"]
        for f in fields {
            lines.append("  " + pad(f.name, nameWidth) + pad(f.defaultValue, defaultWidth) + f.meaning + "; allowed: " + f.allowed)
        }
        lines += ["", "`icl eval` and `icl probe` may change only \(fieldList(Config.evaluationFields)) of a checkpoint's config;",
                  "a resumed `icl train` only \(fieldList(Config.scheduleFields))."]
        return lines.joined(separator: "\n")
    }

    /// `icl help [COMMAND|config]`.
    static func help(_ args: [String]) throws {
        guard let topic = args.first else { print(usage); return }
        guard args.count == 1 else { throw UsageError("`icl help` takes one topic: a command or config; got \(args.count).") }
        if topic == "config" { print(configHelp); return }
        if topic == "help" { print(usage); return }
        guard let c = all.first(where: { $0.spec.name == topic }) else {
            throw UsageError("no help on '\(topic)'\(Spelling.didYouMean(topic, among: all.map(\.spec.name) + ["config"])); `icl help` lists the commands, `icl help config` the config fields.")
        }
        print(c.spec.helpText)
    }
}

/// Config field names as a list for a sentence, sorted without regard to case.
func fieldList(_ names: Set<String>) -> String {
    names.sorted { $0.lowercased() < $1.lowercased() }.joined(separator: ", ")
}
