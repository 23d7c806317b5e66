import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import ICLExperiments

/// The SVG figure renderer: well-formed XML, one group per series, legends, axes and ticks, bands, bars,
/// log-axis clamping, escaping, degenerate inputs, determinism.
final class SVGPlotTests: XCTestCase {

    // MARK: Fixtures

    /// Error against test length for a few models: mean curves with ± std bands over seeds.
    static func errorPanel(yLog: Bool = true) -> PlotPanel {
        let lengths = [10.0, 20, 30, 40, 50, 60]
        let mean = [0.002, 0.004, 0.01, 0.03, 0.08, 0.2]
        return PlotPanel(title: "OOD error", xLabel: "test length", yLabel: "error", yLog: yLog, series: [
            PlotSeries(name: "trained", x: lengths, y: mean,
                       lower: mean.map { $0 * 0.5 }, upper: mean.map { $0 * 1.5 }),
            PlotSeries(name: "pruned", x: lengths, y: mean.map { $0 * 2 }, dashed: true),
            PlotSeries(name: "samples", x: lengths, y: mean.map { $0 * 3 }, style: .points),
        ], referenceLines: [(y: 0.05, label: "threshold")])
    }

    static func barsPanel(count: Int = 64) -> PlotPanel {
        let magnitudes = (0..<count).map { 3.0 / Double($0 + 1) }
        return PlotPanel(title: "neuron magnitudes", xLabel: "rank", yLabel: "|w_o|", series: [
            PlotSeries(name: "magnitude", x: (0..<count).map(Double.init), y: magnitudes, style: .bars),
        ])
    }

    // MARK: Tests

    func testOutputIsAStandaloneWellFormedSVGDocument() throws {
        let text = SVGFigure(title: "Figure 2", panels: [Self.errorPanel(), Self.barsPanel()]).render()
        XCTAssertTrue(text.hasPrefix("<?xml"))
        let root = try XMLTree.parse(text)
        XCTAssertEqual(root.name, "svg")
        XCTAssertEqual(root.attributes["xmlns"], "http://www.w3.org/2000/svg")
        XCTAssertEqual(root.all { $0.hasClass("panel") }.count, 2)
        XCTAssertEqual(root.all { $0.hasClass("figure-title") }.first?.text, "Figure 2")
        XCTAssertEqual(root.all { $0.hasClass("title") }.map(\.text), ["OOD error", "neuron magnitudes"])
        XCTAssertTrue(root.numbersAreFinite())
    }

