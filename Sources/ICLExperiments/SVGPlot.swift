import Foundation

// A small, dependency-free SVG chart renderer for the reproduction figures: error-vs-length curves with
// mean ± std bands, log axes, legends, and bar charts. The output is a function of the input alone
// (fixed palette, fixed number formats, no dictionaries), so the same figure renders to the same bytes.

// MARK: - Model

/// One data series of a panel.
public struct PlotSeries: Sendable {
    /// How the series' points are drawn.
    public enum Style: Sendable {
        /// A line through the points in the order given; it breaks at non-finite values.
        case line
        /// One bar per point, from the baseline (0 on a linear axis, the bottom of a log axis) to the value.
        case bars
        /// A small circle per point.
        case points
    }

    /// Legend text.
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Optional band, e.g. mean − std (same count as `x`).
    public var lower: [Double]?
    /// Optional band, e.g. mean + std (same count as `x`).
    public var upper: [Double]?
    public var style: Style
    /// Draws the line dashed (line series only).
    public var dashed: Bool

    public init(name: String, x: [Double], y: [Double], lower: [Double]? = nil, upper: [Double]? = nil,
                style: Style = .line, dashed: Bool = false) {
        self.name = name
        self.x = x
        self.y = y
        self.lower = lower
        self.upper = upper
        self.style = style
        self.dashed = dashed
    }
}

/// One chart: axes, series, legend.
public struct PlotPanel: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xLog: Bool
    public var yLog: Bool
    public var series: [PlotSeries]
    /// On a log axis, values ≤ 0 (or below this) are drawn at this floor; default: half the smallest positive
    /// value in the panel (bands included), or 1e-4 if none. The axis label then gets
    /// " (≤ FLOOR drawn at FLOOR)" appended only when some value was actually clamped.
    public var logFloor: Double?
    /// Horizontal reference lines (e.g. a threshold), drawn dashed grey with a small label. On a log y axis,
    /// lines at y ≤ 0 are not drawn.
    public var referenceLines: [(y: Double, label: String)]

    public init(title: String, xLabel: String, yLabel: String, xLog: Bool = false, yLog: Bool = false,
                series: [PlotSeries], logFloor: Double? = nil, referenceLines: [(y: Double, label: String)] = []) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xLog = xLog
        self.yLog = yLog
        self.series = series
        self.logFloor = logFloor
        self.referenceLines = referenceLines
    }
}

/// A figure of one or more panels laid out in a grid, rendered as a standalone SVG document.
public struct SVGFigure: Sendable {
    public var title: String
    public var panels: [PlotPanel]
    /// Panels per row; default min(panels.count, 3) (at least 1).
    public var columns: Int
    public var panelWidth: Double = 460
    public var panelHeight: Double = 340

    /// Height of the band above the panels that holds the figure title.
    static let titleHeight = 36.0

    public init(title: String, panels: [PlotPanel], columns: Int? = nil) {
        self.title = title
        self.panels = panels
        self.columns = columns ?? max(1, min(panels.count, 3))
    }

    /// The SVG document text (starts with `<?xml` then `<svg xmlns="http://www.w3.org/2000/svg" ...>`).
    public func render() -> String {
        let cols = max(1, columns)
        let rows = (panels.count + cols - 1) / cols
        // Below these sizes the plot area would vanish; the renderer never draws smaller panels.
        let pw = max(panelWidth.isFinite ? panelWidth : 0, 240)
        let ph = max(panelHeight.isFinite ? panelHeight : 0, 160)
        let width = Double(max(1, min(cols, panels.count))) * pw
        let height = Self.titleHeight + Double(rows) * ph + (rows == 0 ? 24 : 0)

        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(SVGText.number(width))" height="\#(SVGText.number(height))" "#
                + #"viewBox="0 0 \#(SVGText.number(width)) \#(SVGText.number(height))" font-family="sans-serif">"#,
            "<style>",
            "text { fill: #222; }",
            ".figure-title { font-size: 16px; font-weight: bold; }",
            ".title { font-size: 13px; font-weight: bold; }",
            ".label { font-size: 11px; }",
            ".tick { font-size: 10px; fill: #444; }",
            ".legend text { font-size: 11px; }",
            ".reference-label { font-size: 9px; fill: #555; }",
            "</style>",
            #"<rect x="0" y="0" width="\#(SVGText.number(width))" height="\#(SVGText.number(height))" fill="\#(PlotInk.background)"/>"#,
            #"<text class="figure-title" x="\#(SVGText.number(width / 2))" y="24" text-anchor="middle">"#
                + "\(SVGText.escaped(title))</text>",
        ]
        for (i, panel) in panels.enumerated() {
            let originX = Double(i % cols) * pw
            let originY = Self.titleHeight + Double(i / cols) * ph
            lines += PanelRenderer(panel: panel, width: pw, height: ph).render(originX: originX, originY: originY)
        }
        lines.append("</svg>")
        return lines.joined(separator: "\n") + "\n"
    }
}

