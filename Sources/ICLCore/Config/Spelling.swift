/// "Did you mean …?" for a misspelt name: a config field, and in `icl` an option or a command.
public enum Spelling {
    /// The names of `candidates` closest to `word`: those within edit distance 2 (insertions, deletions,
    /// substitutions and swaps of neighbours, case-insensitive), else those `word` is a prefix of. The closest
    /// ones only, in the candidates' order; empty when none is close.
    public static func suggestions(for word: String, among candidates: [String]) -> [String] {
        let w = Array(word.lowercased())
        guard !w.isEmpty else { return [] }
        let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }
        if let best = scored.map(\.1).min(), best <= 2, best < w.count {
            return scored.filter { $0.1 == best }.map(\.0)
        }
        return candidates.filter { $0.lowercased().hasPrefix(word.lowercased()) }
    }

    /// " (did you mean 'lr'?)" or " (did you mean 'seed' or 'steps'?)", `quote` around each name; "" when nothing
    /// is close. Meant to sit inside an error sentence.
    public static func didYouMean(_ word: String, among candidates: [String], quote: (String) -> String = { "'\($0)'" }) -> String {
        let names = suggestions(for: word, among: candidates).prefix(3).map(quote)
        guard let last = names.last else { return "" }
        let list = names.count == 1 ? last : names.dropLast().joined(separator: ", ") + " or " + last
        return " (did you mean \(list)?)"
    }

    /// Optimal-string-alignment distance: Levenshtein plus the swap of two neighbouring letters.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
