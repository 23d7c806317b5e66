import ICLCore
import ICLKit

/// `icl COMMAND --help`: the command's options, printed to stdout with exit status 0.
struct HelpRequested: Error {
    let text: String
}

/// Command-line options of one subcommand: `--name value`, `--name=value`, repeatable `--set k=v`, flags.
struct Arguments {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positional: [String] = []
    let spec: CommandSpec

    /// Parses `args` by the command's option table; anything else is a usage error (one sentence, with "did you
    /// mean" for a near miss). An option the command refuses is named with the reason. `--help` or `-h` anywhere
    /// asks for the command's options instead (HelpRequested), so nothing runs.
    init(_ args: [String], spec: CommandSpec) throws {
        self.spec = spec
        let command = spec.name
        if args.contains("--help") || args.contains("-h") { throw HelpRequested(text: spec.helpText) }
        var i = 0
        while i < args.count {
            let arg = args[i]
            if arg.hasPrefix("--") {
                var name = String(arg.dropFirst(2))
                var inline: String? = nil
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                guard let option = spec.option(name) else {
                    if let refused = spec.refused.first(where: { $0.name == name }) {
                        throw UsageError("`icl \(command)` cannot use --\(name): \(refused.reason).")
                    }
                    let near = Spelling.didYouMean(name, among: spec.options.map(\.name)) { "--" + $0 }
                    throw UsageError("unknown option --\(name) for `icl \(command)`\(near); `icl help \(command)` lists its options.")
                }
                if option.isFlag {
                    if let inline {
                        throw UsageError("--\(name) is a flag and takes no value; write --\(name) alone, not --\(name)=\(inline).")
                    }
                    flags.insert(name)
                } else {
                    let value: String
                    if let inline { value = inline } else {
                        guard i + 1 < args.count else {
                            throw UsageError("option --\(name) of `icl \(command)` needs a value (\(option.valueName!)).")
                        }
                        i += 1
                        value = args[i]
                    }
                    values[name, default: []].append(value)
                }
            } else if arg.hasPrefix("-") && arg.count > 1 && Double(arg) == nil {
                throw UsageError("unknown option \(arg) for `icl \(command)`; options start with -- (`icl help \(command)` lists them).")
            } else {
                guard spec.positional != nil else {
                    throw UsageError("`icl \(command)` takes no argument '\(arg)' without an option; `icl help \(command)` lists its options.")
                }
                positional.append(arg)
            }
            i += 1
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }

    /// The value of an option the command cannot run without; its absence is one sentence naming the option and
    /// what it is (from the command's option table).
    func required(_ name: String) throws -> String {
        if let v = value(name) { return v }
        let o = spec.options.first { $0.name == name }
        throw UsageError("`icl \(spec.name)` needs --\(name) \(o?.valueName ?? "VALUE") (\(o?.help ?? name)).")
    }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }
    /// Whether the option was given at all (a flag or a valued option).
    func given(_ name: String) -> Bool { flags.contains(name) || values[name] != nil }

    func int(_ name: String, min: Int = Int.min) throws -> Int? {
        guard let text = value(name) else { return nil }
        guard let v = Int(text), v >= min else {
            throw UsageError("--\(name) must be an integer ≥ \(min), got '\(text)'.")
        }
        return v
    }

    func float(_ name: String) throws -> Float? {
        guard let text = value(name) else { return nil }
        guard let v = Float(text), v.isFinite else {
            throw UsageError("--\(name) must be a finite number, got '\(text)'.")
        }
        return v
    }
}
