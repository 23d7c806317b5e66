import Foundation

/// The table of config fields: how each is parsed from text, printed, and checked.
/// One entry per field keeps `--set`, JSON files and validation in step.
extension Config {
    struct Field {
        let name: String
        /// What the field means, in one line (`icl help config`).
        let meaning: String
        /// The values `validate()` (or parsing) accepts, in words: "≥ 1", "[0, 1]", "random, identity".
        let allowed: String
        let get: (Config) -> Any
        let set: (inout Config, String) throws -> Void
        /// A true/false field: in JSON it takes only `true` or `false` (a number there is refused).
        var isBool = false
    }

    static func intField(_ name: String, _ kp: WritableKeyPath<Config, Int>, _ meaning: String, _ allowed: String) -> Field {
        Field(name: name, meaning: meaning, allowed: allowed, get: { $0[keyPath: kp] }, set: { c, text in
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigError("config field '\(name)' must be an integer, got '\(text)'.")
            }
            c[keyPath: kp] = v
        })
    }

    static func floatField(_ name: String, _ kp: WritableKeyPath<Config, Float>, _ meaning: String, _ allowed: String) -> Field {
        Field(name: name, meaning: meaning, allowed: allowed, get: { Double("\($0[keyPath: kp])") ?? 0 }, set: { c, text in
            guard let v = Float(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigError("config field '\(name)' must be a number, got '\(text)'.")
            }
            guard v.isFinite else {
                throw ConfigError("config field '\(name)' must be a finite number, got '\(text)'.")
            }
            c[keyPath: kp] = v
        })
    }

    static func choiceField(_ name: String, _ kp: WritableKeyPath<Config, String>, _ choices: [String], _ meaning: String) -> Field {
        Field(name: name, meaning: meaning, allowed: choices.joined(separator: ", "), get: { $0[keyPath: kp] }, set: { c, text in
            guard choices.contains(text) else {
                throw ConfigError("config field '\(name)' must be one of \(choices.joined(separator: ", ")), got '\(text)'.")
            }
            c[keyPath: kp] = text
        })
    }

    /// Every field, in PAPER.md's order: data, model, GPT-2-style model, training, pruning. `allowed` states the
    /// ranges `validate()` checks (GPT-2 fields: `GPT2Shape.validate`, `GPT2Optimizer.validate`).
    static let fields: [Field] = [
        intField("M1", \.M1, "number of in-domain-relevant (IDR) patterns μ", "≥ 2"),
        intField("M2", \.M2, "number of in-domain-irrelevant (IDI) patterns ν", "≥ 1"),
        intField("dX", \.dX, "input dimension d_X", "≥ M1 + M2 (all patterns orthogonal); dX + dY ≤ 4096"),
        intField("dY", \.dY, "label-embedding dimension d_Y", "≥ 1"),
        floatField("beta", \.beta, "norm β of every IDR pattern", "> 0"),
        floatField("K", \.K, "κ ~ U(−K, K) scales the irrelevant pattern in x = μ + κν", "≥ 0"),
        choiceField("basis", \.basis, ["random", "identity"], "pattern basis: seeded orthonormal, or axis-aligned"),
        floatField("alpha", \.alpha, "training α: fraction of context examples that carry the task's own patterns", "[0, 1]"),
        intField("lTrain", \.lTrain, "context length l of training prompts", "[1, 4096]"),
        floatField("alphaTest", \.alphaTest, "evaluation α′: the same fraction in evaluation prompts", "[0, 1]"),
        intField("lTest", \.lTest, "context length of evaluation prompts", "[1, 4096]; gpt2: ≤ lTrain"),
        floatField("S1", \.S1, "sum of the coefficients of each out-of-domain-relevant (ODR) pattern", "> 0"),
        intField("M1ood", \.M1ood, "number of ODR patterns M1′ (the OOD tasks are their pairs)", "[2, M1/2]"),
        Field(name: "trainShifts", meaning: "shifts s of the training tasks (a, (a+s) mod M1), e.g. 1,2,3; empty: 1…⌈(M1−1)/2⌉",
              allowed: "each in [1, M1−1], leaving at least one unseen task",
              get: { $0.trainShifts }, set: { c, text in
                  let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                  var out: [Int] = []
                  for p in parts where !p.isEmpty {
                      guard let v = Int(p) else {
                          throw ConfigError("config field 'trainShifts' must be a comma-separated list of integers, got '\(text)'.")
                      }
                      out.append(v)
                  }
                  c.trainShifts = out
              }),
        Field(name: "attendQuery", meaning: "whether the softmax also runs over the query column", allowed: "true, false",
              get: { $0.attendQuery }, set: { c, text in
                  switch text.lowercased() {
                  case "true", "1", "yes": c.attendQuery = true
                  case "false", "0", "no": c.attendQuery = false
                  default: throw ConfigError("config field 'attendQuery' must be true or false, got '\(text)'.")
                  }
              }, isBool: true),
        intField("m", \.m, "number of neurons (rows of W_O)", "[1, 1048576]"),
        floatField("delta", \.delta, "W_Q = W_K = W_V = δI at initialisation", "finite"),
        floatField("xi", \.xi, "standard deviation ξ of the initial W_O entries", "≥ 0"),
        choiceField("model", \.model, ["onelayer", "gpt2"], "onelayer (the paper's model, SGD) or gpt2 (GPT-2-style, AdamW)"),
        intField("width", \.width, "GPT-2: residual width W", "[1, 16384]"),
        intField("layers", \.layers, "GPT-2: pre-LN blocks", "[1, 256]"),
        intField("heads", \.heads, "GPT-2: attention heads", "[1, width], dividing width"),
        floatField("adamLR", \.adamLR, "GPT-2: AdamW peak learning rate", "> 0"),
        intField("warmup", \.warmup, "GPT-2: linear warm-up steps", "[0, steps − 1]"),
        floatField("minLRFraction", \.minLRFraction, "GPT-2: cosine floor as a fraction of adamLR", "[0, 1]"),
        floatField("weightDecay", \.weightDecay, "GPT-2: decoupled weight decay on matrices", "≥ 0"),
        intField("batch", \.batch, "prompts per training step B", "[1, 16777216]"),
        floatField("lr", \.lr, "SGD step size η", "> 0"),
        intField("steps", \.steps, "training steps", "≥ 0 (gpt2: ≥ 1)"),
        Field(name: "seed", meaning: "random seed: pattern basis, q, initial weights and every prompt",
              allowed: "an unsigned 64-bit integer", get: { $0.seed }, set: { c, text in
            guard let v = UInt64(text.trimmingCharacters(in: .whitespaces)) else {
                throw ConfigError("config field 'seed' must be an unsigned integer, got '\(text)'.")
            }
            c.seed = v
        }),
        intField("evalEvery", \.evalEvery, "evaluate every N steps (0: at the end only)", "≥ 0"),
        intField("evalPrompts", \.evalPrompts, "fresh prompts per evaluation", "≥ 1"),
        intField("checkpointEvery", \.checkpointEvery, "write a checkpoint every N steps (0: at the end only)", "≥ 0"),
        intField("logEvery", \.logEvery, "write a loss line to metrics.jsonl every N steps", "≥ 1"),
        intField("probeEvery", \.probeEvery, "record the mechanism probes in metrics.jsonl every N steps (0: never)", "≥ 0"),
        choiceField("pruneBy", \.pruneBy, ["wo", "wowv"], "neuron magnitude for magnitude pruning: ‖W_O row‖ or ‖row of W_O W_V‖"),
    ]

    /// One config field as `icl help config` shows it.
    public struct FieldDescription: Sendable {
        public let name: String
        /// The default value (PAPER.md's), as `--set` would write it.
        public let defaultValue: String
        /// The values validation accepts, in words.
        public let allowed: String
        public let meaning: String
    }

    /// Every field of the table that parsing and validation use, with its default, allowed values and meaning.
    public static var fieldDescriptions: [FieldDescription] {
        let defaults = Config()
        return fields.map { f in
            let value = f.get(defaults)
            let text: String
            switch value {
            case let list as [Int]: text = list.isEmpty ? "(empty)" : list.map(String.init).joined(separator: ",")
            default: text = "\(value)"
            }
            return FieldDescription(name: f.name, defaultValue: text, allowed: f.allowed, meaning: f.meaning)
        }
    }

    /// Fields that only steer the schedule and logging; a resumed run may change them.
    public static let scheduleFields: Set<String> = ["steps", "evalEvery", "evalPrompts", "checkpointEvery", "logEvery", "probeEvery", "lTest", "alphaTest", "pruneBy"]

    /// Fields that describe only the evaluation prompts, not the trained model: evaluating a checkpoint may change them.
    public static let evaluationFields: Set<String> = ["alphaTest", "lTest", "S1", "M1ood", "evalPrompts"]

    /// Names of the fields where two configs differ.
    public func differingFields(from other: Config) -> [String] {
        Config.fields.filter { "\($0.get(self))" != "\($0.get(other))" }.map(\.name)
    }

    static var fieldNames: [String] { fields.map(\.name) }

    /// Sets one field from its text form, as in `--set lr=0.5`. Throws for an unknown key or a malformed value.
    public mutating func set(_ key: String, _ value: String) throws {
        guard let field = Config.fields.first(where: { $0.name == key }) else {
            throw ConfigError("unknown config key '\(key)'\(Spelling.didYouMean(key, among: Config.fieldNames)); known keys: \(Config.fieldNames.joined(separator: ", ")).")
        }
        try field.set(&self, value)
    }

    /// Applies one `key=value` assignment.
    public mutating func apply(assignment: String) throws {
        guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
            throw ConfigError("'\(assignment)' is not of the form key=value (for example --set lr=0.5).")
        }
        try set(String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]))
    }

    /// The config as a JSON object (sorted keys), the form written into checkpoints and results.
    public func jsonString(pretty: Bool = false) -> String {
        var dict: [String: Any] = [:]
        for f in Config.fields { dict[f.name] = f.get(self) }
        var opts: JSONSerialization.WritingOptions = [.sortedKeys]
        if pretty { opts.insert(.prettyPrinted) }
        let data = try! JSONSerialization.data(withJSONObject: dict, options: opts)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads fields from a JSON object on top of `self`; unknown keys and ill-typed values are errors.
    public mutating func merge(json text: String, source: String = "config") throws {
        let obj: Any
        do {
            obj = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            throw ConfigError("\(source) is not valid JSON; check its syntax (\(error.localizedDescription)).")
        }
        guard let dict = obj as? [String: Any] else {
            throw ConfigError("\(source) must be a JSON object of config fields, like {\"lr\": 0.5}.")
        }
        for key in dict.keys.sorted() {
            let value = dict[key]!
            let isBoolField = Config.fields.first { $0.name == key }?.isBool ?? false
            let text: String
            switch value {
            case let n as NSNumber where Config.isJSONBool(n):
                text = n.boolValue ? "true" : "false"
            case let n as NSNumber:
                if isBoolField {
                    throw ConfigError("\(source): config field '\(key)' must be true or false, got '\(Config.numberText(n))'.")
                }
                text = Config.numberText(n)
            case let s as String:
                text = s
            case let arr as [Any]:
                text = arr.map { item in
                    guard let n = item as? NSNumber else { return "\(item)" }
                    return Config.isJSONBool(n) ? (n.boolValue ? "true" : "false") : Config.numberText(n)
                }.joined(separator: ",")
            default:
                throw ConfigError("\(source): field '\(key)' has an unsupported value \(value).")
            }
            do { try set(key, text) } catch let e as ConfigError { throw ConfigError("\(source): \(e.message)") }
        }
    }

    /// Whether a value JSONSerialization produced is a JSON `true`/`false`. It gives NSNumbers for numbers and
    /// booleans alike (and `as? Bool` accepts the numbers 0 and 1 too); the booleans are the ones of
    /// Objective-C type "c" (char), a type it never uses for a number: Darwin's CFBoolean and
    /// swift-corelibs-foundation's __NSCFBoolean both report it.
    static func isJSONBool(_ value: Any) -> Bool {
        guard let n = value as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"
    }

    static func numberText(_ n: NSNumber) -> String {
        // JSON integers keep every digit: a UInt64 seed above 2^53 does not survive a trip through Double.
        let type = String(cString: n.objCType)
        if type != "d" && type != "f" { return n.stringValue }
        let d = n.doubleValue
        if d == d.rounded(), abs(d) < 1e18 { return String(Int64(d)) }
        return "\(d)"
    }

    /// Loads a JSON config file on top of the defaults.
    public static func load(jsonFile path: String) throws -> Config {
        var c = Config()
        try c.merge(jsonFile: path)
        return c
    }

    /// Reads the fields of a JSON config file on top of `self` (a checkpoint's config, say).
    public mutating func merge(jsonFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read config file '\(path)'; check the path.")
        }
        try merge(json: String(decoding: data, as: UTF8.self), source: "config file '\(path)'")
    }

    /// Checks every field against its allowed range; the first violation is thrown.
    public func validate() throws {
        func fail(_ name: String, _ value: Any, _ allowed: String) throws -> Never {
            throw ConfigError("config field '\(name)' = \(value) is out of range: \(allowed).")
        }
        for (n, v) in [("beta", beta), ("K", K), ("S1", S1), ("xi", xi), ("lr", lr), ("delta", delta), ("alpha", alpha), ("alphaTest", alphaTest)] where !v.isFinite {
            try fail(n, v, "must be finite")
        }
        if M1 < 2 { try fail("M1", M1, "need at least 2 IDR patterns") }
        if M2 < 1 { try fail("M2", M2, "need at least 1 IDI pattern") }
        if dY < 1 { try fail("dY", dY, "must be ≥ 1") }
        if dX < M1 + M2 { try fail("dX", dX, "must be ≥ M1 + M2 = \(M1 + M2) so all patterns are orthogonal") }
        if !(beta > 0) { try fail("beta", beta, "must be > 0") }
        if !(K >= 0) { try fail("K", K, "must be ≥ 0") }
        if !(alpha >= 0 && alpha <= 1) { try fail("alpha", alpha, "must be in [0, 1]") }
        if !(alphaTest >= 0 && alphaTest <= 1) { try fail("alphaTest", alphaTest, "must be in [0, 1]") }
        if lTrain < 1 { try fail("lTrain", lTrain, "must be ≥ 1") }
        if lTest < 1 { try fail("lTest", lTest, "must be ≥ 1") }
        if !(S1 > 0) { try fail("S1", S1, "must be > 0") }
        if M1ood < 2 || 2 * M1ood > M1 { try fail("M1ood", M1ood, "must be in [2, M1/2 = \(M1 / 2)]") }
        for s in trainShifts where s < 1 || s >= M1 {
            try fail("trainShifts", trainShifts, "every shift must be in [1, M1−1 = \(M1 - 1)]")
        }
        if m < 1 { try fail("m", m, "must be ≥ 1") }
        if !delta.isFinite { try fail("delta", delta, "must be finite") }
        if !(xi >= 0) { try fail("xi", xi, "must be ≥ 0") }
        if batch < 1 { try fail("batch", batch, "must be ≥ 1") }
        if !(lr > 0) { try fail("lr", lr, "must be > 0") }
        if steps < 0 { try fail("steps", steps, "must be ≥ 0") }
        if evalEvery < 0 { try fail("evalEvery", evalEvery, "must be ≥ 0") }
        if evalPrompts < 1 { try fail("evalPrompts", evalPrompts, "must be ≥ 1") }
        if logEvery < 1 { try fail("logEvery", logEvery, "must be ≥ 1") }
        if probeEvery < 0 { try fail("probeEvery", probeEvery, "must be ≥ 0") }
        if TaskSets.unseen(self).isEmpty {
            try fail("trainShifts", effectiveTrainShifts, "the training tasks cover every task, leaving no unseen in-domain task to test; use fewer shifts or a larger M1")
        }
        if checkpointEvery < 0 { try fail("checkpointEvery", checkpointEvery, "must be ≥ 0") }
        if isGPT2 {
            if warmup < 0 { try fail("warmup", warmup, "must be ≥ 0") }
            if lTest > lTrain { try fail("lTest", lTest, "the GPT-2-style model learns positions for l ≤ lTrain = \(lTrain) only") }
            // Their messages name the config's fields; the optimizer's lr is the config's adamLR.
            try gpt2Shape.validate(field: { "config field '\($0)'" })
            try gpt2Optimizer.validate(field: { "config field '\($0 == "lr" ? "adamLR" : $0)'" })
        }
        let limit = 1 << 24
        if batch > limit { try fail("batch", batch, "must be ≤ \(limit)") }
        if lTrain > 4096 || lTest > 4096 { try fail(lTrain > 4096 ? "lTrain" : "lTest", max(lTrain, lTest), "must be ≤ 4096") }
        if d > 4096 { try fail("dX", dX, "d_X + d_Y must be ≤ 4096") }
        if m > 1 << 20 { try fail("m", m, "must be ≤ \(1 << 20)") }
    }
}
