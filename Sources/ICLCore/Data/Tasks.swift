/// A binary task (a, b): f(x) = +1 for x with relevant pattern a, −1 for pattern b (PAPER.md §1).
public struct BinaryTask: Equatable, Hashable, Sendable {
    public let a: Int
    public let b: Int
    public init(_ a: Int, _ b: Int) { self.a = a; self.b = b }
}

/// The task sets of a run: training tasks, unseen in-domain test tasks, and OOD tasks.
public enum TaskSets {
    /// T_tr = {(a, (a+s) mod M1) : a ∈ [M1], s ∈ shifts}.
    public static func train(_ c: Config) -> [BinaryTask] {
        var out: [BinaryTask] = []
        for a in 0..<c.M1 {
            for s in c.effectiveTrainShifts {
                let t = BinaryTask(a, (a + s) % c.M1)
                if !out.contains(t) { out.append(t) }
            }
        }
        return out
    }

    /// Every ordered pair of distinct IDR patterns not in T_tr.
    public static func unseen(_ c: Config) -> [BinaryTask] {
        let tr = Set(train(c))
        return allPairs(c.M1).filter { !tr.contains($0) }
    }

    /// All M1′(M1′−1) ordered pairs of ODR patterns.
    public static func ood(_ c: Config) -> [BinaryTask] { allPairs(c.M1ood) }

    static func allPairs(_ n: Int) -> [BinaryTask] {
        (0..<n).flatMap { a in (0..<n).filter { $0 != a }.map { BinaryTask(a, $0) } }
    }
}
