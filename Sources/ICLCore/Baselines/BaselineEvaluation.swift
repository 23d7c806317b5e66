/// Classification error of the classical baselines on a spec's prompts (PAPER.md §6, E3).
public enum BaselineEvaluation {
    /// Prompts drawn per PromptSampler call.
    static let chunk = 256

    /// Error of each classifier on `prompts` prompts of `spec`. Prompt i is PromptSampler's prompt i of
    /// step 0 (drawn in chunks). Each classifier sees the context columns' first d_X entries as points,
    /// the sign of their label slot against q (y·q > 0 → +1, else −1) as labels, and classifies the
    /// query's first d_X entries; the result is compared with the query's exact label.
    public static func errors(_ classifiers: [PromptClassifier], spec: PromptSpec,
                              prompts: Int) -> [(name: String, error: Double, errors: Int, prompts: Int)] {
        precondition(prompts >= 1 && spec.length >= 1, "baselines need ≥ 1 prompt and ≥ 1 context column")
        let l = spec.length, dX = spec.dX, dY = spec.dY, d = spec.d, cols = l + 1
        var wrong = [Int](repeating: 0, count: classifiers.count)
        var first = 0
        while first < prompts {
            let count = min(chunk, prompts - first)
            let batch = PromptSampler.sample(spec, step: 0, batch: count, firstPrompt: first)
            for b in 0..<count {
                let base = b * cols * d                          // prompt b: [l+1, d]
                var xs = [Double](repeating: 0, count: l * dX)   // [l, dX]
                var ys = [Double](repeating: 0, count: l)        // [l]
                for j in 0..<l {
                    let col = base + j * d
                    for t in 0..<dX { xs[j * dX + t] = Double(batch.prompts[col + t]) }
                    var yq: Float = 0
                    for t in 0..<dY { yq += batch.prompts[col + dX + t] * spec.q[t] }
                    ys[j] = yq > 0 ? 1 : -1
                }
                var query = [Double](repeating: 0, count: dX)    // [dX]
                for t in 0..<dX { query[t] = Double(batch.prompts[base + l * d + t]) }
                let z = Double(batch.labels[b])
                for (c, classifier) in classifiers.enumerated()
                where classifier.predict(xs: xs, ys: ys, n: dX, query: query) != z {
                    wrong[c] += 1
                }
            }
            first += count
        }
        return classifiers.enumerated().map { c, classifier in
            (classifier.name, Double(wrong[c]) / Double(prompts), wrong[c], prompts)
        }
    }

    /// The five baselines of E3 with fixed, stated hyperparameters: logistic λ = 0.01; SVM linear C = 1;
    /// SVM Gaussian C = 1, γ = 0.5 (inputs have norm ≈ 1); 1-NN; 3-NN.
    public static var paperSet: [PromptClassifier] {
        [
            LogisticRegression(lambda: 0.01),
            SVM(kernel: .linear, C: 1),
            SVM(kernel: .gaussian(gamma: 0.5), C: 1),
            NearestNeighbours(k: 1),
            NearestNeighbours(k: 3),
        ]
    }
}
