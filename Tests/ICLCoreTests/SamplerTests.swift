import XCTest
@testable import ICLCore

final class SamplerTests: XCTestCase {
    private func dot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        var s: Float = 0
        for (x, y) in zip(a, b) { s += x * y }
        return s
    }

    private func row(_ m: [Float], _ i: Int, _ n: Int) -> ArraySlice<Float> { m[(i * n)..<((i + 1) * n)] }

    /// The task of prompt `prompt` at `step`, from the documented head block (word 0 picks the task).
    private func task(of spec: PromptSpec, step: Int, prompt: Int) -> BinaryTask {
        let head = Philox.block(0xFFFF_FFFF, UInt32(prompt), UInt32(step), spec.stream, key: spec.seed)
        return spec.tasks[Philox.below(head.0, spec.tasks.count)]
    }

    /// A decoded column: relevant pattern index, irrelevant index, κ, label sign (0 for the query), and
    /// `ok`: the column is exactly μ_j + κν_k (residual < 1e-5, projection onto μ_j is 1) with label slot
    /// ±q (0 for the query). Plain loops over unsafe buffers: this runs on ~10⁵ columns in a debug build.
    private struct Column { var pattern: Int; var k: Int; var kappa: Float; var label: Float; var ok: Bool }

    private func decode(_ p: UnsafeBufferPointer<Float>, at col: Int, spec s: PromptSpec, isQuery: Bool) -> Column {
        s.relevant.withUnsafeBufferPointer { rel in
            s.irrelevant.withUnsafeBufferPointer { irr in
                let dX = s.dX
                var beta2: Float = 0
                for t in 0..<dX { beta2 += rel[t] * rel[t] }
                var pattern = 0, best: Float = -.infinity
                for j in 0..<s.nRelevant {
                    var c: Float = 0
                    for t in 0..<dX { c += p[col + t] * rel[j * dX + t] }
                    c /= beta2
                    if c > best { best = c; pattern = j }
                }
                var k = 0, kappa: Float = 0
                for i in 0..<s.nIrrelevant {
                    var c: Float = 0
                    for t in 0..<dX { c += p[col + t] * irr[i * dX + t] }
                    if abs(c) > abs(kappa) { kappa = c; k = i }
                }
                var res: Float = 0
                for t in 0..<dX {
                    res = max(res, abs(p[col + t] - rel[pattern * dX + t] - kappa * irr[k * dX + t]))
                }
                var ok = abs(best - 1) < 1e-4 && res < 1e-5
                var plus = true, minus = true, zero = true
                for t in 0..<s.dY {
                    let y = p[col + dX + t]
                    plus = plus && y == s.q[t]
                    minus = minus && y == -s.q[t]
                    zero = zero && y == 0
                }
                var label: Float = 0
                if isQuery { ok = ok && zero } else if plus { label = 1 } else if minus { label = -1 } else { ok = false }
                return Column(pattern: pattern, k: k, kappa: kappa, label: label, ok: ok)
            }
        }
    }

    private func defaultSpec(alpha: Float? = nil) -> (Config, PromptSpec) {
        var c = Config()
        if let alpha { c.alpha = alpha }
        let bank = PatternBank(config: c)
        return (c, PromptSpec.training(c, bank: bank))
    }

    // MARK: Shape and exact structure

    func testShapeAndLabelSlots() {
        let (c, spec) = defaultSpec()
        let B = 50
        let pb = PromptSampler.sample(spec, step: 3, batch: B)
        XCTAssertEqual(pb.batch, B)
        XCTAssertEqual(pb.length, c.lTrain)
        XCTAssertEqual(pb.d, c.d)
        XCTAssertEqual(pb.prompts.count, B * (c.lTrain + 1) * c.d)
        XCTAssertEqual(pb.labels.count, B)
        let cols = c.lTrain + 1
        for b in 0..<B {
            XCTAssertTrue(pb.labels[b] == 1 || pb.labels[b] == -1)
            for j in 0..<cols {
                let col = (b * cols + j) * c.d
                let y = Array(pb.prompts[(col + c.dX)..<(col + c.d)])
                if j == c.lTrain {
                    XCTAssertEqual(y, [Float](repeating: 0, count: c.dY))
                } else {
                    XCTAssertTrue(y == spec.q || y == spec.q.map { -$0 }, "prompt \(b) column \(j)")
                }
            }
        }
    }

    func testDeterminism() {
        let (_, spec) = defaultSpec()
        let a = PromptSampler.sample(spec, step: 11, batch: 16)
        let b = PromptSampler.sample(spec, step: 11, batch: 16)
        XCTAssertEqual(a.prompts.map(\.bitPattern), b.prompts.map(\.bitPattern))
        XCTAssertEqual(a.labels, b.labels)
        XCTAssertNotEqual(PromptSampler.sample(spec, step: 12, batch: 16).prompts, a.prompts)
        var other = spec
        other.stream = RNGStream.evalBase.rawValue
        XCTAssertNotEqual(PromptSampler.sample(other, step: 11, batch: 16).prompts, a.prompts)
        var reseeded = spec
        reseeded.seed = spec.seed + 1
        XCTAssertNotEqual(PromptSampler.sample(reseeded, step: 11, batch: 16).prompts, a.prompts)
        // Prompts within a batch differ from each other.
        let n = (spec.length + 1) * spec.d
        XCTAssertNotEqual(Array(a.prompts[0..<n]), Array(a.prompts[n..<(2 * n)]))
    }

    func testFirstPromptOffset() {
        let (_, spec) = defaultSpec()
        let n = (spec.length + 1) * spec.d
        let big = PromptSampler.sample(spec, step: 7, batch: 20)
        let part = PromptSampler.sample(spec, step: 7, batch: 10, firstPrompt: 5)
        XCTAssertEqual(part.batch, 10)
        XCTAssertEqual(part.prompts, Array(big.prompts[(5 * n)..<(15 * n)]))
        XCTAssertEqual(part.labels, Array(big.labels[5..<15]))
    }

    // MARK: Statistics

    func testStatisticsAtDefaultAlpha() {
        let (c, spec) = defaultSpec()
        XCTAssertEqual(spec.alpha, 0.8)
        XCTAssertEqual(spec.length, 20)
        let l = spec.length, cols = l + 1, d = spec.d, dX = spec.dX
        let prompts = 20_000, chunk = 2_000, step = 5, fullDecode = 1_000
        var nA = 0, nB = 0, nOther = 0, otherPlus = 0, queryA = 0
        var badColumns = 0, badQueries = 0, badLabels = 0, maxAbsKappa: Float = 0
        var otherCounts = [Int](repeating: 0, count: spec.nRelevant)
        var kappaSum = 0.0, kappaSq = 0.0, kappaN = 0
        var kCounts = [Int](repeating: 0, count: spec.nIrrelevant)
        let beta2 = dot(row(spec.relevant, 0, dX), row(spec.relevant, 0, dX))
        let q0 = spec.q[0]
        for start in stride(from: 0, to: prompts, by: chunk) {
            let pb = PromptSampler.sample(spec, step: step, batch: chunk, firstPrompt: start)
            pb.prompts.withUnsafeBufferPointer { p in
                spec.relevant.withUnsafeBufferPointer { rel in
                    for b in 0..<chunk {
                        let t = task(of: spec, step: step, prompt: start + b)
                        let full = start + b < fullDecode   // full decode (κ, k, residual, every pattern) on a subset
                        for j in 0..<cols {
                            let col = (b * cols + j) * d
                            let isQuery = j == l
                            var pattern: Int, label: Float
                            if full {
                                let dc = decode(p, at: col, spec: spec, isQuery: isQuery)
                                if !dc.ok { badColumns += 1 }
                                pattern = dc.pattern; label = dc.label
                                maxAbsKappa = max(maxAbsKappa, abs(dc.kappa))
                                kappaSum += Double(dc.kappa); kappaSq += Double(dc.kappa * dc.kappa); kappaN += 1
                                if abs(dc.kappa) > 0.05 { kCounts[dc.k] += 1 }
                            } else {
                                // Fast path: does the column carry a, b, or neither; and its label sign.
                                var ca: Float = 0, cb: Float = 0
                                for u in 0..<dX {
                                    ca += p[col + u] * rel[t.a * dX + u]
                                    cb += p[col + u] * rel[t.b * dX + u]
                                }
                                ca /= beta2; cb /= beta2
                                if abs(ca - 1) < 1e-4 && abs(cb) < 1e-4 { pattern = t.a }
                                else if abs(cb - 1) < 1e-4 && abs(ca) < 1e-4 { pattern = t.b }
                                else if abs(ca) < 1e-4 && abs(cb) < 1e-4 { pattern = -1 }
                                else { pattern = -2; badColumns += 1 }
                                let y0 = p[col + dX]
                                label = isQuery ? 0 : (y0 == q0 ? 1 : -1)
                            }
                            if isQuery {
                                if pattern != t.a && pattern != t.b { badQueries += 1 }
                                if pattern == t.a { queryA += 1 }
                                if pb.labels[b] != (pattern == t.a ? 1 : -1) { badLabels += 1 }
                            } else if pattern == t.a {
                                nA += 1
                                if label != 1 { badLabels += 1 }
                            } else if pattern == t.b {
                                nB += 1
                                if label != -1 { badLabels += 1 }
                            } else {
                                nOther += 1
                                if label == 1 { otherPlus += 1 }
                                if pattern >= 0 { otherCounts[pattern] += 1 }
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(badColumns, 0, "columns not of the form μ_j + κν_k with label slot ±q")
        XCTAssertEqual(badQueries, 0, "query pattern neither a nor b")
        XCTAssertEqual(badLabels, 0, "a-columns must carry +q, b-columns −q, the query label +1 iff a")
        let ctx = Double(prompts * l)
        XCTAssertEqual(Double(nA + nB + nOther), ctx)
        XCTAssertEqual(Double(nA) / ctx, 0.4, accuracy: 0.01)
        XCTAssertEqual(Double(nB) / ctx, 0.4, accuracy: 0.01)
        XCTAssertEqual(Double(nOther) / ctx, 0.2, accuracy: 0.01)
        XCTAssertEqual(Double(otherPlus) / Double(nOther), 0.5, accuracy: 0.02)
        XCTAssertEqual(Double(queryA) / Double(prompts), 0.5, accuracy: 0.02)
        // On the fully decoded subset: each "other" pattern is one of the M1 − 2 = 4 others, equally often.
        let otherTotal = otherCounts.reduce(0, +)
        XCTAssertGreaterThan(otherTotal, 2000)
        for n in otherCounts { XCTAssertEqual(Double(n) / Double(otherTotal), 1.0 / 6.0, accuracy: 0.03) }
        // κ ~ U(−K, K): |κ| ≤ K, mean 0, E κ² = K²/3; the irrelevant index roughly uniform.
        XCTAssertLessThanOrEqual(maxAbsKappa, c.K + 1e-5)
        XCTAssertGreaterThan(maxAbsKappa, 0.99 * c.K)
        XCTAssertEqual(kappaSum / Double(kappaN), 0, accuracy: 0.01)
        XCTAssertEqual(kappaSq / Double(kappaN), Double(c.K * c.K) / 3, accuracy: 0.004)
        let kTotal = Double(kCounts.reduce(0, +))
        for n in kCounts { XCTAssertEqual(Double(n) / kTotal, 1.0 / 24.0, accuracy: 0.01) }
    }

    func testAlphaOneHasNoOtherColumns() {
        let (_, spec) = defaultSpec(alpha: 1)
        let pb = PromptSampler.sample(spec, step: 1, batch: 300)
        let cols = spec.length + 1
        var seenA = 0, seenB = 0, bad = 0
        pb.prompts.withUnsafeBufferPointer { p in
            for b in 0..<pb.batch {
                let t = task(of: spec, step: 1, prompt: b)
                for j in 0..<spec.length {
                    let dc = decode(p, at: (b * cols + j) * spec.d, spec: spec, isQuery: false)
                    if !dc.ok { bad += 1 }
                    if dc.pattern == t.a && dc.label == 1 { seenA += 1 }
                    else if dc.pattern == t.b && dc.label == -1 { seenB += 1 }
                    else { bad += 1 }
                }
            }
        }
        XCTAssertEqual(bad, 0)
        XCTAssertEqual(seenA + seenB, 300 * spec.length)
        XCTAssertEqual(Double(seenA) / Double(seenA + seenB), 0.5, accuracy: 0.03)
    }

    func testAlphaZeroHasOnlyOtherColumns() {
        let (_, spec) = defaultSpec(alpha: 0)
        let pb = PromptSampler.sample(spec, step: 1, batch: 300)
        let cols = spec.length + 1
        var plus = 0, bad = 0
        pb.prompts.withUnsafeBufferPointer { p in
            for b in 0..<pb.batch {
                let t = task(of: spec, step: 1, prompt: b)
                for j in 0..<spec.length {
                    let dc = decode(p, at: (b * cols + j) * spec.d, spec: spec, isQuery: false)
                    if !dc.ok || dc.pattern == t.a || dc.pattern == t.b { bad += 1 }
                    if dc.label == 1 { plus += 1 }
                }
                // The query is still a or b, with the exact label.
                let q = decode(p, at: (b * cols + spec.length) * spec.d, spec: spec, isQuery: true)
                if !q.ok || (q.pattern != t.a && q.pattern != t.b) { bad += 1 }
                if pb.labels[b] != (q.pattern == t.a ? 1 : -1) { bad += 1 }
            }
        }
        XCTAssertEqual(bad, 0)
        XCTAssertEqual(Double(plus) / Double(300 * spec.length), 0.5, accuracy: 0.03)
    }

    func testTasksDrawnUniformly() {
        let (_, spec) = defaultSpec()
        var counts = [BinaryTask: Int]()
        for p in 0..<18_000 { counts[task(of: spec, step: 0, prompt: p), default: 0] += 1 }
        XCTAssertEqual(counts.count, spec.tasks.count)
        for (_, n) in counts { XCTAssertEqual(Double(n), 1000, accuracy: 120) }
    }

    func testOODSpecUsesOODBank() {
        let c = Config()
        let bank = PatternBank(config: c)
        let spec = PromptSpec.evaluation(c, bank: bank, domain: .outOfDomain, alpha: 1, length: 6)
        XCTAssertEqual(spec.relevant, bank.odr)
        XCTAssertEqual(spec.irrelevant, bank.odi)
        XCTAssertEqual(spec.tasks, TaskSets.ood(c))
        XCTAssertEqual(spec.length, 6)
        let pb = PromptSampler.sample(spec, step: 0, batch: 20)
        let cols = spec.length + 1
        for b in 0..<20 {
            for j in 0..<cols {
                // x = μ′_j + κ ν′_k: projection onto the ODR pattern is ‖μ′‖², onto the others 0.
                let x = pb.prompts[((b * cols + j) * spec.d)..<((b * cols + j) * spec.d + spec.dX)]
                let coeffs = (0..<spec.nRelevant).map { dot(x, row(spec.relevant, $0, spec.dX)) / dot(row(spec.relevant, $0, spec.dX), row(spec.relevant, $0, spec.dX)) }
                XCTAssertEqual(coeffs.filter { abs($0 - 1) < 1e-4 }.count, 1)
                XCTAssertEqual(coeffs.filter { abs($0) < 1e-4 }.count, spec.nRelevant - 1)
            }
        }
        let ev = PromptSpec.evaluation(c, bank: bank, domain: .inDomain)
        XCTAssertEqual(ev.tasks, TaskSets.unseen(c))
        XCTAssertEqual(ev.alpha, c.alphaTest)
        XCTAssertEqual(ev.length, c.lTest)
        XCTAssertEqual(ev.relevant, bank.idr)
    }

    // MARK: PatternBank

    func testPatternBankGeometry() {
        var c = Config()
        c.beta = 2
        c.S1 = 1.3
        let bank = PatternBank(config: c)
        let dX = c.dX
        XCTAssertEqual(bank.idr.count, c.M1 * dX)
        XCTAssertEqual(bank.idi.count, c.M2 * dX)
        XCTAssertEqual(bank.odr.count, c.M1ood * dX)
        XCTAssertEqual(bank.odi.count, c.M2 * dX)
        XCTAssertEqual(bank.q.count, c.dY)
        let rows = (0..<c.M1).map { row(bank.idr, $0, dX) } + (0..<c.M2).map { row(bank.idi, $0, dX) }
        for i in rows.indices {
            let n2 = dot(rows[i], rows[i])
            XCTAssertEqual(n2, i < c.M1 ? 4 : 1, accuracy: 1e-5, "row \(i)")
            for j in 0..<i { XCTAssertLessThan(abs(dot(rows[i], rows[j])), 1e-5, "rows \(i), \(j)") }
        }
        // Not axis-aligned with the random basis.
        XCTAssertGreaterThan(bank.idr.filter { $0 != 0 }.count, c.M1 * dX / 2)
        // ODR μ′_j = (S1/2)(μ_{2j} + μ_{2j+1}).
        for j in 0..<c.M1ood {
            for t in 0..<dX {
                let want = c.S1 / 2 * (bank.idr[2 * j * dX + t] + bank.idr[(2 * j + 1) * dX + t])
                XCTAssertEqual(bank.odr[j * dX + t], want, accuracy: 1e-6)
            }
        }
        // ODI orthonormal, inside span{ν}, and not just ν itself.
        for k in 0..<c.M2 {
            let v = row(bank.odi, k, dX)
            XCTAssertEqual(dot(v, v), 1, accuracy: 1e-5)
            for k2 in 0..<k { XCTAssertLessThan(abs(dot(v, row(bank.odi, k2, dX))), 1e-5) }
            var residual = Array(v)
            for i in 0..<c.M2 {
                let nu = row(bank.idi, i, dX)
                let coef = dot(v, nu)
                for t in 0..<dX { residual[t] -= coef * nu[nu.startIndex + t] }
            }
            XCTAssertLessThan(residual.map(abs).max()!, 1e-5, "ODI row \(k) leaves span{ν}")
            for j in 0..<c.M1 { XCTAssertLessThan(abs(dot(v, row(bank.idr, j, dX))), 1e-5) }
        }
        XCTAssertNotEqual(bank.odi, bank.idi)
        XCTAssertEqual(dot(bank.q[...], bank.q[...]), 1, accuracy: 1e-6)
        XCTAssertEqual(bank.idrMean.count, dX)
        for t in 0..<dX {
            let mean = (0..<c.M1).reduce(Float(0)) { $0 + bank.idr[$1 * dX + t] } / Float(c.M1)
            XCTAssertEqual(bank.idrMean[t], mean, accuracy: 1e-6)
        }
        // Seeded: same seed same bank, other seed other bank.
        XCTAssertEqual(PatternBank(config: c), bank)
        var c2 = c
        c2.seed = 2
        XCTAssertNotEqual(PatternBank(config: c2).idr, bank.idr)
    }

    func testIdentityBasis() {
        var c = Config()
        c.basis = "identity"
        c.beta = 1.5
        c.dX = 33
        let bank = PatternBank(config: c)
        for j in 0..<c.M1 {
            for t in 0..<c.dX { XCTAssertEqual(bank.idr[j * c.dX + t], t == j ? 1.5 : 0) }
        }
        for k in 0..<c.M2 {
            for t in 0..<c.dX { XCTAssertEqual(bank.idi[k * c.dX + t], t == c.M1 + k ? 1 : 0) }
        }
    }

    // MARK: TaskSets

    func testTaskSetsDefault() {
        let c = Config()
        let train = TaskSets.train(c), unseen = TaskSets.unseen(c)
        XCTAssertEqual(train.count, 18)
        XCTAssertEqual(unseen.count, 12)
        XCTAssertEqual(Set(train).count, 18)
        XCTAssertTrue(Set(train).isDisjoint(with: Set(unseen)))
        var all = Set<BinaryTask>()
        for a in 0..<6 { for b in 0..<6 where a != b { all.insert(BinaryTask(a, b)) } }
        XCTAssertEqual(all.count, 30)
        XCTAssertEqual(Set(train).union(unseen), all)
        for t in train + unseen { XCTAssertNotEqual(t.a, t.b) }
        // Every pattern is a and b equally often in T_tr.
        var asA = [Int](repeating: 0, count: 6), asB = [Int](repeating: 0, count: 6)
        for t in train { asA[t.a] += 1; asB[t.b] += 1 }
        XCTAssertEqual(asA, [Int](repeating: 3, count: 6))
        XCTAssertEqual(asB, [Int](repeating: 3, count: 6))
        let ood = TaskSets.ood(c)
        XCTAssertEqual(ood.count, 6)
        XCTAssertEqual(Set(ood).count, 6)
        for t in ood { XCTAssertTrue(t.a < 3 && t.b < 3 && t.a != t.b) }
    }

    func testTaskSetsCustomShifts() {
        var c = Config()
        c.trainShifts = [1]
        let train = TaskSets.train(c)
        XCTAssertEqual(train, (0..<6).map { BinaryTask($0, ($0 + 1) % 6) })
        XCTAssertEqual(TaskSets.unseen(c).count, 24)
        c.trainShifts = [1, 1, 7 - 6]
        XCTAssertEqual(TaskSets.train(c).count, 6)   // duplicates removed
    }
}