// MARK: - Text and numbers

/// XML escaping and the fixed number formats of the output.
enum SVGText {
    /// Text safe inside XML content and attribute values: the five special characters become entities, and
    /// control characters XML does not allow are dropped.
    static func escaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A coordinate with two decimals; never "nan", "inf" or "-0.00".
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "0.00" }
        let s = String(format: "%.2f", v)
        return s == "-0.00" ? "0.00" : s
    }

    /// A short human-readable value (3 significant digits), e.g. "0.0005", "5e-5", "1.25e6".
    static func short(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        var s = String(format: "%.3g", v)
        s = s.replacingOccurrences(of: "e-0", with: "e-")
            .replacingOccurrences(of: "e+0", with: "e")
            .replacingOccurrences(of: "e+", with: "e")
        return s
    }
}

/// The fixed non-series colours.
enum PlotInk {
    static let background = "#ffffff"
    static let grid = "#e8e8e8"
    static let reference = "#888888"
    static let axis = "#333333"
}

/// The fixed palette; series take colours by index, cycling after ten.
let plotPalette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

// MARK: - Axes

/// The smallest and largest of the values added to it.
struct Extent {
    var lo = Double.infinity
    var hi = -Double.infinity
    var isEmpty: Bool { lo > hi }

    mutating func add(_ v: Double?) {
        guard let v, v.isFinite else { return }
        lo = min(lo, v)
        hi = max(hi, v)
    }
}

/// One axis: its domain in axis space (the value itself, or log10 of it on a log axis), ticks and labels.
struct AxisScale {
    struct Tick {
        var position: Double   // axis space
        var label: String
    }

    let isLog: Bool
    let lo: Double
    let hi: Double
    let ticks: [Tick]
    /// Unlabelled ticks (2…9 × 10^k on a log axis), axis space.
    let minorTicks: [Double]

    /// Where a data value lies along the axis: 0 at the domain's start, 1 at its end.
    func fraction(_ v: Double) -> Double {
        let t = isLog ? log10(v) : v
        return (t - lo) / (hi - lo)
    }

    /// A linear axis over the extent with "nice" ticks (1, 2 or 5 × 10^k apart, at most 8). Each end of the
    /// domain rounds outward to a tick when that adds at most 10% of the span; otherwise it stays at the data
    /// with a 2% margin (so e.g. bars at 0…63 don't get an axis from −20 to 80).
    static func linear(_ extent: Extent) -> AxisScale {
        var lo = extent.isEmpty ? 0 : max(extent.lo, -1e300)
        var hi = extent.isEmpty ? 1 : min(extent.hi, 1e300)
        if hi - lo <= max(abs(lo), abs(hi)) * 1e-12 {   // all values (practically) equal: widen around them
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad
            hi += pad
        }
        let span = hi - lo
        func domain(_ step: Double) -> (lo: Double, hi: Double) {
            let outLo = (lo / step + 1e-9).rounded(.down) * step
            let outHi = (hi / step - 1e-9).rounded(.up) * step
            return (lo - outLo <= span * 0.1 ? outLo : lo - span * 0.02,
                    outHi - hi <= span * 0.1 ? outHi : hi + span * 0.02)
        }
        /// The multiples of `step` inside the domain.
        func ticks(_ step: Double) -> [Double] {
            let d = domain(step)
            let first = (d.lo / step - 1e-9).rounded(.up), last = (d.hi / step + 1e-9).rounded(.down)
            return first > last ? [] : (0...Int(last - first)).map { (first + Double($0)) * step }
        }

        // The smallest nice step giving at most 8 ticks. The first candidate (10^e ≤ span/8) gives at least 8,
        // and each next one at most 2.5 times fewer, so the chosen step still gives several.
        var exponent = log10(span / 8).rounded(.down)
        var step = 0.0
        search: while true {
            for mantissa in [1.0, 2, 5] where ticks(mantissa * pow(10, exponent)).count <= 8 {
                step = mantissa * pow(10, exponent)
                break search
            }
            exponent += 1
        }
        let d = domain(step), values = ticks(step)
        let decimals = max(0, -Int((log10(step) + 1e-9).rounded(.down)))
        let scientific = decimals > 4 || max(abs(d.lo), abs(d.hi)) >= 1e6
        let labelled = values.map { v in
            Tick(position: v, label: scientific ? scientificLabel(v, step: step) : String(format: "%.\(decimals)f", v + 0.0))
        }
        return AxisScale(isLog: false, lo: d.lo, hi: d.hi, ticks: labelled, minorTicks: [])
    }

