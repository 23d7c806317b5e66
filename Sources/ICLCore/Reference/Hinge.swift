/// CPU reference: the hinge loss ℓ = mean_b max(0, 1 − z_b F_b) and its gradient.
public enum ReferenceHinge {
    public struct Result<T: RefReal> {
        /// Mean loss over the batch.
        public var loss: T
        /// ∂loss/∂F_b = −z_b / B where z_b F_b < 1, else 0. [B]
        public var dF: [T]
        /// Prompts with sign(F) ≠ z (F = 0 counts as an error).
        public var errors: Int
    }

    public static func evaluate<T: RefReal>(F: [T], labels z: [T]) -> Result<T> {
        let B = F.count
        var loss: T = 0
        var dF = [T](repeating: 0, count: B)
        var errors = 0
        for b in 0..<B {
            let margin = z[b] * F[b]
            if margin < 1 {
                loss += 1 - margin
                dF[b] = -z[b] / T(B)
            }
            if !(margin > 0) { errors += 1 }
        }
        return Result(loss: loss / T(B), dF: dF, errors: errors)
    }
}