    func testOneSeriesGroupPerSeries() throws {
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [Self.errorPanel(), Self.barsPanel()]).render())
        let groups = root.all { $0.name == "g" && $0.hasClass("series") }
        XCTAssertEqual(groups.count, 4)
        XCTAssertEqual(groups.map { $0.attributes["data-name"] }, ["trained", "pruned", "samples", "magnitude"])
    }

    func testLegendHasATextPerSeriesNameRightOfThePlot() throws {
        let names = (1...10).map { "model \($0)" }
        let panel = PlotPanel(title: "ten", xLabel: "x", yLabel: "y", series: names.enumerated().map { i, name in
            PlotSeries(name: name, x: [1, 2, 3], y: [Double(i), Double(i) + 1, Double(i) + 2])
        })
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [panel]).render())
        let legend = try XCTUnwrap(root.all { $0.hasClass("legend") }.first)
        let texts = legend.all { $0.name == "text" }
        XCTAssertEqual(texts.map(\.text), names)
        // The legend sits beside the plot area, not on it.
        let xAxisLine = try XCTUnwrap(root.all { $0.hasClass("axis") && $0.hasClass("x") }.first?.all { $0.hasClass("domain") }.first)
        let plotRight = try XCTUnwrap(Double(xAxisLine.attributes["x2"] ?? ""))
        for t in texts { XCTAssertGreaterThan(Double(t.attributes["x"] ?? "") ?? 0, plotRight) }
        // Ten distinct colours, one per series.
        let strokes = root.all { $0.hasClass("series") }.compactMap { $0.all { $0.hasClass("line") }.first?.attributes["stroke"] }
        XCTAssertEqual(Set(strokes).count, 10)
    }

    func testAxesHaveTickLabelsAndNiceLinearTicks() throws {
        let panel = PlotPanel(title: "linear", xLabel: "test length", yLabel: "loss", series: [
            PlotSeries(name: "a", x: [3, 17, 41], y: [0.13, 0.71, 0.42], lower: [0.05, 0.6, 0.3], upper: [0.2, 0.93, 0.5]),
        ])
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [panel]).render())
        for (axis, label) in [("x", "test length"), ("y", "loss")] {
            let group = try XCTUnwrap(root.all { $0.hasClass("axis") && $0.hasClass(axis) }.first, axis)
            XCTAssertEqual(group.all { $0.hasClass("label") }.map(\.text), [label])
            XCTAssertEqual(group.all { $0.hasClass("domain") }.count, 1)
            let ticks = group.all { $0.hasClass("tick") }.compactMap { Double($0.text) }
            XCTAssertEqual(group.all { $0.hasClass("tick-mark") }.count, ticks.count)
            XCTAssertTrue((4...8).contains(ticks.count), "\(axis): \(ticks)")
            // Evenly spaced by 1, 2 or 5 × 10^k.
            let step = ticks[1] - ticks[0]
            for (a, b) in zip(ticks, ticks.dropFirst()) { XCTAssertEqual(b - a, step, accuracy: step * 1e-6) }
            let mantissa = step / pow(10, log10(step).rounded(.down))
            XCTAssertTrue([1.0, 2, 5].contains { abs($0 - mantissa) < 1e-6 }, "\(axis) step \(step)")
        }
        XCTAssertEqual(root.all { $0.hasClass("axis") && $0.hasClass("y") }.first?.all { $0.hasClass("tick") }.map(\.text),
                       ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        // The axes' range holds every point of the line and the band.
        let area = try root.plotArea()
        let coordinates = root.all { $0.hasClass("line") || $0.hasClass("band") }.flatMap { pathPoints($0.attributes["d"] ?? "") }
        XCTAssertEqual(coordinates.count, 3 + 6)
        for (x, y) in coordinates {
            XCTAssertTrue(area.x.contains(x) && area.y.contains(y), "(\(x), \(y)) outside \(area)")
        }
    }

    func testBarsGetATightAxisNotAWideRoundOne() throws {
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [Self.barsPanel(count: 64)]).render())
        let xTicks = root.all { $0.hasClass("axis") && $0.hasClass("x") }.first?.all { $0.hasClass("tick") }.map(\.text)
        XCTAssertEqual(xTicks, ["0", "10", "20", "30", "40", "50", "60"])
        // Bars fill the plot's width: the outermost bar edges lie within 5% of the axis ends.
        let area = try root.plotArea()
        let bars = root.all { $0.hasClass("bar") }
        let left = try XCTUnwrap(bars.compactMap { Double($0.attributes["x"] ?? "") }.min())
        let right = try XCTUnwrap(bars.compactMap { b in Double(b.attributes["x"] ?? "").flatMap { x in Double(b.attributes["width"] ?? "").map { x + $0 } } }.max())
        let width = area.x.upperBound - area.x.lowerBound
        XCTAssertTrue(left >= area.x.lowerBound && left - area.x.lowerBound < width * 0.05, "\(left) in \(area.x)")
        XCTAssertTrue(right <= area.x.upperBound && area.x.upperBound - right < width * 0.05, "\(right) in \(area.x)")
    }

    func testLogAxisTicksAreDecadesCoveringTheData() throws {
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [Self.errorPanel()]).render())
        let yAxis = try XCTUnwrap(root.all { $0.hasClass("axis") && $0.hasClass("y") }.first)
        let ticks = yAxis.all { $0.hasClass("tick") }.map(\.text)
        XCTAssertEqual(ticks, ["1e-3", "0.01", "0.1", "1"])   // data 0.001 (band) … 0.6
        for t in ticks {
            let e = log10(try XCTUnwrap(Double(t)))
            XCTAssertEqual(e, e.rounded(), accuracy: 1e-9, t)
        }
        XCTAssertGreaterThan(yAxis.all { $0.hasClass("minor") }.count, 0)
        // No data below 0 here, so no floor note.
        XCTAssertEqual(yAxis.all { $0.hasClass("label") }.first?.text, "error")
    }

    func testBandIsATranslucentPathBeneathTheLines() throws {
        let text = SVGFigure(title: "", panels: [Self.errorPanel()]).render()
        let root = try XMLTree.parse(text)
        let bands = root.all { $0.name == "path" && $0.hasClass("band") }
        XCTAssertEqual(bands.count, 1)   // only "trained" has lower/upper
        let band = try XCTUnwrap(bands.first)
        XCTAssertEqual(band.attributes["data-name"], "trained")
        let opacity = try XCTUnwrap(Double(band.attributes["fill-opacity"] ?? ""))
        XCTAssertTrue(opacity > 0 && opacity <= 0.3)
        let line = try XCTUnwrap(root.all { $0.hasClass("line") }.first)
        XCTAssertEqual(band.attributes["fill"], line.attributes["stroke"])
        let bandAt = try XCTUnwrap(text.range(of: #"class="band""#)).lowerBound
        let firstLineAt = try XCTUnwrap(text.range(of: #"class="line""#)).lowerBound
        XCTAssertLessThan(bandAt, firstLineAt)
    }

    func testBarsAreOneRectPerValueAndTallerForLargerValues() throws {
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [Self.barsPanel(count: 64)]).render())
        let bars = root.all { $0.name == "rect" && $0.hasClass("bar") }
        XCTAssertEqual(bars.count, 64)
        let heights = bars.compactMap { Double($0.attributes["height"] ?? "") }
        XCTAssertEqual(heights.count, 64)
        XCTAssertEqual(heights, heights.sorted(by: >))
        XCTAssertGreaterThan(heights[0], heights[63])
        // Bars stand on the zero line: all bottoms equal.
        let bottoms = bars.map { (Double($0.attributes["y"] ?? "") ?? 0) + (Double($0.attributes["height"] ?? "") ?? 0) }
        XCTAssertEqual(bottoms.max()! - bottoms.min()!, 0, accuracy: 0.02)
    }

    func testNonPositiveValuesOnALogAxisAreClampedAndNoted() throws {
        let panel = PlotPanel(title: "clamped", xLabel: "length", yLabel: "error", yLog: true, series: [
            PlotSeries(name: "a", x: [1, 2, 3, 4], y: [0.2, 0.01, 0, -1], lower: [0.1, -0.5, 0, -2], upper: [0.3, 0.02, 0.001, 0]),
        ])
        let text = SVGFigure(title: "", panels: [panel]).render()
        XCTAssertFalse(text.lowercased().contains("nan"))
        XCTAssertFalse(text.lowercased().contains("inf"))
        let root = try XMLTree.parse(text)
        XCTAssertTrue(root.numbersAreFinite())
        let yAxis = try XCTUnwrap(root.all { $0.hasClass("axis") && $0.hasClass("y") }.first)
        // Smallest positive value 0.001, so the floor is 0.0005.
        XCTAssertEqual(yAxis.all { $0.hasClass("label") }.first?.text, "error (≤ 0.0005 drawn at 0.0005)")
        let ticks = yAxis.all { $0.hasClass("tick") }.compactMap { Double($0.text) }
        XCTAssertLessThanOrEqual(ticks.min() ?? 1, 0.0005)
        // The x axis is linear: nothing clamped there, no note.
        XCTAssertEqual(root.all { $0.hasClass("axis") && $0.hasClass("x") }.first?.all { $0.hasClass("label") }.first?.text, "length")

        var explicit = panel
        explicit.logFloor = 1e-6
        let label = try XMLTree.parse(SVGFigure(title: "", panels: [explicit]).render())
            .all { $0.hasClass("axis") && $0.hasClass("y") }.first?.all { $0.hasClass("label") }.first?.text
        XCTAssertEqual(label, "error (≤ 1e-6 drawn at 1e-6)")

        // A value ≤ 0 whose x is not finite is not drawn, so nothing is clamped and there is no note.
        let undrawn = PlotPanel(title: "", xLabel: "", yLabel: "error", yLog: true, series: [
            PlotSeries(name: "a", x: [1, .nan, 3], y: [0.1, -1, 0.2]),
        ])
        XCTAssertEqual(try XMLTree.parse(SVGFigure(title: "", panels: [undrawn]).render())
            .all { $0.hasClass("axis") && $0.hasClass("y") }.first?.all { $0.hasClass("label") }.first?.text, "error")
    }

    func testTextIsEscapedAndSurvivesParsing() throws {
        let nasty = #"a <b> & "c" 'd'"#
        let panel = PlotPanel(title: nasty, xLabel: "x<1", yLabel: "y&z", series: [
            PlotSeries(name: nasty, x: [0, 1], y: [1, 2]),
        ], referenceLines: [(y: 1.5, label: "<&>")])
        let text = SVGFigure(title: "<&>", panels: [panel]).render()
        XCTAssertFalse(text.contains("<&>"))
        XCTAssertTrue(text.contains("&lt;&amp;&gt;"))
        let root = try XMLTree.parse(text)
        XCTAssertEqual(root.all { $0.hasClass("figure-title") }.first?.text, "<&>")
        XCTAssertEqual(root.all { $0.hasClass("title") }.first?.text, nasty)
        XCTAssertEqual(root.all { $0.hasClass("series") }.first?.attributes["data-name"], nasty)
        XCTAssertEqual(root.all { $0.hasClass("legend") }.first?.all { $0.name == "text" }.map(\.text), [nasty])
        XCTAssertEqual(root.all { $0.hasClass("reference-label") }.map(\.text), ["<&>"])
        XCTAssertEqual(root.all { $0.hasClass("label") }.map(\.text), ["x<1", "y&z"])
    }

    func testDegenerateInputsGiveValidDocuments() throws {
        let cases: [(String, [PlotPanel])] = [
            ("no panels", []),
            ("empty series", [PlotPanel(title: "", xLabel: "", yLabel: "", series: [PlotSeries(name: "e", x: [], y: [])])]),
            ("no series, log", [PlotPanel(title: "", xLabel: "", yLabel: "", xLog: true, yLog: true, series: [])]),
            ("single point", [PlotPanel(title: "", xLabel: "", yLabel: "", series: [PlotSeries(name: "p", x: [5], y: [0.3])])]),
            ("single point, log", [PlotPanel(title: "", xLabel: "", yLabel: "", xLog: true, yLog: true,
                                             series: [PlotSeries(name: "p", x: [10], y: [0.01])])]),
            ("all equal", [PlotPanel(title: "", xLabel: "", yLabel: "", series: [PlotSeries(name: "c", x: [2, 2, 2], y: [0, 0, 0])])]),
            ("single bar", [PlotPanel(title: "", xLabel: "", yLabel: "", series: [PlotSeries(name: "b", x: [0], y: [1], style: .bars)])]),
            ("all non-finite", [PlotPanel(title: "", xLabel: "", yLabel: "", yLog: true,
                                          series: [PlotSeries(name: "n", x: [1, .nan], y: [.infinity, .nan])])]),
            ("mismatched counts", [PlotPanel(title: "", xLabel: "", yLabel: "",
                                             series: [PlotSeries(name: "m", x: [1, 2, 3], y: [1], lower: [0], upper: [2, 3])])]),
        ]
        for (what, panels) in cases {
            let text = SVGFigure(title: what, panels: panels).render()
            let root = try XMLTree.parse(text)
            XCTAssertEqual(root.name, "svg", what)
            XCTAssertTrue(root.numbersAreFinite(), what)
            XCTAssertFalse(text.lowercased().contains("nan"), what)
            XCTAssertEqual(root.all { $0.hasClass("series") }.count, panels.reduce(0) { $0 + $1.series.count }, what)
        }
        // A single point of a line series is still visible, as a marker.
        let single = try XMLTree.parse(SVGFigure(title: "", panels: cases[3].1).render())
        XCTAssertEqual(single.all { $0.hasClass("point") && $0.name == "circle" }.count, 1)
    }

    func testLinesBreakAtNonFiniteValues() throws {
        let panel = PlotPanel(title: "", xLabel: "", yLabel: "", series: [
            PlotSeries(name: "gap", x: [1, 2, 3, 4, 5, 6], y: [1, 2, .nan, 4, 5, .infinity]),
        ])
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [panel]).render())
        let d = try XCTUnwrap(root.all { $0.hasClass("line") }.first?.attributes["d"])
        XCTAssertEqual(d.filter { $0 == "M" }.count, 2)
        XCTAssertEqual(d.filter { $0 == "L" }.count, 2)   // 1→2, then 4→5
        XCTAssertTrue(root.numbersAreFinite())
    }

    func testDashedSeriesUseADashArray() throws {
        let root = try XMLTree.parse(SVGFigure(title: "", panels: [Self.errorPanel()]).render())
        let lines = root.all { $0.hasClass("series") }.map { $0.all { $0.hasClass("line") }.first }
        XCTAssertNil(lines[0]?.attributes["stroke-dasharray"])
        XCTAssertNotNil(lines[1]?.attributes["stroke-dasharray"])
        let reference = try XCTUnwrap(root.all { $0.hasClass("reference") }.first)
        XCTAssertNotNil(reference.all { $0.name == "line" }.first?.attributes["stroke-dasharray"])
        XCTAssertEqual(reference.all { $0.name == "text" }.map(\.text), ["threshold"])
    }

    func testRenderingIsDeterministic() {
        let make = { SVGFigure(title: "Figure", panels: [Self.errorPanel(), Self.errorPanel(yLog: false), Self.barsPanel()]) }
        let first = make().render()
        XCTAssertEqual(first, make().render())
        XCTAssertEqual(first, make().render())
        var other = make()
        other.panels[0].series[0].y[0] = 0.0021
        XCTAssertNotEqual(first, other.render())
    }
}

