/// Classical learners fitted on one prompt's own context (PAPER.md §6, E3): the ICL model is compared
/// with logistic regression, linear and Gaussian SVMs and k-NN, each trained on the l labelled columns
/// of a single prompt and asked to classify that prompt's query.

/// A classifier fitted on one prompt's context: points x_i ∈ R^n (the d_X input part of each column),
/// labels y_i ∈ {+1, −1}.
public protocol PromptClassifier {
    /// A readable name with the hyperparameters, e.g. "SVM Gaussian (C=1, γ=0.5)".
    var name: String { get }
    /// Predicts the query's label (+1 or −1). xs: [l][n] as a flat [Double] of l·n, ys: [l], query: [n].
    func predict(xs: [Double], ys: [Double], n: Int, query: [Double]) -> Double
}

/// The label every point shares, or nil when both classes occur (or the context is empty).
/// Every baseline predicts that label for a single-class context.
func singleClass(_ ys: [Double]) -> Double? {
    guard let first = ys.first else { return nil }
    for y in ys where (y > 0) != (first > 0) { return nil }
    return first > 0 ? 1 : -1
}

/// Squared Euclidean distance between row i of xs ([l][n] flat) and `q` ([n]).
@inline(__always)
func squaredDistance(_ xs: [Double], _ i: Int, _ q: [Double], _ n: Int) -> Double {
    var s = 0.0
    for t in 0..<n {
        let d = xs[i * n + t] - q[t]
        s += d * d
    }
    return s
}

/// Formats a hyperparameter for a name: 1.0 → "1", 0.01 → "0.01".
func formatParameter(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}

/// k nearest neighbours (Euclidean). Ties in distance go to the lower index; a tied vote (even k, or
/// equal votes) goes to the label of the nearest neighbour. With fewer than k points, all of them vote.
public struct NearestNeighbours: PromptClassifier {
    public let k: Int
    public var name: String { "\(k)-NN" }

    public init(k: Int) {
        precondition(k >= 1, "k-NN needs k ≥ 1")
        self.k = k
    }

    public func predict(xs: [Double], ys: [Double], n: Int, query: [Double]) -> Double {
        let l = ys.count
        precondition(l >= 1 && xs.count == l * n && query.count == n, "k-NN: bad shapes")
        // (distance², index) sorted lexicographically: equal distances keep index order.
        var order = [(d: Double, i: Int)]()
        order.reserveCapacity(l)
        for i in 0..<l { order.append((squaredDistance(xs, i, query, n), i)) }
        order.sort { $0.d != $1.d ? $0.d < $1.d : $0.i < $1.i }
        var vote = 0.0
        for r in 0..<min(k, l) { vote += ys[order[r].i] > 0 ? 1 : -1 }
        if vote > 0 { return 1 }
        if vote < 0 { return -1 }
        return ys[order[0].i] > 0 ? 1 : -1
    }
}
