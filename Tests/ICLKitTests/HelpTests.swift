import Foundation
import XCTest
import ICLTestSupport
@testable import ICLCore

/// `icl help`, `icl help COMMAND`, `icl COMMAND --help`, `icl help config`, and "did you mean" for near misses.
/// None of these needs an OpenCL device.
final class HelpTests: XCTestCase {
    /// The commands `icl help` lists (the lines under "commands:"), without `help` itself.
    func listedCommands() throws -> [String] {
        let r = try CLI.run(["help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "commands:") else { XCTFail("no command list: \(r.stdout)"); return [] }
        return lines[(start + 1)...].prefix { !$0.isEmpty }
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0 != "help" }
    }

    func testHelpListsTheCommandsAndPointsAtCommandHelp() throws {
        for args in [[], ["help"], ["--help"]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("usage: icl COMMAND [options]"), "\(args): \(r.stdout)")
            XCTAssertTrue(r.stdout.contains("icl help COMMAND"), "\(args): \(r.stdout)")
            XCTAssertTrue(r.stderr.isEmpty, "\(args): \(r.stderr)")
        }
        XCTAssertEqual(Set(try listedCommands()),
                       ["devices", "train", "eval", "prune", "probe", "reproduce", "sweep", "check", "bench"])
    }

    /// Every command's help: exit 0, nothing on stderr, the usage line, and every option with a one-line description
    /// and a default (or marked as a flag or required); `icl help COMMAND` prints the same.
    func testEveryCommandsHelpDescribesEveryOption() throws {
        for command in try listedCommands() {
            let r = try CLI.run([command, "--help"])
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            XCTAssertTrue(r.stderr.isEmpty, "\(command): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("usage: icl \(command) [options]"), "\(command): \(r.stdout)")
            XCTAssertEqual(try CLI.run(["help", command]).stdout, r.stdout, command)
            XCTAssertEqual(try CLI.run([command, "-h"]).stdout, r.stdout, command)
            XCTAssertTrue(r.stdout.contains("examples:\n  icl \(command)"), "\(command) has examples: \(r.stdout)")

            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let start = try XCTUnwrap(lines.firstIndex(of: "options:"), command)
            let section = lines[(start + 1)...].prefix { !$0.isEmpty }
            // One block per option: its first line starts with "  --", continuation lines are indented deeper.
            var blocks: [[String]] = []
            for line in section {
                if line.hasPrefix("  --") { blocks.append([line]) } else { blocks[blocks.count - 1].append(line) }
            }
            XCTAssertFalse(blocks.isEmpty, command)
            XCTAssertTrue(blocks.contains { $0[0].hasPrefix("  --json ") }, "\(command) takes --json")
            for block in blocks {
                // "  --name VALUE   description": the description follows the option column after two or more spaces,
                // or starts the next line when the column is too wide.
                let parts = block[0].components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
                let head = parts[0]
                let description = parts.count > 1 ? parts[1...].joined(separator: " ")
                    : (block.count > 1 ? block[1].trimmingCharacters(in: .whitespaces) : "")
                XCTAssertGreaterThan(description.count, 10, "\(command): \(head) has a description")
                XCTAssertFalse(description.hasPrefix("default:"), "\(command): \(head) has a description")
                let text = block.joined(separator: "\n")
                XCTAssertTrue(text.contains("default: ") || description.contains("(flag)") || description.contains("(required)"),
                              "\(command): \(head) states its default, or that it is a flag or required:\n\(text)")
            }
        }
    }

    /// `icl help config` lists every field of the table that parsing and validation use, with its default.
    func testHelpConfigNamesEveryFieldWithItsDefault() throws {
        let r = try CLI.run(["help", "config"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.isEmpty, r.stderr)
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        let defaults = Config()
        for f in Config.fields {
            let row = try XCTUnwrap(rows.first { $0.first.map(String.init) == f.name }, "\(f.name) is listed")
            let value = f.get(defaults)
            let expected = (value as? [Int]).map { $0.isEmpty ? "(empty)" : $0.map(String.init).joined(separator: ",") }
                ?? "\(value)"
            XCTAssertEqual(row.count > 1 ? String(row[1]) : "", expected, "\(f.name)'s default")
            XCTAssertTrue(row.joined(separator: " ").contains("allowed: \(f.allowed)"), "\(f.name) states its allowed values")
            XCTAssertTrue(row.joined(separator: " ").contains(f.meaning), "\(f.name) states its meaning")
        }
        XCTAssertEqual(rows.filter { $0.count > 2 && Config.fieldNames.contains(String($0[0])) }.count, Config.fields.count)
    }

    func testMisspeltOptionCommandAndFieldGetDidYouMean() throws {
        assertCleanFailure(try CLI.run(["train", "--stpes", "3"]), status: 2,
                           contains: ["unknown option --stpes", "did you mean --steps?"])
        assertCleanFailure(try CLI.run(["trian"]), status: 2, contains: ["unknown command 'trian'", "did you mean 'train'?"])
        assertCleanFailure(try CLI.run(["train", "--set", "lrr=0.1"]), status: 2,
                           contains: ["unknown config key 'lrr'", "did you mean 'lr'?"])
        // A prefix counts too, and a help topic gets the same.
        assertCleanFailure(try CLI.run(["eval", "--check", "x"]), status: 2, contains: ["did you mean --checkpoint?"])
        assertCleanFailure(try CLI.run(["help", "evl"]), status: 2, contains: ["did you mean 'eval'?"])
        // Nothing close: no suggestion.
        let far = try CLI.run(["train", "--zzzzzz"])
        assertCleanFailure(far, status: 2, contains: ["unknown option --zzzzzz", "icl help train"])
        XCTAssertFalse(far.stderr.contains("did you mean"), far.stderr)
    }

    func testAFlagGivenAValueIsRefused() throws {
        for command in ["train", "devices", "check"] {
            assertCleanFailure(try CLI.run([command, "--json=1"]), status: 2,
                               contains: ["--json is a flag and takes no value"])
        }
    }

    func testSuggestionsByEditDistanceAndPrefix() {
        XCTAssertEqual(Spelling.suggestions(for: "stpes", among: ["steps", "seed", "set"]), ["steps"])
        XCTAssertEqual(Spelling.suggestions(for: "lrr", among: Config.fieldNames), ["lr"])
        XCTAssertEqual(Spelling.suggestions(for: "checkp", among: ["checkpoint", "ood"]), ["checkpoint"])
        XCTAssertEqual(Spelling.suggestions(for: "nothing", among: ["steps", "seed"]), [])
        XCTAssertEqual(Spelling.didYouMean("sed", among: ["seed", "set"]), " (did you mean 'seed' or 'set'?)")
    }
}
