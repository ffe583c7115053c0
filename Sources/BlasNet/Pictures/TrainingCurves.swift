import Foundation

/// Per-epoch results of one training run, for `TrainingCurves`.
public struct TrainingSeries: Sendable, Equatable {
    public var name: String
    /// Mean training loss of epoch 1, 2, …
    public var losses: [Double]
    /// Test accuracy after epoch 1, 2, … as a fraction in [0, 1] (plotted in percent).
    public var testAccuracies: [Double]

    public init(name: String, losses: [Double], testAccuracies: [Double]) {
        self.name = name
        self.losses = losses
        self.testAccuracies = testAccuracies
    }
}

/// A figure with two panels side by side, training loss per epoch and test accuracy per epoch, one colour
/// per series, with tick labels, grid lines and a legend. Non-finite values are skipped (the line breaks
/// there); empty input gives empty panels saying "no data".
public enum TrainingCurves {
    /// Series colours in order (matplotlib's tab10), reused cyclically.
    public static let palette: [RGBColor] = [
        RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40),
        RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(127, 127, 127),
        RGBColor(188, 189, 34), RGBColor(23, 190, 207),
    ]
    public static let axisColor = RGBColor.black
    public static let gridColor = RGBColor(230, 230, 230)
    public static let lossTitle = "training loss per epoch"
    public static let accuracyTitle = "test accuracy per epoch (%)"

    static let textScale = 2
    static let margin = 16
    static let legendSwatch = 14

    /// The colour of series `index`.
    public static func color(forSeries index: Int) -> RGBColor { palette[((index % palette.count) + palette.count) % palette.count] }

    /// A panel's plot area (inside the axes), in canvas pixels.
    public struct PlotArea: Sendable, Equatable {
        public let x: Int, y: Int, width: Int, height: Int
    }

    /// The two plot areas of a `width`×`height` figure whose legend has `legendRows` rows.
    public static func plotAreas(width: Int, height: Int, legendRows: Int) -> (loss: PlotArea, accuracy: PlotArea) {
        let line = BitmapFont.lineHeight * textScale
        let top = margin + max(legendRows, 1) * (line + 4) + 8 + line + 8  // legend, panel title
        let left = 10 * BitmapFont.advance * textScale / 2 + 16              // room for ~5 tick characters
        let bottom = 2 * line + 16                                          // tick labels, "epoch"
        let panelWidth = max((width - 2 * margin) / 2, 1)
        func area(_ panel: Int) -> PlotArea {
            let x = margin + panel * panelWidth + left
            return PlotArea(x: x, y: top, width: max(panelWidth - left - 2 * margin, 1), height: max(height - top - bottom, 1))
        }
        return (area(0), area(1))
    }

    /// Renders `series` into a `width`×`height` figure (sizes below 400×300 are raised to that).
    public static func render(series: [TrainingSeries], width: Int = 1200, height: Int = 560) -> Canvas {
        let width = max(width, 400), height = max(height, 300)
        var canvas = Canvas(width: width, height: height, background: .white)
        let legendRows = drawLegend(series, on: &canvas)
        let areas = plotAreas(width: width, height: height, legendRows: legendRows)
        drawPanel(title: lossTitle, values: series.map(\.losses), area: areas.loss, on: &canvas)
        drawPanel(title: accuracyTitle, values: series.map { $0.testAccuracies.map { $0 * 100 } }, area: areas.accuracy,
                  on: &canvas)
        return canvas
    }

    /// Swatch and name per series, wrapped onto as many rows as needed; returns the row count.
    private static func drawLegend(_ series: [TrainingSeries], on canvas: inout Canvas) -> Int {
        let line = BitmapFont.lineHeight * textScale
        var x = margin, row = 0
        for (index, entry) in series.enumerated() {
            let name = entry.name.isEmpty ? "series \(index + 1)" : entry.name
            let entryWidth = legendSwatch + 8 + BitmapFont.width(of: name, scale: textScale) + 24
            if x > margin && x + entryWidth > canvas.width - margin { x = margin; row += 1 }
            let y = margin + row * (line + 4)
            canvas.fillRectangle(x: x, y: y, width: legendSwatch, height: legendSwatch, color: color(forSeries: index))
            canvas.drawText(name, x: x + legendSwatch + 8, y: y, color: .black, scale: textScale)
            x += entryWidth
        }
        return row + 1
    }

    /// One panel: title, grid, axes, tick labels, then a polyline with square markers per series.
    private static func drawPanel(title: String, values: [[Double]], area: PlotArea, on canvas: inout Canvas) {
        let line = BitmapFont.lineHeight * textScale
        canvas.drawText(title, x: area.x, y: area.y - line - 8, color: .black, scale: textScale)
        let finite = values.flatMap { $0.filter(\.isFinite) }
        let epochs = values.map(\.count).max() ?? 0

        let yAxis = niceAxis(lower: finite.min() ?? 0, upper: finite.max() ?? 1)
        let xAxis = epochAxis(epochs: epochs)
        func pixelX(_ value: Double) -> Int {
            area.x + pixelOffset(value, axis: xAxis, length: area.width)
        }
        func pixelY(_ value: Double) -> Int {
            area.y + area.height - 1 - pixelOffset(value, axis: yAxis, length: area.height)
        }

        for tick in yAxis.ticks {
            let y = pixelY(tick)
            canvas.drawLine(x0: area.x, y0: y, x1: area.x + area.width - 1, y1: y, color: gridColor)
            canvas.drawLine(x0: area.x - 6, y0: y, x1: area.x - 1, y1: y, color: axisColor)
            let label = formatTick(tick, step: yAxis.step)
            canvas.drawText(label, x: area.x - 10 - BitmapFont.width(of: label, scale: textScale),
                            y: y - BitmapFont.height(scale: textScale) / 2, color: .black, scale: textScale)
        }
        for tick in xAxis.ticks {
            let x = pixelX(tick)
            canvas.drawLine(x0: x, y0: area.y, x1: x, y1: area.y + area.height - 1, color: gridColor)
            canvas.drawLine(x0: x, y0: area.y + area.height, x1: x, y1: area.y + area.height + 5, color: axisColor)
            let label = formatTick(tick, step: 1)
            canvas.drawText(label, x: x - BitmapFont.width(of: label, scale: textScale) / 2, y: area.y + area.height + 10,
                            color: .black, scale: textScale)
        }
        // Axes: left and bottom edges.
        canvas.drawLine(x0: area.x - 1, y0: area.y, x1: area.x - 1, y1: area.y + area.height, color: axisColor, thickness: 2)
        canvas.drawLine(x0: area.x - 1, y0: area.y + area.height, x1: area.x + area.width - 1, y1: area.y + area.height,
                        color: axisColor, thickness: 2)
        canvas.drawText("epoch", x: area.x + area.width / 2 - BitmapFont.width(of: "epoch", scale: textScale) / 2,
                        y: area.y + area.height + 10 + line + 4, color: .black, scale: textScale)

        guard !finite.isEmpty else {
            canvas.drawText("no data", x: area.x + area.width / 2 - BitmapFont.width(of: "no data", scale: textScale) / 2,
                            y: area.y + area.height / 2, color: .gray, scale: textScale)
            return
        }
        for (index, points) in values.enumerated() {
            let seriesColor = color(forSeries: index)
            var previous: (x: Int, y: Int)?
            for (epoch, value) in points.enumerated() {
                guard value.isFinite else { previous = nil; continue }
                let point = (x: pixelX(Double(epoch + 1)), y: pixelY(value))
                if let previous {
                    canvas.drawLine(x0: previous.x, y0: previous.y, x1: point.x, y1: point.y, color: seriesColor, thickness: 2)
                }
                canvas.fillRectangle(x: point.x - 3, y: point.y - 3, width: 7, height: 7, color: seriesColor)
                previous = point
            }
        }
    }

    /// Pixels from the axis start to `value` along `length` pixels; values far outside the axis are clamped to
    /// a few lengths beyond it, so the conversion to Int never traps.
    static func pixelOffset(_ value: Double, axis: Axis, length: Int) -> Int {
        let fraction = (value - axis.lower) / (axis.upper - axis.lower)
        let clamped = fraction.isNaN ? 0 : min(max(fraction, -4), 5)
        return Int((clamped * Double(max(length - 1, 0))).rounded())
    }

    /// An axis range with 1-2-5 ticks covering [lower, upper]; a flat range is widened around its value.
    struct Axis: Equatable {
        var lower: Double
        var upper: Double
        var step: Double
        var ticks: [Double]
    }

    static func niceAxis(lower: Double, upper: Double, targetTicks: Int = 5) -> Axis {
        var low = lower.isFinite ? lower : 0, high = upper.isFinite ? upper : 1
        if low > high { swap(&low, &high) }
        if high - low <= max(abs(low), abs(high)) * 1e-9 || !(high - low).isFinite {
            let pad = max(abs(low) * 0.01, 0.01)
            low -= pad
            high += pad
        }
        guard (high - low).isFinite, high - low > 0 else { return Axis(lower: 0, upper: 1, step: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1]) }
        let raw = (high - low) / Double(max(targetTicks, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let normalized = raw / magnitude
        let tolerance = 1e-9  // so 2.0000000000000004 still counts as 2
        let step = (normalized <= 1 + tolerance ? 1 : normalized <= 2 + tolerance ? 2 : normalized <= 5 + tolerance ? 5 : 10)
            * magnitude
        let axisLow = floor(low / step) * step, axisHigh = ceil(high / step) * step
        var ticks: [Double] = []
        var tick = axisLow
        while tick <= axisHigh + step * 1e-6 && ticks.count < 50 {
            ticks.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick = axisLow + Double(ticks.count) * step
        }
        return Axis(lower: axisLow, upper: axisHigh, step: step, ticks: ticks)
    }

    /// Epochs 1…`epochs` with whole-number ticks; one epoch is centred in [0.5, 1.5].
    static func epochAxis(epochs: Int) -> Axis {
        guard epochs > 1 else { return Axis(lower: 0.5, upper: 1.5, step: 1, ticks: [1]) }
        let nice = niceAxis(lower: 1, upper: Double(epochs)).step
        let step = max(1, nice.rounded(.up))
        var ticks: [Double] = []
        var tick = step == 1 ? 1 : step
        while tick <= Double(epochs) && ticks.count < 50 {
            ticks.append(tick)
            tick += step
        }
        if ticks.first != 1 { ticks.insert(1, at: 0) }
        return Axis(lower: 1, upper: Double(epochs), step: step, ticks: ticks)
    }

    /// A tick value with as many decimals as the step needs (step 0.05 → 2 decimals).
    static func formatTick(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 || !step.isFinite || step <= 0 ? 0 : min(8, Int(-floor(log10(step) + 1e-9)))
        let text = String(format: "%.\(decimals)f", value)
        return text == "-0" || text.hasPrefix("-0.") && Double(text) == 0 ? String(text.dropFirst()) : text
    }
}