/// The (x, y) pairs of an SVG path's "M x,y L x,y … Z" data.
func pathPoints(_ d: String) -> [(Double, Double)] {
    let numbers = d.split { " ,MLZ".contains($0) }.compactMap { Double($0) }
    return stride(from: 0, to: numbers.count - 1, by: 2).map { (numbers[$0], numbers[$0 + 1]) }
}

// MARK: - A minimal DOM over XMLParser

/// An element of a parsed document: name, attributes, children and its direct text.
final class XMLTree {
    let name: String
    let attributes: [String: String]
    var children: [XMLTree] = []
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    func hasClass(_ c: String) -> Bool {
        (attributes["class"] ?? "").split(separator: " ").contains { $0 == c }
    }

    /// This element and its descendants matching `predicate`, in document order.
    func all(_ predicate: (XMLTree) -> Bool) -> [XMLTree] {
        (predicate(self) ? [self] : []) + children.flatMap { $0.all(predicate) }
    }

    /// Every number in the geometric attributes (path commands and transform names aside) is finite.
    func numbersAreFinite() -> Bool {
        let geometric: Set<String> = ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "d", "transform"]
        let numbers = all { _ in true }.flatMap { node in
            node.attributes.filter { geometric.contains($0.key) }.flatMap { _, value in
                value.replacingOccurrences(of: "translate", with: " ").replacingOccurrences(of: "rotate", with: " ")
                    .split { " ,()MLZ".contains($0) }.map { Double($0) }
            }
        }
        return !numbers.isEmpty && numbers.allSatisfy { $0?.isFinite == true }
    }

    /// The plot rectangle of the first panel, from its axis lines (panel coordinates).
    func plotArea() throws -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        func line(_ axis: String) throws -> [Double] {
            let node = try XCTUnwrap(all { $0.hasClass("axis") && $0.hasClass(axis) }.first?.all { $0.hasClass("domain") }.first)
            return try ["x1", "y1", "x2", "y2"].map { try XCTUnwrap(Double(node.attributes[$0] ?? "")) }
        }
        let x = try line("x"), y = try line("y")
        return (min(x[0], x[2])...max(x[0], x[2]), min(y[1], y[3])...max(y[1], y[3]))
    }

    /// Parses a document; throws with the parser's error when it is not well formed.
    static func parse(_ text: String) throws -> XMLTree {
        let builder = Builder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw parser.parserError ?? NSError(domain: "XMLTree", code: 1)
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var root: XMLTree?
        var stack: [XMLTree] = []

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            let node = XMLTree(name: elementName, attributes: attributeDict)
            if let parent = stack.last { parent.children.append(node) } else { root = node }
            stack.append(node)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }
    }
}
