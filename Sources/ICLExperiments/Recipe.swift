import Foundation
import ICLKit

/// One experiment of PAPER.md §6: what one seed measures, and how the seeds' rows become a figure and
/// claim lines.
public protocol Recipe {
    /// `E1` … `E8`, `T1`, `T2`, `E1-gpt2`, `E2-gpt2`.
    var name: String { get }
    /// What the figure shows, one line.
    var title: String { get }
    /// The tables this recipe writes; the first is `<name>.csv`, others `<name>_<suffix>.csv`.
    var tables: [TableSpec] { get }
    /// Every row of every table for one seed, keyed by table name.
    func measure(seed: Int, lab: ReproduceLab) throws -> [String: [ResultRow]]
    /// The figure and claim lines from the seeds' aggregated tables (same order as `tables`).
    func report(_ tables: [AggregatedTable], size: ReproduceSize) -> (figure: SVGFigure, claims: [Claim])
}

/// A line of `summary.md`: the claim, the paper's number, ours, and whether it held.
public struct Claim: Sendable {
    public enum Verdict: String, Sendable { case held, missed, partly }
    public var experiment: String
    public var claim: String
    public var paper: String
    public var ours: String
    public var verdict: Verdict

    public init(_ experiment: String, _ claim: String, paper: String, ours: String, verdict: Verdict) {
        self.experiment = experiment; self.claim = claim; self.paper = paper; self.ours = ours; self.verdict = verdict
    }

    public init(_ experiment: String, _ claim: String, paper: String, ours: String, held: Bool) {
        self.init(experiment, claim, paper: paper, ours: ours, verdict: held ? .held : .missed)
    }

    var markdownRow: String {
        "| \(experiment) | \(claim) | \(paper) | \(ours) | **\(verdict.rawValue)** |"
    }
}

/// Every recipe, in the order `all` runs them.
public enum Recipes {
    public static let all: [Recipe] = [
        OODLengthRecipe(), AlphaLengthRecipe(), BaselinesRecipe(), PruningRecipe(), PruningAlphaRecipe(),
        AttentionMechanismRecipe(), NeuronMechanismRecipe(), TestLengthTheoryRecipe(), IterationsTheoryRecipe(),
        OODLengthRecipe(model: "gpt2"), AlphaLengthRecipe(model: "gpt2"), LayerAttentionRecipe(),
    ]

    /// The recipes a command-line name selects: `all` or one name (case-insensitive).
    public static func named(_ text: String) throws -> [Recipe] {
        if text.lowercased() == "all" { return all }
        guard let r = all.first(where: { $0.name.lowercased() == text.lowercased() }) else {
            throw UsageError("unknown recipe '\(text)'; use all or one of \(all.map(\.name).joined(separator: ", ")).")
        }
        return [r]
    }
}

/// Small helpers the recipes share for claim text.
enum Fmt {
    static func err(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "n/a" }
        return x == 0 ? "0" : String(format: "%.2e", x)
    }
    static func num(_ x: Double?, _ digits: Int = 2) -> String {
        guard let x, x.isFinite else { return "n/a" }
        return String(format: "%.\(digits)f", x)
    }
}
