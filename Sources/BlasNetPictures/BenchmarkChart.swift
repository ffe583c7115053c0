// The benchmark chart: training samples/s of each configuration as grouped bars (a group per model and
// batch size, a bar per engine × threads), each bar with the ceiling its measured SGEMM rate would allow
// marked across it, so a reader sees how close each engine comes to the machine's limit.
import Foundation

public enum BenchmarkChart {
    /// One bar.
    public struct Bar: Sendable, Equatable {
        /// The group it belongs to, e.g. "dense, batch 32".
        public var group: String
        /// Its series (one colour across groups), e.g. "OpenBLAS, 2 threads".
        public var series: String
        public var samplesPerSecond: Double
        /// Samples/s the SGEMM rate measured for this bar would allow, if measured.
        public var ceiling: Double?

        public init(group: String, series: String, samplesPerSecond: Double, ceiling: Double?) {
            self.group = group
            self.series = series
            self.samplesPerSecond = samplesPerSecond
            self.ceiling = ceiling
        }
    }

    public static let ceilingLegend = "SGEMM ceiling: samples/s at the measured SGEMM rate"

    /// Groups and series in order of first appearance.
    public static func order(_ bars: [Bar]) -> (groups: [String], series: [String]) {
        var groups: [String] = [], series: [String] = []
        for bar in bars {
            if !groups.contains(bar.group) { groups.append(bar.group) }
            if !series.contains(bar.series) { series.append(bar.series) }
        }
        return (groups, series)
    }

    /// The y axis: samples/s from 0 to above the largest bar or ceiling, labelled in thousands.
    public static func valueAxis(_ bars: [Bar]) -> Axis {
        let values = bars.flatMap { [$0.samplesPerSecond] + ($0.ceiling.map { [$0] } ?? []) }.filter(\.isFinite)
        var axis = Axis.linear(lower: 0, upper: max(values.max() ?? 1, 1) * 1.08, targetTicks: 6)
        axis.lower = 0
        for index in axis.ticks.indices { axis.ticks[index].label = thousands(axis.ticks[index].value) }
        return axis
    }

    /// "0", "50k", "125k", "1.5M".
    static func thousands(_ value: Double) -> String {
        if value >= 1e6 { return Axis.formatTick(value / 1e6, step: value.truncatingRemainder(dividingBy: 1e6) == 0 ? 1 : 0.1) + "M" }
        if value >= 1e3 { return Axis.formatTick(value / 1e3, step: value.truncatingRemainder(dividingBy: 1e3) == 0 ? 1 : 0.1) + "k" }
        return Axis.formatTick(value, step: 1)
    }

    static let barWidth = 34.0
    static let groupGap = 44.0

    /// Renders the chart; every bar and its ceiling are recorded as regions named "group / series".
    public static func render(bars: [Bar], title: String, subtitle: String, format: PictureFormat = .png) throws -> Picture {
        if let bad = bars.first(where: { !$0.samplesPerSecond.isFinite || $0.samplesPerSecond < 0 }) {
            throw PictureError.invalidData("bar '\(bad.group) / \(bad.series)' has \(bad.samplesPerSecond) samples/s")
        }
        let (groups, series) = order(bars)
        let left = 96.0, right = 32.0, top = 118.0, bottom = 70.0
        let groupWidth = Double(max(series.count, 1)) * barWidth + groupGap
        let headerWidth = max(try Picture.measure(subtitle, size: 13), try Picture.measure(title, size: 16, bold: true),
                              try Picture.measure(ceilingLegend, size: 13) + 300)
        let plotWidth = max(Double(max(groups.count, 1)) * groupWidth, 560, headerWidth + 20)
        let width = Int(left + plotWidth + right), height = 560
        let panel = PlotPanel(area: Rectangle(x: left, y: top, width: plotWidth, height: Double(height) - top - bottom),
                              x: Axis(lower: 0, upper: 1, scale: .linear, ticks: []), y: valueAxis(bars))

        return try Picture.render(width: width, height: height, format: format) { drawing in
            drawing.text(title, x: left, y: 30, size: 16, bold: true)
            drawing.text(subtitle, x: left, y: 52, size: 13, color: .darkGray)
            drawLegend(series: series, x: left, baseline: 82, on: drawing)
            panel.drawFrame(on: drawing, title: "", xLabel: "", yLabel: "training samples/s")
            let groupStart = left + (plotWidth - Double(groups.count) * groupWidth) / 2
            for (groupIndex, group) in groups.enumerated() {
                let firstBar = groupStart + Double(groupIndex) * groupWidth + groupGap / 2
                drawing.text(group, x: firstBar + Double(series.count) * barWidth / 2, y: panel.area.maxY + 22, size: 12,
                             anchor: .center)
                for (seriesIndex, name) in series.enumerated() {
                    guard let bar = bars.first(where: { $0.group == group && $0.series == name }),
                          let top = panel.point(x: 0, y: bar.samplesPerSecond) else { continue }
                    let x = firstBar + Double(seriesIndex) * barWidth
                    let barHeight = panel.area.maxY - top.y
                    drawing.fill(x: x + 2, y: top.y, width: barWidth - 4, height: barHeight, color: Color.cycle(seriesIndex))
                    drawing.markRegion("\(group) / \(name)", x: x + 2, y: top.y, width: barWidth - 4, height: barHeight)
                    var labelY = top.y - 5
                    if let ceiling = bar.ceiling, ceiling.isFinite, ceiling > 0, let mark = panel.point(x: 0, y: ceiling) {
                        drawing.line(from: (x, mark.y), to: (x + barWidth, mark.y), width: 2.2, color: .black)
                        drawing.markRegion("\(group) / \(name) ceiling", x: x, y: mark.y, width: barWidth, height: 0)
                        // The value sits on its bar, or above the ceiling line when that would cross it.
                        if mark.y < top.y && mark.y > top.y - 18 { labelY = mark.y - 5 }
                        if barHeight > 22 {
                            let percent = "\(Int((100 * bar.samplesPerSecond / ceiling).rounded()))%"
                            drawing.text(percent, x: x + barWidth / 2, y: top.y + 14, size: 10, color: .white, anchor: .center)
                        }
                    }
                    drawing.text(thousands((bar.samplesPerSecond / 1000).rounded() * 1000), x: x + barWidth / 2, y: labelY,
                                 size: 10, color: .darkGray, anchor: .center)
                }
            }
            if bars.isEmpty {
                drawing.text("no data", x: left + plotWidth / 2, y: panel.area.y + panel.area.height / 2, size: 14,
                             color: .gray, anchor: .center)
            }
        }
    }

    private static func drawLegend(series: [String], x: Double, baseline: Double, on drawing: Drawing) {
        var left = x
        for (index, name) in series.enumerated() {
            drawing.fill(x: left, y: baseline - 11, width: 18, height: 12, color: Color.cycle(index))
            left += 24 + drawing.text(name, x: left + 24, y: baseline, size: 13) + 22
        }
        drawing.line(from: (x, baseline + 16), to: (x + 18, baseline + 16), width: 2.2, color: .black)
        drawing.text(ceilingLegend + "; inside each bar: its share of that ceiling", x: x + 24, y: baseline + 21, size: 13)
    }
}
