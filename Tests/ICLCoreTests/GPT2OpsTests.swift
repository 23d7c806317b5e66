import Foundation
import XCTest
@testable import ICLCore

// MARK: Helpers shared by the GPT2*Tests files

/// n Gaussian draws N(0, scale²), deterministic per seed.
func gpt2Gaussian(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var g = GaussianSequence(seed: seed, stream: .checkPrompts)
    return g.next(n).map { $0 * scale }
}

/// Central differences of `loss` at `x`, entry by entry against `analytic`:
/// |numeric − analytic| ≤ atol + rtol·|numeric|. Also fails when `analytic` is trivially zero.
/// Returns the number of entries checked.
@discardableResult
func gpt2CheckGradient(_ name: String, at x: [Double], analytic: [Double], h: Double = 1e-6, rtol: Double = 1e-5,
                       atol: Double = 1e-8, file: StaticString = #filePath, line: UInt = #line,
                       loss: ([Double]) -> Double) -> Int {
    XCTAssertEqual(analytic.count, x.count, "\(name): gradient has the wrong size", file: file, line: line)
    guard analytic.count == x.count else { return 0 }
    XCTAssertGreaterThan(analytic.map(abs).max() ?? 0, 1e-4, "\(name) gradient is trivially zero", file: file, line: line)
    for i in x.indices {
        var plus = x, minus = x
        plus[i] += h
        minus[i] -= h
        let numeric = (loss(plus) - loss(minus)) / (2 * h)
        XCTAssertLessThanOrEqual(abs(numeric - analytic[i]), atol + rtol * abs(numeric),
                                 "\(name)[\(i)]: analytic \(analytic[i]), numeric \(numeric)", file: file, line: line)
    }
    return x.count
}

/// Σ a ⊙ b.
func gpt2Dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}

/// Op-by-op checks of `GPT2Ops`: finite differences in Double with the smooth loss Σ r ⊙ y (random r),
/// hand cases and invariants.
final class GPT2OpsTests: XCTestCase {
    // MARK: Matmul

    func testMatmulHandCase() {
        // X = [1 2], W = [[3 4], [5 6]], b = (0.5, −1): Y = (1·3 + 2·4 + 0.5, 1·5 + 2·6 − 1) = (11.5, 16).
        let y = GPT2Ops.matmul([1, 2] as [Double], rows: 1, inputs: 2, outputs: 2, weight: [3, 4, 5, 6], bias: [0.5, -1])
        XCTAssertEqual(y, [11.5, 16])
        // dY = (1, −2): dX = dY W = (3 − 10, 4 − 12), dW = dYᵀ X = [[1 2], [−2 −4]], db = dY.
        let g = GPT2Ops.matmulBackward([1, 2] as [Double], rows: 1, inputs: 2, outputs: 2, weight: [3, 4, 5, 6], dy: [1, -2])
        XCTAssertEqual(g.dx, [-7, -8])
        XCTAssertEqual(g.dWeight, [1, 2, -2, -4])
        XCTAssertEqual(g.dBias, [1, -2])
    }

    func testMatmulGradients() {
        let n = 3, i = 4, o = 5
        let x = gpt2Gaussian(n * i, seed: 1), w = gpt2Gaussian(o * i, seed: 2), b = gpt2Gaussian(o, seed: 3)
        let r = gpt2Gaussian(n * o, seed: 4)
        let g = GPT2Ops.matmulBackward(x, rows: n, inputs: i, outputs: o, weight: w, dy: r)
        gpt2CheckGradient("dX", at: x, analytic: g.dx) {
            gpt2Dot(r, GPT2Ops.matmul($0, rows: n, inputs: i, outputs: o, weight: w, bias: b))
        }
        gpt2CheckGradient("dW", at: w, analytic: g.dWeight) {
            gpt2Dot(r, GPT2Ops.matmul(x, rows: n, inputs: i, outputs: o, weight: $0, bias: b))
        }
        gpt2CheckGradient("db", at: b, analytic: g.dBias) {
            gpt2Dot(r, GPT2Ops.matmul(x, rows: n, inputs: i, outputs: o, weight: w, bias: $0))
        }
    }

    // MARK: LayerNorm

