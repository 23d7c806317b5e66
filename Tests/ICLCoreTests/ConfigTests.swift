import XCTest
import Foundation
@testable import ICLCore

final class ConfigTests: XCTestCase {
    // MARK: Helpers

    /// Runs `body`, expects a ConfigError, and checks that its message contains every word.
    private func assertConfigError(_ words: [String], file: StaticString = #filePath, line: UInt = #line,
                                   _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected a ConfigError containing \(words)", file: file, line: line)
        } catch let e as ConfigError {
            for w in words {
                XCTAssertTrue(e.message.contains(w), "message '\(e.message)' lacks '\(w)'", file: file, line: line)
            }
        } catch {
            XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
        }
    }

    /// A default config with `assignments` applied, then validated: must fail naming every word.
    private func assertInvalid(_ assignments: [String], _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        var c = Config()
        do {
            for a in assignments { try c.apply(assignment: a) }
        } catch {
            XCTFail("setting \(assignments) failed before validation: \(error)", file: file, line: line)
            return
        }
        assertConfigError(words, file: file, line: line) { try c.validate() }
    }

    // MARK: Defaults

    func testDefaultsMatchPaper() throws {
        let c = Config()
        XCTAssertEqual(c.M1, 6)
        XCTAssertEqual(c.M2, 24)
        XCTAssertEqual(c.dX, 30)
        XCTAssertEqual(c.dY, 10)
        XCTAssertEqual(c.d, 40)
        XCTAssertEqual(c.m, 64)
        XCTAssertEqual(c.batch, 256)
        XCTAssertEqual(c.lr, 1.0)
        XCTAssertEqual(c.steps, 2000)
        XCTAssertEqual(c.alpha, 0.8)
        XCTAssertEqual(c.lTrain, 20)
        XCTAssertEqual(c.delta, 0.1)
        XCTAssertEqual(c.xi, 0.01)
        XCTAssertEqual(c.K, 0.5)
        XCTAssertEqual(c.beta, 1.0)
        XCTAssertEqual(c.M1ood, 3)
        XCTAssertEqual(c.basis, "random")
        XCTAssertFalse(c.attendQuery)
        XCTAssertEqual(c.effectiveTrainShifts, [1, 2, 3])
        XCTAssertNoThrow(try c.validate())
    }

    // MARK: set / apply

    func testSetEveryType() throws {
        var c = Config()
        try c.set("M1", "8")                 // Int
        try c.set("dX", " 40 ")              // Int, whitespace trimmed
        try c.set("lr", "0.25")              // Float
        try c.set("alpha", "1e-1")           // Float, exponent form
        try c.set("basis", "identity")       // choice
        try c.set("pruneBy", "wowv")         // choice
        try c.set("attendQuery", "true")     // Bool
        try c.set("seed", "18446744073709551615") // UInt64 (full range)
        try c.set("trainShifts", "1, 3")     // [Int]
        XCTAssertEqual(c.M1, 8)
        XCTAssertEqual(c.dX, 40)
        XCTAssertEqual(c.lr, 0.25)
        XCTAssertEqual(c.alpha, 0.1)
        XCTAssertEqual(c.basis, "identity")
        XCTAssertEqual(c.pruneBy, "wowv")
        XCTAssertTrue(c.attendQuery)
        XCTAssertEqual(c.seed, UInt64.max)
        XCTAssertEqual(c.trainShifts, [1, 3])
        XCTAssertEqual(c.effectiveTrainShifts, [1, 3])
        try c.set("attendQuery", "FALSE")
        XCTAssertFalse(c.attendQuery)
        try c.set("trainShifts", "")
        XCTAssertEqual(c.trainShifts, [])
        try c.apply(assignment: "steps=17")
        XCTAssertEqual(c.steps, 17)
        try c.apply(assignment: "basis=random")
        XCTAssertEqual(c.basis, "random")
    }

    func testEveryFieldSettableFromItsOwnText() throws {
        // Each field's printed value parses back through `set` (keeps --set and JSON in step).
        var c = Config()
        for f in Config.fields {
            let v = f.get(c)
            let text: String
            if let arr = v as? [Int] { text = arr.map(String.init).joined(separator: ",") } else { text = "\(v)" }
            XCTAssertNoThrow(try c.set(f.name, text), "field \(f.name) refused its own value '\(text)'")
        }
        XCTAssertEqual(c, Config())
    }

    func testMalformedAssignment() {
        for bad in ["lr", "=3", ""] {
            var c = Config()
            assertConfigError(["key=value"]) { try c.apply(assignment: bad) }
        }
    }

    func testUnknownKeyNamed() {
        var c = Config()
        assertConfigError(["'learningRate'"]) { try c.apply(assignment: "learningRate=3") }
        assertConfigError(["'foo'"]) { try c.set("foo", "1") }
        XCTAssertEqual(c, Config())
    }

    func testMalformedValuesNamed() {
        let cases: [(String, [String])] = [
            ("lr=abc", ["lr", "abc"]),
            ("lr=", ["lr"]),
            ("M1=1.5", ["M1", "1.5"]),
            ("batch=ten", ["batch", "ten"]),
            ("attendQuery=maybe", ["attendQuery", "maybe"]),
            ("basis=foo", ["basis", "foo", "random", "identity"]),
            ("pruneBy=l1", ["pruneBy", "l1"]),
            ("seed=-1", ["seed", "-1"]),
            ("trainShifts=1,x", ["trainShifts", "1,x"]),
        ]
        for (a, words) in cases {
            var c = Config()
            assertConfigError(words) { try c.apply(assignment: a) }
            XCTAssertEqual(c, Config(), "a refused assignment '\(a)' still changed the config")
        }
    }

    func testNonFiniteRefusedAtSetTime() {
        for field in ["lr", "alpha", "alphaTest", "beta", "K", "S1", "delta", "xi"] {
            for v in ["nan", "NaN", "inf", "-inf", "infinity"] {
                var c = Config()
                assertConfigError([field, v]) { try c.set(field, v) }
            }
        }
    }

    // MARK: validate

    func testValidationFailuresNameFieldValueAndRange() {
        assertInvalid(["M1=1", "M1ood=0"], ["'M1'", "1", "2"])
        assertInvalid(["alpha=1.5"], ["'alpha'", "1.5", "[0, 1]"])
        assertInvalid(["alpha=-0.1"], ["'alpha'", "-0.1", "[0, 1]"])
        assertInvalid(["alphaTest=1.01"], ["'alphaTest'", "1.01", "[0, 1]"])
        assertInvalid(["alphaTest=-1"], ["'alphaTest'", "-1", "[0, 1]"])
        assertInvalid(["lTrain=0"], ["'lTrain'", "0", "≥ 1"])
        assertInvalid(["lTest=-3"], ["'lTest'", "-3", "≥ 1"])
        assertInvalid(["m=0"], ["'m'", "0", "≥ 1"])
        assertInvalid(["dX=29"], ["'dX'", "29", "M1 + M2", "30"])
        assertInvalid(["lr=0"], ["'lr'", "0", "> 0"])
        assertInvalid(["lr=-0.5"], ["'lr'", "-0.5", "> 0"])
        assertInvalid(["batch=0"], ["'batch'", "0", "≥ 1"])
        assertInvalid(["batch=-2"], ["'batch'", "-2", "≥ 1"])
        assertInvalid(["M1ood=4"], ["'M1ood'", "4", "M1/2", "3"])
        assertInvalid(["S1=0"], ["'S1'", "0", "> 0"])
        assertInvalid(["S1=-1.1"], ["'S1'", "-1.1", "> 0"])
        assertInvalid(["trainShifts=1,2,3,4,5"], ["'trainShifts'", "1, 2, 3, 4, 5", "cover every task"])
        assertInvalid(["trainShifts=0"], ["'trainShifts'", "0", "[1, M1−1 = 5]"])
        assertInvalid(["trainShifts=6"], ["'trainShifts'", "6", "[1, M1−1 = 5]"])
        assertInvalid(["M2=0"], ["'M2'", "0"])
        assertInvalid(["dY=0"], ["'dY'", "0", "≥ 1"])
        assertInvalid(["K=-0.5"], ["'K'", "-0.5", "≥ 0"])
        assertInvalid(["xi=-1"], ["'xi'", "-1", "≥ 0"])
        assertInvalid(["beta=0"], ["'beta'", "0", "> 0"])
        assertInvalid(["steps=-1"], ["'steps'", "-1", "≥ 0"])
        assertInvalid(["logEvery=0"], ["'logEvery'", "0", "≥ 1"])
    }

    func testValidationRefusesNaNAssignedDirectly() {
        var c = Config()
        c.lr = .nan
        assertConfigError(["'lr'", "nan"]) { try c.validate() }
        c = Config()
        c.alpha = .nan
        assertConfigError(["'alpha'", "nan"]) { try c.validate() }
        c = Config()
        c.delta = .infinity
        assertConfigError(["'delta'", "inf"]) { try c.validate() }
    }

    func testValidBoundaryValuesAccepted() throws {
        var c = Config()
        // alpha at both ends, smallest lengths, dX = M1 + M2 exactly.
        try c.apply(assignment: "alpha=0")
        try c.apply(assignment: "alphaTest=1")
        try c.apply(assignment: "lTrain=1")
        try c.apply(assignment: "lTest=1")
        try c.apply(assignment: "m=1")
        try c.apply(assignment: "batch=1")
        try c.apply(assignment: "trainShifts=1,2,3,4")
        XCTAssertNoThrow(try c.validate())
        try c.apply(assignment: "alpha=1")
        XCTAssertNoThrow(try c.validate())
    }

    // MARK: JSON

    func testJSONRoundTrip() throws {
        var c = Config()
        for a in ["M1=8", "M2=20", "dX=33", "dY=4", "beta=1.5", "K=0.3", "basis=identity", "alpha=0.7",
                  "lTrain=12", "alphaTest=0.6", "lTest=9", "S1=0.9", "M1ood=4", "trainShifts=1,2",
                  "attendQuery=true", "m=17", "delta=0.05", "xi=0.3", "batch=33", "lr=0.125", "steps=77",
                  "seed=123456789", "evalEvery=7", "evalPrompts=99", "checkpointEvery=11", "logEvery=3",
                  "pruneBy=wowv"] {
            try c.apply(assignment: a)
        }
        XCTAssertNoThrow(try c.validate())
        for pretty in [false, true] {
            var back = Config()
            try back.merge(json: c.jsonString(pretty: pretty))
            XCTAssertEqual(back, c)
            XCTAssertEqual(back.differingFields(from: c), [])
        }
        var d = Config()
        try d.merge(json: Config().jsonString())
        XCTAssertEqual(d, Config())
        // Every field appears in the JSON.
        let obj = try JSONSerialization.jsonObject(with: Data(c.jsonString().utf8)) as! [String: Any]
        XCTAssertEqual(Set(obj.keys), Set(Config.fieldNames))
    }

    func testJSONRoundTripLargeSeed() throws {
        // Seeds are full UInt64; the checkpoint stores the config as JSON, so they must survive exactly.
        for seed: UInt64 in [1 << 53 + 1, 1 << 62 + 12345, UInt64.max] {
            var c = Config()
            c.seed = seed
            var back = Config()
            XCTAssertNoThrow(try back.merge(json: c.jsonString()), "seed \(seed)")
            XCTAssertEqual(back.seed, seed)
        }
    }

    func testJSONBooleansAndIntegerValuedFloats() throws {
        var c = Config()
        try c.merge(json: #"{"attendQuery": true}"#)
        XCTAssertTrue(c.attendQuery)
        try c.merge(json: #"{"attendQuery": false}"#)
        XCTAssertFalse(c.attendQuery)
        try c.merge(json: #"{"lr": 2, "alpha": 1, "K": 0}"#)
        XCTAssertEqual(c.lr, 2)
        XCTAssertEqual(c.alpha, 1)
        XCTAssertEqual(c.K, 0)
        try c.merge(json: #"{"M1": 8.0, "lr": 0.1, "trainShifts": [1, 2], "basis": "identity"}"#)
        XCTAssertEqual(c.M1, 8)
        XCTAssertEqual(c.lr, 0.1)
        XCTAssertEqual(c.trainShifts, [1, 2])
        XCTAssertEqual(c.basis, "identity")
        // Merge only touches the named fields.
        var expected = Config()
        expected.attendQuery = false; expected.lr = 0.1; expected.alpha = 1; expected.K = 0
        expected.M1 = 8; expected.trainShifts = [1, 2]; expected.basis = "identity"
        XCTAssertEqual(c, expected)
    }

    func testJSONErrors() {
        var c = Config()
        assertConfigError(["'foo'"]) { try c.merge(json: #"{"lr": 0.5, "foo": 1}"#) }
        assertConfigError(["M1", "abc"]) { try c.merge(json: #"{"M1": "abc"}"#) }
        assertConfigError(["M1", "1.5"]) { try c.merge(json: #"{"M1": 1.5}"#) }
        assertConfigError(["M1", "true"]) { try c.merge(json: #"{"M1": true}"#) }
        assertConfigError(["attendQuery"]) { try c.merge(json: #"{"attendQuery": 3}"#) }
        // A Bool field takes only JSON true/false (not 1 or 0), and a number field never takes true/false.
        assertConfigError(["'attendQuery'", "true or false", "'1'"]) { try c.merge(json: #"{"attendQuery": 1}"#) }
        assertConfigError(["'attendQuery'", "true or false", "'0'"]) { try c.merge(json: #"{"attendQuery": 0}"#) }
        assertConfigError(["'lr'", "'true'"]) { try c.merge(json: #"{"lr": true}"#) }
        assertConfigError(["'M1'", "'false'"]) { try c.merge(json: #"{"M1": false}"#) }
        assertConfigError(["'seed'", "'true'"]) { try c.merge(json: #"{"seed": true}"#) }
        assertConfigError(["'trainShifts'", "true"]) { try c.merge(json: #"{"trainShifts": [1, true]}"#) }
        assertConfigError(["lr"]) { try c.merge(json: #"{"lr": {"value": 1}}"#) }
        assertConfigError(["lr"]) { try c.merge(json: #"{"lr": null}"#) }
        assertConfigError(["basis"]) { try c.merge(json: #"{"basis": 1}"#) }
        assertConfigError(["object"]) { try c.merge(json: "[1, 2]") }
        assertConfigError(["object"]) { try c.merge(json: "3") }
        assertConfigError(["object"]) { try c.merge(json: #""lr""#) }
        assertConfigError(["not valid JSON"]) { try c.merge(json: "{lr: 1") }
        assertConfigError(["not valid JSON"]) { try c.merge(json: "") }
        assertConfigError(["my.json", "not valid JSON"]) { try c.merge(json: "{", source: "my.json") }
    }

    /// The GPT-2-style model's shape and AdamW checks, reached through the config, name the config's fields
    /// (the optimizer's lr is the config's adamLR).
    func testGPT2ChecksNameTheConfigFields() {
        func message(_ assignments: [String]) -> String {
            var c = Config()
            do {
                for a in assignments { try c.apply(assignment: a) }
                try c.validate()
            } catch let e as ConfigError {
                return e.message
            } catch {
                return "other error \(error)"
            }
            return "no error"
        }
        XCTAssertEqual(message(["model=gpt2", "heads=3"]),
                       "config field 'heads' = 3 is out of range: must divide width = 64 so every head has the same width.")
        XCTAssertEqual(message(["model=gpt2", "heads=0"]), "config field 'heads' = 0 is out of range: must be in [1, width = 64].")
        XCTAssertEqual(message(["model=gpt2", "width=0"]), "config field 'width' = 0 is out of range: must be in [1, 16384].")
        XCTAssertEqual(message(["model=gpt2", "layers=300"]), "config field 'layers' = 300 is out of range: must be in [1, 256].")
        XCTAssertEqual(message(["model=gpt2", "adamLR=0"]), "config field 'adamLR' = 0.0 is out of range: must be finite and > 0.")
        XCTAssertEqual(message(["model=gpt2", "minLRFraction=1.5"]),
                       "config field 'minLRFraction' = 1.5 is out of range: must be in [0, 1].")
        XCTAssertEqual(message(["model=gpt2", "weightDecay=-1"]),
                       "config field 'weightDecay' = -1.0 is out of range: must be finite and ≥ 0.")
        XCTAssertEqual(message(["heads=3"]), "no error", "the one-layer model has no heads to check")
    }

    func testLoadMissingFileNamesPath() {
        let path = NSTemporaryDirectory() + "/no-such-dir-\(UUID().uuidString)/config.json"
        assertConfigError([path]) { _ = try Config.load(jsonFile: path) }
    }

    func testLoadFile() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/c.json"
        try #"{"lr": 0.5, "attendQuery": true, "trainShifts": [1]}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let c = try Config.load(jsonFile: path)
        XCTAssertEqual(c.lr, 0.5)
        XCTAssertTrue(c.attendQuery)
        XCTAssertEqual(c.trainShifts, [1])
        XCTAssertEqual(c.M1, 6)
        let bad = dir + "/bad.json"
        try #"{"lr": "fast"}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        assertConfigError(["lr", "fast"]) { _ = try Config.load(jsonFile: bad) }
    }

    func testDifferingFields() {
        var a = Config(), b = Config()
        XCTAssertEqual(a.differingFields(from: b), [])
        a.lr = 0.5; b.attendQuery = true
        XCTAssertEqual(Set(a.differingFields(from: b)), ["lr", "attendQuery"])
    }
}
