import Foundation

/// One measurement of a recipe for one seed: key columns (what was varied, as text) and value columns.
public struct ResultRow: Equatable, Sendable {
    public var keys: [String: String]
    public var values: [String: Double]

    public init(keys: [String: String], values: [String: Double]) {
        self.keys = keys; self.values = values
    }

    /// The canonical text of a numeric key (`0.8`, `20`, `1e-05`), so equal numbers group together.
    public static func key(_ x: Double) -> String { String(format: "%g", x) }
    public static func key(_ x: Float) -> String { key(Double("\(x)") ?? Double(x)) }
    public static func key(_ x: Int) -> String { String(x) }

    /// JSON has no NaN: a value that is not finite (e.g. "not reached") is written as null.
    var json: [String: Any] { ["keys": keys, "values": values.mapValues { $0.isFinite ? $0 as Any : NSNull() }] }

    init?(json: Any) {
        guard let o = json as? [String: Any], let k = o["keys"] as? [String: String],
              let v = o["values"] as? [String: Any] else { return nil }
        var values: [String: Double] = [:]
        for (name, x) in v {
            if x is NSNull { values[name] = .nan; continue }
            guard let n = x as? NSNumber else { return nil }
            values[name] = n.doubleValue
        }
        self.init(keys: k, values: values)
    }
}

/// The columns of one output table: rows with equal key columns are aggregated over seeds (and repeats).
public struct TableSpec: Sendable {
    public var name: String
    public var keyColumns: [String]
    public var valueColumns: [String]

    public init(_ name: String, keys: [String], values: [String]) {
        self.name = name; keyColumns = keys; valueColumns = values
    }
}

/// Rows of a table grouped by their key columns: count, mean and sample standard deviation of each value.
public struct AggregatedTable: Sendable {
    public struct Row: Sendable {
        public var keys: [String: String]
        public var n: Int
        public var mean: [String: Double]
        public var std: [String: Double]

        public func key(_ column: String) -> String { keys[column] ?? "" }
        public func number(_ column: String) -> Double { Double(keys[column] ?? "") ?? .nan }
    }

    public var spec: TableSpec
    /// In the order each key combination first appears.
    public var rows: [Row]

    public init(spec: TableSpec, rows input: [ResultRow]) {
        self.spec = spec
        var order: [[String]] = []
        var groups: [[String]: [ResultRow]] = [:]
        for r in input {
            let k = spec.keyColumns.map { r.keys[$0] ?? "" }
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(r)
        }
        rows = order.map { k in
            let members = groups[k]!
            var mean: [String: Double] = [:], std: [String: Double] = [:]
            for column in spec.valueColumns {
                let xs = members.compactMap { $0.values[column] }.filter(\.isFinite)
                let mu = xs.isEmpty ? Double.nan : xs.reduce(0, +) / Double(xs.count)
                let variance = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(xs.count - 1) : 0
                mean[column] = mu
                std[column] = xs.isEmpty ? .nan : variance.squareRoot()
            }
            return Row(keys: Dictionary(uniqueKeysWithValues: zip(spec.keyColumns, k)), n: members.count,
                       mean: mean, std: std)
        }
    }

    /// Rows whose key columns equal the given texts.
    public func rows(where match: [String: String]) -> [Row] {
        rows.filter { r in match.allSatisfy { r.keys[$0.key] == $0.value } }
    }

    /// The mean of `value` in the first row matching `match` (its std is in that row's `std`), or nil when no
    /// row matches.
    public func mean(_ value: String, where match: [String: String]) -> Double? {
        rows(where: match).first?.mean[value]
    }

    /// CSV: the key columns, `n`, then `<value>_mean` and `<value>_std` for each value column.
    public func csv() -> String {
        var header = spec.keyColumns + ["n"]
        for v in spec.valueColumns { header += [v + "_mean", v + "_std"] }
        var lines = [header.joined(separator: ",")]
        for r in rows {
            var cells = spec.keyColumns.map { csvCell(r.keys[$0] ?? "") } + [String(r.n)]
            for v in spec.valueColumns { cells += [format(r.mean[v]), format(r.std[v])] }
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func format(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "" }
        return String(format: "%.6g", x)
    }

    private func csvCell(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