    func testLayerNormGradients() {
        let n = 3, w = 7
        let x = gpt2Gaussian(n * w, seed: 5, scale: 2).map { $0 + 0.5 }
        let gain = gpt2Gaussian(w, seed: 6, scale: 0.3).map { 1 + $0 }, bias = gpt2Gaussian(w, seed: 7, scale: 0.2)
        let r = gpt2Gaussian(n * w, seed: 8)
        let f = GPT2Ops.layerNorm(x, rows: n, width: w, gain: gain, bias: bias)
        let g = GPT2Ops.layerNormBackward(x, rows: n, width: w, gain: gain, forward: f, dy: r)
        gpt2CheckGradient("dX", at: x, analytic: g.dx) {
            gpt2Dot(r, GPT2Ops.layerNorm($0, rows: n, width: w, gain: gain, bias: bias).y)
        }
        gpt2CheckGradient("dγ", at: gain, analytic: g.dGain) {
            gpt2Dot(r, GPT2Ops.layerNorm(x, rows: n, width: w, gain: $0, bias: bias).y)
        }
        gpt2CheckGradient("dβ", at: bias, analytic: g.dBias) {
            gpt2Dot(r, GPT2Ops.layerNorm(x, rows: n, width: w, gain: gain, bias: $0).y)
        }
    }

