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

    /// Parses `args` given which options take a value and which are flags; anything else is a usage error.
    /// `--help` or `-h` anywhere asks for the command's options instead (HelpRequested), so nothing runs.
    init(_ args: [String], command: String, options: Set<String>, flags known: Set<String>) throws {
        if args.contains("--help") || args.contains("-h") {
            let valued = options.sorted().map { "--\($0) VALUE" }
            let flags = known.sorted().map { "--\($0)" }
            throw HelpRequested(text: "usage: icl \(command) [options]\noptions: " + (valued + flags).joined(separator: " ")
                                + "\nrun `icl help` for the commands and the common options; README.md describes each.")
        }
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
                if known.contains(name) && inline == nil {
                    flags.insert(name)
                } else if options.contains(name) {
                    let value: String
                    if let inline { value = inline } else {
                        guard i + 1 < args.count else {
                            throw UsageError("option --\(name) of `icl \(command)` needs a value.")
                        }
                        i += 1
                        value = args[i]
                    }
                    values[name, default: []].append(value)
                } else {
                    let all = (options.union(known)).sorted().map { "--" + $0 }.joined(separator: " ")
                    throw UsageError("unknown option --\(name) for `icl \(command)`; it takes: \(all).")
                }
            } else {
                positional.append(arg)
            }
            i += 1
        }
    }

    func value(_ name: String) -> String? { values[name]?.last }
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ name: String) -> Bool { flags.contains(name) }

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