    /// A log axis over the (positive) extent, widened to whole decades with a tick at each decade (or every
    /// few decades when more than eight are covered).
    static func log(_ extent: Extent) -> AxisScale {
        let lo = extent.isEmpty ? 1 : extent.lo, hi = extent.isEmpty ? 10 : extent.hi
        var d0 = (log10(lo) + 1e-9).rounded(.down)
        var d1 = (log10(hi) - 1e-9).rounded(.up)
        if d1 <= d0 {   // a single value on a decade: one decade either side
            d0 -= 1
            d1 += 1
        }
        let step = max(1, ((d1 - d0) / 8).rounded(.up))
        d0 = (d0 / step).rounded(.down) * step
        d1 = (d1 / step).rounded(.up) * step
        let ticks = stride(from: d0, through: d1, by: step).map { Tick(position: $0, label: decadeLabel(Int($0))) }
        var minor: [Double] = []
        if step == 1 && d1 - d0 <= 6 {
            for d in stride(from: d0, to: d1, by: 1) {
                minor += (2...9).map { d + log10(Double($0)) }
            }
        }
        return AxisScale(isLog: true, lo: d0, hi: d1, ticks: ticks, minorTicks: minor)
    }

    /// 10^k as "0.01", "0.1", "1", "10", "100", "1000" for −2 ≤ k ≤ 3, else "1e-3", "1e4".
    static func decadeLabel(_ k: Int) -> String {
        switch k {
        case 0...3: return "1" + String(repeating: "0", count: k)
        case -2 ..< 0: return "0." + String(repeating: "0", count: -k - 1) + "1"
        default: return "1e\(k)"
        }
    }

    /// A tick value as mantissa "e" exponent, with as many mantissa digits as the step needs (e.g. "1.25e6").
    static func scientificLabel(_ v: Double, step: Double) -> String {
        guard v != 0 else { return "0" }
        let e = (log10(abs(v)) + 1e-9).rounded(.down)
        let digits = min(6, max(0, Int(e - (log10(step) + 1e-9).rounded(.down))))
        var mantissa = String(format: "%.\(digits)f", v / pow(10, e))
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return "\(mantissa)e\(Int(e))"
    }
}

/// Makes raw values drawable on one axis: non-finite values become nil; on a log axis, values below the
/// floor (≤ 0 included) are raised to it, and that is remembered for the axis label's note.
struct AxisValues {
    let isLog: Bool
    let floor: Double
    private(set) var clamped = false

    /// The floor: `explicit` when usable, else half the smallest positive finite value, else 1e-4.
    init(isLog: Bool, explicit: Double?, values: [[Double]]) {
        self.isLog = isLog
        if let f = explicit, f.isFinite, f > 0 {
            floor = f
        } else {
            let positive = values.joined().filter { $0.isFinite && $0 > 0 }
            floor = positive.min().map { $0 / 2 } ?? 1e-4
        }
    }

    mutating func prepare(_ v: Double) -> Double? {
        guard v.isFinite else { return nil }
        if isLog && v < floor {
            clamped = true
            return floor
        }
        return v
    }

    /// The axis label, with the clamping note when some value was raised to the floor.
    func label(_ text: String) -> String {
        guard clamped else { return text }
        let f = SVGText.short(floor)
        return "\(text) (≤ \(f) drawn at \(f))"
    }
}

// MARK: - Panel