    func testLayerNormNormalisesEveryRow() {
        let n = 4, w = 16
        // Rows with different offsets and scales, one far from zero.
        var x = gpt2Gaussian(n * w, seed: 9)
        for j in 0..<w { x[j] = 100 + 10 * x[j]; x[w + j] *= 0.1 }
        let f = GPT2Ops.layerNorm(x, rows: n, width: w, gain: [Double](repeating: 1, count: w),
                                  bias: [Double](repeating: 0, count: w))
        for r in 0..<n {
            let row = Array(f.y[(r * w)..<((r + 1) * w)])
            let mean = row.reduce(0, +) / Double(w)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w)
            XCTAssertEqual(mean, 0, accuracy: 1e-12, "row \(r)")
            // var(y) = var(x)/(var(x) + ε): 1 up to ε's share.
            let vx = 1 / (f.rstd[r] * f.rstd[r]) - GPT2Ops.layerNormEps
            XCTAssertEqual(variance, vx / (vx + GPT2Ops.layerNormEps), accuracy: 1e-12, "row \(r)")
            XCTAssertEqual(variance, 1, accuracy: 2e-3, "row \(r)")
            let xm = x[(r * w)..<((r + 1) * w)].reduce(0, +) / Double(w)
            XCTAssertEqual(f.mean[r], xm, accuracy: 1e-12)
        }
        // γ and β scale and shift: y = 2ŷ + 3.
        let g = GPT2Ops.layerNorm(x, rows: n, width: w, gain: [Double](repeating: 2, count: w),
                                  bias: [Double](repeating: 3, count: w))
        for k in x.indices { XCTAssertEqual(g.y[k], 2 * f.y[k] + 3, accuracy: 1e-12) }
    }

    // MARK: GELU

    func testGeluMatchesTheTanhFormula() {
        let xs = stride(from: -8.0, through: 8.0, by: 0.125).map { $0 }
        let y = GPT2Ops.gelu(xs)
        for (k, x) in xs.enumerated() {
            let want = 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
            XCTAssertEqual(y[k], want, accuracy: 1e-14, "gelu(\(x))")
        }
        XCTAssertEqual(GPT2Ops.gelu([0.0, 1, 50, -50]), [0, GPT2Ops.gelu([1.0])[0], 50, -0])
        XCTAssertEqual(GPT2Ops.gelu([1.0])[0], 0.8411919906082768, accuracy: 1e-12)
        // Float stays finite far out (no overflow in the tanh).
        XCTAssertEqual(GPT2Ops.gelu([Float(-1e4), 1e4]), [-0, 1e4])
    }

    func testGeluGradients() {
        let x = stride(from: -5.0, through: 5.0, by: 0.37).map { $0 }
        let r = gpt2Gaussian(x.count, seed: 10)
        let dx = GPT2Ops.geluBackward(x, dy: r)
        gpt2CheckGradient("dX", at: x, analytic: dx) { gpt2Dot(r, GPT2Ops.gelu($0)) }
    }

    // MARK: Causal attention

    func testCausalAttentionHandCase() {
        // One head of width D = 1 (scale 1), T = 2 tokens; per token (q, k, v).
        let qkv: [Double] = [1, 2, 3,      // token 0
                             0.5, -1, 5]   // token 1
        let f = GPT2Ops.causalAttention(qkv, batch: 1, tokens: 2, width: 1, heads: 1)
        // Token 0 sees only itself; token 1 scores (0.5·2, 0.5·(−1)) = (1, −0.5).
        let p0 = exp(1.0) / (exp(1.0) + exp(-0.5))
        XCTAssertEqual(f.out[0], 3)
        XCTAssertEqual(f.out[1], p0 * 3 + (1 - p0) * 5, accuracy: 1e-15)
        XCTAssertEqual(f.probs[0], 1)
        XCTAssertEqual(f.probs[1], 0)
        XCTAssertEqual(f.probs[2], p0, accuracy: 1e-15)
        XCTAssertEqual(f.probs[3], 1 - p0, accuracy: 1e-15)
        // Scores are scaled by 1/√D: D = 4, q₁ · k₀ = 1 and q₁ · k₁ = 2 give scores 0.5 and 1.
        var wide = [Double](repeating: 0, count: 2 * 12)
        wide[4] = 1                                         // k₀ = (1, 0, 0, 0)
        wide[12] = 1; wide[13] = 1                          // q₁ = (1, 1, 0, 0)
        wide[16] = 1; wide[17] = 1                          // k₁ = (1, 1, 0, 0)
        wide[8] = 2; wide[20] = -2                          // v₀ = (2, …), v₁ = (−2, …)
        let g = GPT2Ops.causalAttention(wide, batch: 1, tokens: 2, width: 4, heads: 1)
        let a = exp(0.5) / (exp(0.5) + exp(1.0))
        XCTAssertEqual(g.probs[2], a, accuracy: 1e-15)
        XCTAssertEqual(g.out[4], 2 * a - 2 * (1 - a), accuracy: 1e-15)
    }

    func testCausalAttentionGradients() {
        // (B, T, H, D): a single token, an odd length with two heads of width 3, one wide head.
        for (B, n, H, D) in [(2, 1, 2, 3), (2, 5, 2, 3), (1, 4, 1, 2)] {
            let W = H * D
            let qkv = gpt2Gaussian(B * n * 3 * W, seed: UInt64(11 + n))
            let r = gpt2Gaussian(B * n * W, seed: UInt64(12 + n))
            let f = GPT2Ops.causalAttention(qkv, batch: B, tokens: n, width: W, heads: H)
            let dqkv = GPT2Ops.causalAttentionBackward(qkv, batch: B, tokens: n, width: W, heads: H, forward: f, dout: r)
            gpt2CheckGradient("dqkv (B \(B), T \(n), H \(H), D \(D))", at: qkv, analytic: dqkv) {
                gpt2Dot(r, GPT2Ops.causalAttention($0, batch: B, tokens: n, width: W, heads: H).out)
            }
            if n > 1 {   // q and k get gradients too, not only v
                XCTAssertGreaterThan(abs(dqkv[(B * n - 1) * 3 * W]), 1e-4)
                XCTAssertGreaterThan(abs(dqkv[(B * n - 1) * 3 * W + W]), 1e-4)
            }
        }
    }

    func testCausalAttentionIsCausal() {
        let B = 2, n = 5, H = 2, D = 3, W = H * D
        let qkv = gpt2Gaussian(B * n * 3 * W, seed: 20)
        var changed = qkv
        for j in 0..<(3 * W) { changed[3 * 3 * W + j] += 1 }      // token 3 of prompt 0: q, k and v
        let a = GPT2Ops.causalAttention(qkv, batch: B, tokens: n, width: W, heads: H)
        let b = GPT2Ops.causalAttention(changed, batch: B, tokens: n, width: W, heads: H)
        for t in 0..<n {
            let rowA = Array(a.out[(t * W)..<((t + 1) * W)]), rowB = Array(b.out[(t * W)..<((t + 1) * W)])
            if t < 3 { XCTAssertEqual(rowA, rowB, "token \(t) must not see token 3") } else { XCTAssertNotEqual(rowA, rowB) }
        }
        XCTAssertEqual(Array(a.out[(n * W)...]), Array(b.out[(n * W)...]), "prompt 1 must not see prompt 0")
        // Every probability row sums to 1 and is exactly zero above the diagonal.
        for row in 0..<(B * H * n) {
            let t = row % n
            let p = Array(a.probs[(row * n)..<((row + 1) * n)])
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-14)
            for u in 0..<n where u > t { XCTAssertEqual(p[u], 0) }
            for u in 0...t { XCTAssertGreaterThan(p[u], 0) }
        }
    }

    func testCausalAttentionIsShiftStable() {
        // Huge scores must not overflow: the softmax subtracts the row maximum.
        let qkv: [Float] = [100, 100, 1, 100, -100, 2]
        let f = GPT2Ops.causalAttention(qkv, batch: 1, tokens: 2, width: 1, heads: 1)
        XCTAssertTrue(f.out.allSatisfy(\.isFinite) && f.probs.allSatisfy(\.isFinite))
        XCTAssertEqual(f.out[1], 1, accuracy: 1e-6)
    }

    // MARK: Residual, read-in, query token, read-out

    func testResidualAdd() {
        XCTAssertEqual(GPT2Ops.residualAdd([1, 2, 3] as [Double], [0.5, -2, 4]), [1.5, 0, 7])
    }

    func testReadInGradients() {
        let B = 2, n = 3, d = 4, W = 5, maxTokens = 4
        let p = gpt2Gaussian(B * n * d, seed: 21), w = gpt2Gaussian(W * d, seed: 22)
        let b = gpt2Gaussian(W, seed: 23), pos = gpt2Gaussian(maxTokens * W, seed: 24)
        let r = gpt2Gaussian(B * n * W, seed: 25)
        let h = GPT2Ops.readIn(p, batch: B, tokens: n, d: d, width: W, weight: w, bias: b, pos: pos)
        // Hand value: h_{1,2}[0] = W_in[0] · p_{1,2} + b[0] + pos_2[0].
        var want = b[0] + pos[2 * W]
        for j in 0..<d { want += w[j] * p[(1 * n + 2) * d + j] }
        XCTAssertEqual(h[(1 * n + 2) * W], want, accuracy: 1e-14)
        let g = GPT2Ops.readInBackward(p, batch: B, tokens: n, d: d, width: W, maxTokens: maxTokens, dh: r)
        func loss(_ w: [Double], _ b: [Double], _ pos: [Double]) -> Double {
            gpt2Dot(r, GPT2Ops.readIn(p, batch: B, tokens: n, d: d, width: W, weight: w, bias: b, pos: pos))
        }
        gpt2CheckGradient("dW_in", at: w, analytic: g.dWeight) { loss($0, b, pos) }
        gpt2CheckGradient("db_in", at: b, analytic: g.dBias) { loss(w, $0, pos) }
        gpt2CheckGradient("dpos", at: pos, analytic: g.dPos) { loss(w, b, $0) }
        XCTAssertEqual(Array(g.dPos[(n * W)...]), [Double](repeating: 0, count: (maxTokens - n) * W), "unused positions")
    }

    func testQueryTokenAndReadOutGradients() {
        let B = 3, n = 4, W = 5
        let h = gpt2Gaussian(B * n * W, seed: 26), w = gpt2Gaussian(W, seed: 27), b = [0.3]
        let r = gpt2Gaussian(B, seed: 28)
        let q = GPT2Ops.queryToken(h, batch: B, tokens: n, width: W)
        XCTAssertEqual(Array(q[W..<(2 * W)]), Array(h[((1 * n + 3) * W)..<((1 * n + 4) * W)]), "prompt 1's last token")
        let F = GPT2Ops.readOut(q, batch: B, width: W, weight: w, bias: b)
        XCTAssertEqual(F[2], gpt2Dot(w, Array(q[(2 * W)...])) + 0.3, accuracy: 1e-14)
        let g = GPT2Ops.readOutBackward(q, batch: B, width: W, weight: w, dF: r)
        let dh = GPT2Ops.queryTokenBackward(g.dx, batch: B, tokens: n, width: W)
        func loss(_ h: [Double], _ w: [Double], _ b: [Double]) -> Double {
            gpt2Dot(r, GPT2Ops.readOut(GPT2Ops.queryToken(h, batch: B, tokens: n, width: W), batch: B, width: W,
                                       weight: w, bias: b))
        }
        gpt2CheckGradient("dh", at: h, analytic: dh) { loss($0, w, b) }
        gpt2CheckGradient("dw_out", at: w, analytic: g.dWeight) { loss(h, $0, b) }
        gpt2CheckGradient("db_out", at: b, analytic: g.dBias) { loss(h, w, $0) }
    }
}
