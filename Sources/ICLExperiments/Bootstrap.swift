import Foundation

/// A percentile bootstrap over seeds: the seeds are drawn with replacement, the statistic recomputed on each
/// draw, and the central `level` of the draws kept. Deterministic (a fixed SplitMix64 stream), so a report
/// renders to the same bytes every time.
enum Bootstrap {
    /// The interval of `statistic` over `draws` resamples of `seeds`; draws whose statistic is not finite are
    /// dropped. nil when fewer than two seeds or no finite draw.
    static func interval(seeds: [Int], draws: Int = 2000, level: Double = 0.95,
                         statistic: ([Int]) -> Double) -> (lo: Double, hi: Double)? {
        guard seeds.count >= 2 else { return nil }
        var state: UInt64 = 0x1C1_B007_57A9
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var values: [Double] = []
        for _ in 0..<draws {
            let sample = seeds.map { _ in seeds[Int(next() % UInt64(seeds.count))] }
            let v = statistic(sample)
            if v.isFinite { values.append(v) }
        }
        guard !values.isEmpty else { return nil }
        values.sort()
        func quantile(_ q: Double) -> Double { values[min(values.count - 1, max(0, Int((q * Double(values.count - 1)).rounded())))] }
        return (quantile((1 - level) / 2), quantile((1 + level) / 2))
    }
}

extension AggregatedTable {
    /// The seeds of a per-seed table (key column `seed`), in order.
    var seeds: [Int] { Array(Set(rows.compactMap { Int($0.key("seed")) })).sorted() }

    /// The log-log slope of `y` against `x` over the mean, per `group` key, of the given seeds' rows (seeds
    /// may repeat: a bootstrap draw). `transform` maps the key column `x`'s number to the plotted x.
    func slopeOverSeeds(_ seeds: [Int], group: String, y: String, x transform: (Double) -> Double) -> Double {
        var sums: [String: (x: Double, sum: Double, n: Int)] = [:]
        for s in seeds {
            for r in rows(where: ["seed": String(s)]) {
                guard let v = r.mean[y], v.isFinite else { continue }
                let old = sums[r.key(group)] ?? (transform(r.number(group)), 0, 0)
                sums[r.key(group)] = (old.x, old.sum + v, old.n + 1)
            }
        }
        let points = sums.values.sorted { $0.x < $1.x }
        return logLogFit(points.map(\.x), points.map { $0.sum / Double($0.n) }).slope
    }
}