/// A series with its values made drawable (see `AxisValues`); pairs run to the shorter array.
struct PreparedSeries {
    var points: [(x: Double?, y: Double?)]
    /// (x, lower, upper) triples; empty when the series has no band.
    var band: [(x: Double?, lower: Double?, upper: Double?)]
}

/// Lays out and draws one panel in its own coordinates (the caller places it with a translate).
struct PanelRenderer {
    let panel: PlotPanel
    let width: Double
    let height: Double

    // Layout, in pixels.
    static let left = 64.0, top = 34.0, bottom = 48.0, gap = 14.0
    static let charWidth = 6.2          // estimated width of one 11 px sans-serif character
    static let swatchWidth = 22.0

    func render(originX: Double, originY: Double) -> [String] {
        // Values, clamped for log axes.
        var xs = AxisValues(isLog: panel.xLog, explicit: panel.logFloor, values: panel.series.map(\.x))
        var ys = AxisValues(isLog: panel.yLog, explicit: panel.logFloor,
                            values: panel.series.flatMap { [$0.y, $0.lower ?? [], $0.upper ?? []] })
        // A point (or band triple) with any non-finite value is not drawn, so it is not clamped either.
        let prepared = panel.series.map { s -> PreparedSeries in
            let points = (0..<min(s.x.count, s.y.count)).map { i -> (x: Double?, y: Double?) in
                guard s.x[i].isFinite && s.y[i].isFinite else { return (nil, nil) }
                return (xs.prepare(s.x[i]), ys.prepare(s.y[i]))
            }
            var band: [(x: Double?, lower: Double?, upper: Double?)] = []
            if let lower = s.lower, let upper = s.upper {
                band = (0..<min(s.x.count, lower.count, upper.count)).map { i in
                    guard s.x[i].isFinite && lower[i].isFinite && upper[i].isFinite else { return (nil, nil, nil) }
                    return (xs.prepare(s.x[i]), ys.prepare(lower[i]), ys.prepare(upper[i]))
                }
            }
            return PreparedSeries(points: points, band: band)
        }

        // Data extents: every drawn point and band, bars' baselines and widths, reference lines.
        var xExtent = Extent(), yExtent = Extent()
        for (s, p) in zip(panel.series, prepared) {
            for pt in p.points where pt.x != nil && pt.y != nil {
                xExtent.add(pt.x)
                yExtent.add(pt.y)
            }
            for b in p.band where b.x != nil && b.lower != nil && b.upper != nil {
                xExtent.add(b.x)
                yExtent.add(b.lower)
                yExtent.add(b.upper)
            }
            if s.style == .bars {
                let barXs = p.points.compactMap { $0.y == nil ? nil : $0.x }
                if !barXs.isEmpty {
                    if !panel.yLog { yExtent.add(0) }
                    if !panel.xLog {
                        let gap = Self.smallestGap(barXs) ?? 1
                        xExtent.add(barXs.min()! - gap / 2)
                        xExtent.add(barXs.max()! + gap / 2)
                    }
                }
            }
        }
        let references = panel.referenceLines.filter { $0.y.isFinite && (!panel.yLog || $0.y > 0) }
        for r in references { yExtent.add(r.y) }
        let xAxis = panel.xLog ? AxisScale.log(xExtent) : AxisScale.linear(xExtent)
        let yAxis = panel.yLog ? AxisScale.log(yExtent) : AxisScale.linear(yExtent)

        // Plot area: left of the legend column, whose names get at most 30% of the panel's width.
        let legendChars = min(panel.series.map { $0.name.count }.max() ?? 0, Int(width * 0.3 / Self.charWidth))
        let legendWidth = panel.series.isEmpty ? 0 : Self.swatchWidth + 6 + Double(legendChars) * Self.charWidth
        let plot = PlotArea(x0: Self.left, y0: Self.top,
                            x1: width - Self.gap - legendWidth - (panel.series.isEmpty ? 0 : Self.gap),
                            y1: height - Self.bottom, xAxis: xAxis, yAxis: yAxis)

        var out = [#"<g class="panel" transform="translate(\#(n(originX)),\#(n(originY)))">"#]
        out.append(#"<text class="title" x="\#(n(width / 2))" y="20" text-anchor="middle">\#(SVGText.escaped(panel.title))</text>"#)
        out += grid(plot)
        out += bands(prepared, plot)
        for (i, (s, p)) in zip(panel.series, prepared).enumerated() {
            out += series(s, p, colour: plotPalette[i % plotPalette.count], plot)
        }
        out += referenceLines(references, plot)
        out += xAxisGroup(plot, label: xs.label(panel.xLabel))
        out += yAxisGroup(plot, label: ys.label(panel.yLabel))
        out += legend(x: plot.x1 + Self.gap, top: plot.y0, bottom: plot.y1, maxChars: legendChars)
        out.append("</g>")
        return out
    }

    /// The smallest positive distance between distinct values, if there are two.
    static func smallestGap(_ values: [Double]) -> Double? {
        let sorted = values.sorted()
        return zip(sorted, sorted.dropFirst()).map { $1 - $0 }.filter { $0 > 0 }.min()
    }

    private func n(_ v: Double) -> String { SVGText.number(v) }

    // MARK: Layers

    /// Light lines at the major ticks.
    func grid(_ plot: PlotArea) -> [String] {
        var out = [#"<g class="grid" stroke="\#(PlotInk.grid)" stroke-width="1">"#]
        for t in plot.xAxis.ticks {
            let x = plot.px(axis: t.position)
            out.append(#"<line x1="\#(n(x))" y1="\#(n(plot.y0))" x2="\#(n(x))" y2="\#(n(plot.y1))"/>"#)
        }
        for t in plot.yAxis.ticks {
            let y = plot.py(axis: t.position)
            out.append(#"<line x1="\#(n(plot.x0))" y1="\#(n(y))" x2="\#(n(plot.x1))" y2="\#(n(y))"/>"#)
        }
        out.append("</g>")
        return out
    }

    /// Every series' band, beneath all lines: upper edge forward, lower edge back, per unbroken run.
    func bands(_ prepared: [PreparedSeries], _ plot: PlotArea) -> [String] {
        var out = [#"<g class="bands">"#]
        for (i, (s, p)) in zip(panel.series, prepared).enumerated() {
            var d: [String] = []
            for run in Self.runs(p.band.map { b -> (x: Double, lower: Double, upper: Double)? in
                guard let x = b.x, let lo = b.lower, let up = b.upper else { return nil }
                return (x, lo, up)
            }) where run.count >= 2 {
                let upper = run.map { "\(n(plot.px($0.x))),\(n(plot.py($0.upper)))" }
                let lower = run.reversed().map { "\(n(plot.px($0.x))),\(n(plot.py($0.lower)))" }
                d.append("M" + (upper + lower).joined(separator: " L") + " Z")
            }
            guard !d.isEmpty else { continue }
            out.append(#"<path class="band" data-name="\#(SVGText.escaped(s.name))" d="\#(d.joined(separator: " "))" "#
                       + #"fill="\#(plotPalette[i % plotPalette.count])" fill-opacity="0.2" stroke="none"/>"#)
        }
        out.append("</g>")
        return out
    }

    /// One series' marks: a broken line, circles, or bars.
    func series(_ s: PlotSeries, _ p: PreparedSeries, colour: String, _ plot: PlotArea) -> [String] {
        let points = p.points.map { pt -> (x: Double, y: Double)? in
            guard let x = pt.x, let y = pt.y else { return nil }
            return (x, y)
        }
        var out = [#"<g class="series" data-name="\#(SVGText.escaped(s.name))">"#]
        switch s.style {
        case .line:
            let runs = Self.runs(points)
            let d = runs.filter { $0.count >= 2 }.map { run in
                "M" + run.map { "\(n(plot.px($0.x))),\(n(plot.py($0.y)))" }.joined(separator: " L")
            }
            if !d.isEmpty {
                let dash = s.dashed ? #" stroke-dasharray="6 4""# : ""
                out.append(#"<path class="line" d="\#(d.joined(separator: " "))" fill="none" stroke="\#(colour)" "#
                           + #"stroke-width="1.8" stroke-linejoin="round"\#(dash)/>"#)
            }
            // An isolated point would draw nothing as a line; mark it.
            for run in runs where run.count == 1 {
                out.append(circle(plot.px(run[0].x), plot.py(run[0].y), colour: colour))
            }
        case .points:
            for case let pt? in points {
                out.append(circle(plot.px(pt.x), plot.py(pt.y), colour: colour))
            }
        case .bars:
            let drawn = points.compactMap { $0 }
            let pixelGap = Self.smallestGap(drawn.map { plot.px($0.x) })
                ?? (panel.xLog ? (plot.x1 - plot.x0) * 0.05 : abs(plot.px(1) - plot.px(0)))
            let barWidth = min(max(pixelGap * 0.8, 0.5), (plot.x1 - plot.x0) * 0.5)
            let base = panel.yLog ? plot.y1 : plot.py(0)
            for pt in drawn {
                let top = plot.py(pt.y)
                out.append(#"<rect class="bar" x="\#(n(plot.px(pt.x) - barWidth / 2))" y="\#(n(min(top, base)))" "#
                           + #"width="\#(n(barWidth))" height="\#(n(abs(base - top)))" fill="\#(colour)" fill-opacity="0.85"/>"#)
            }
        }
        out.append("</g>")
        return out
    }

    func circle(_ x: Double, _ y: Double, colour: String) -> String {
        #"<circle class="point" cx="\#(n(x))" cy="\#(n(y))" r="2.5" fill="\#(colour)"/>"#
    }

    /// Dashed grey horizontal lines, each labelled at its right end.
    func referenceLines(_ lines: [(y: Double, label: String)], _ plot: PlotArea) -> [String] {
        guard !lines.isEmpty else { return [] }
        var out = [#"<g class="reference">"#]
        for r in lines {
            let y = plot.py(r.y)
            out.append(#"<line x1="\#(n(plot.x0))" y1="\#(n(y))" x2="\#(n(plot.x1))" y2="\#(n(y))" stroke="\#(PlotInk.reference)" "#
                       + #"stroke-width="1" stroke-dasharray="4 3"/>"#)
            out.append(#"<text class="reference-label" x="\#(n(plot.x1 - 4))" y="\#(n(y - 4))" text-anchor="end" "#
                       + #"stroke="\#(PlotInk.background)" stroke-width="3" stroke-opacity="0.8" paint-order="stroke">"#
                       + "\(SVGText.escaped(r.label))</text>")
        }
        out.append("</g>")
        return out
    }

    /// The x axis along the bottom of the plot: line, ticks, tick labels, label.
    func xAxisGroup(_ plot: PlotArea, label: String) -> [String] {
        var out = [#"<g class="axis x">"#,
                   #"<line class="domain" x1="\#(n(plot.x0))" y1="\#(n(plot.y1))" x2="\#(n(plot.x1))" y2="\#(n(plot.y1))" stroke="\#(PlotInk.axis)"/>"#]
        for m in plot.xAxis.minorTicks {
            let x = plot.px(axis: m)
            out.append(#"<line class="minor" x1="\#(n(x))" y1="\#(n(plot.y1))" x2="\#(n(x))" y2="\#(n(plot.y1 + 3))" stroke="\#(PlotInk.axis)"/>"#)
        }
        for t in plot.xAxis.ticks {
            let x = plot.px(axis: t.position)
            out.append(#"<line class="tick-mark" x1="\#(n(x))" y1="\#(n(plot.y1))" x2="\#(n(x))" y2="\#(n(plot.y1 + 5))" stroke="\#(PlotInk.axis)"/>"#)
            out.append(#"<text class="tick" x="\#(n(x))" y="\#(n(plot.y1 + 17))" text-anchor="middle">\#(SVGText.escaped(t.label))</text>"#)
        }
        out.append(#"<text class="label" x="\#(n((plot.x0 + plot.x1) / 2))" y="\#(n(plot.y1 + 36))" text-anchor="middle">"#
                   + "\(SVGText.escaped(label))</text>")
        out.append("</g>")
        return out
    }

    /// The y axis along the left of the plot: line, ticks, tick labels, and the label turned upright.
    func yAxisGroup(_ plot: PlotArea, label: String) -> [String] {
        var out = [#"<g class="axis y">"#,
                   #"<line class="domain" x1="\#(n(plot.x0))" y1="\#(n(plot.y0))" x2="\#(n(plot.x0))" y2="\#(n(plot.y1))" stroke="\#(PlotInk.axis)"/>"#]
        for m in plot.yAxis.minorTicks {
            let y = plot.py(axis: m)
            out.append(#"<line class="minor" x1="\#(n(plot.x0 - 3))" y1="\#(n(y))" x2="\#(n(plot.x0))" y2="\#(n(y))" stroke="\#(PlotInk.axis)"/>"#)
        }
        for t in plot.yAxis.ticks {
            let y = plot.py(axis: t.position)
            out.append(#"<line class="tick-mark" x1="\#(n(plot.x0 - 5))" y1="\#(n(y))" x2="\#(n(plot.x0))" y2="\#(n(y))" stroke="\#(PlotInk.axis)"/>"#)
            out.append(#"<text class="tick" x="\#(n(plot.x0 - 8))" y="\#(n(y))" dy="0.32em" text-anchor="end">\#(SVGText.escaped(t.label))</text>"#)
        }
        let cx = 14.0, cy = (plot.y0 + plot.y1) / 2
        out.append(#"<text class="label" x="\#(n(cx))" y="\#(n(cy))" transform="rotate(-90 \#(n(cx)) \#(n(cy)))" "#
                   + #"text-anchor="middle" dy="0.32em">\#(SVGText.escaped(label))</text>"#)
        out.append("</g>")
        return out
    }

    /// One entry per series in a column right of the plot: a swatch in the series' style and its name
    /// (shortened with "…" past the column's width, the full name kept as a tooltip).
    func legend(x: Double, top: Double, bottom: Double, maxChars: Int) -> [String] {
        guard !panel.series.isEmpty else { return [] }
        let spacing = min(16, (bottom - top) / Double(panel.series.count))
        var out = [#"<g class="legend">"#]
        for (i, s) in panel.series.enumerated() {
            let colour = plotPalette[i % plotPalette.count]
            let y = top + spacing * (Double(i) + 0.5)
            out.append(#"<g class="entry">"#)
            if s.name.count > maxChars { out.append("<title>\(SVGText.escaped(s.name))</title>") }
            if s.lower != nil && s.upper != nil {
                out.append(#"<rect x="\#(n(x))" y="\#(n(y - 5))" width="\#(n(Self.swatchWidth))" height="10" fill="\#(colour)" fill-opacity="0.2"/>"#)
            }
            switch s.style {
            case .line:
                let dash = s.dashed ? #" stroke-dasharray="6 4""# : ""
                out.append(#"<line x1="\#(n(x))" y1="\#(n(y))" x2="\#(n(x + Self.swatchWidth))" y2="\#(n(y))" stroke="\#(colour)" stroke-width="2"\#(dash)/>"#)
            case .points:
                out.append(circle(x + Self.swatchWidth / 2, y, colour: colour))
            case .bars:
                out.append(#"<rect x="\#(n(x + 5))" y="\#(n(y - 5))" width="\#(n(Self.swatchWidth - 10))" height="10" fill="\#(colour)" fill-opacity="0.85"/>"#)
            }
            let name = s.name.count > maxChars ? String(s.name.prefix(max(1, maxChars - 1))) + "…" : s.name
            out.append(#"<text x="\#(n(x + Self.swatchWidth + 6))" y="\#(n(y))" dy="0.32em">\#(SVGText.escaped(name))</text>"#)
            out.append("</g>")
        }
        out.append("</g>")
        return out
    }

    /// The maximal runs of non-nil elements, in order.
    static func runs<T>(_ items: [T?]) -> [[T]] {
        var runs: [[T]] = [], current: [T] = []
        for item in items {
            if let item {
                current.append(item)
            } else if !current.isEmpty {
                runs.append(current)
                current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }
}

/// The plot rectangle in panel pixels and the axes that map data into it.
struct PlotArea {
    let x0: Double, y0: Double, x1: Double, y1: Double
    let xAxis: AxisScale, yAxis: AxisScale

    /// Pixel x of a data value.
    func px(_ v: Double) -> Double { x0 + xAxis.fraction(v) * (x1 - x0) }
    /// Pixel y of a data value (up is larger).
    func py(_ v: Double) -> Double { y1 - yAxis.fraction(v) * (y1 - y0) }
    /// Pixel x of an axis-space position (a tick).
    func px(axis t: Double) -> Double { x0 + (t - xAxis.lo) / (xAxis.hi - xAxis.lo) * (x1 - x0) }
    /// Pixel y of an axis-space position (a tick).
    func py(axis t: Double) -> Double { y1 - (t - yAxis.lo) / (yAxis.hi - yAxis.lo) * (y1 - y0) }
}
