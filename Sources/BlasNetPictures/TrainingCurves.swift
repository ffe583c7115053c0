// The training-curves figure: mean training loss per epoch on a log axis beside test accuracy per epoch in
// percent, one colour, marker and line style per series, so equal values of two series stay visible.
import Foundation

/// Per-epoch results of one training run.
public struct TrainingSeries: Sendable, Equatable {
    public var name: String
    /// Mean training loss of epoch 1, 2, … (plotted on a log axis; values ≤ 0 are skipped).
    public var losses: [Double]
    /// Test accuracy after epoch 1, 2, … as a fraction in [0, 1] (plotted in percent).
    public var testAccuracies: [Double]

    public init(name: String, losses: [Double], testAccuracies: [Double]) {
        self.name = name
        self.losses = losses
        self.testAccuracies = testAccuracies
    }
}

public enum TrainingCurves {
    public static let lossTitle = "Training loss"
    public static let accuracyTitle = "Test accuracy"

    /// How series `index` is drawn: tab10 colour, marker shape, and — for every other series — a dashed
    /// line with hollow, larger markers, so a series drawn over another with equal values leaves it visible.
    public struct Style: Sendable, Equatable {
        public let color: Color
        public let marker: Drawing.Marker
        public let dashed: Bool
        public let markerSize: Double

        public init(series index: Int) {
            color = Color.cycle(index)
            marker = Drawing.Marker.allCases[index % Drawing.Marker.allCases.count]
            dashed = index % 2 == 1
            markerSize = dashed ? 11 : 7
        }
    }

    /// The panels of a `width`×`height` figure, with their axes for `series`.
    public static func panels(for series: [TrainingSeries], width: Int, height: Int) -> (loss: PlotPanel, accuracy: PlotPanel) {
        let epochs = series.map { max($0.losses.count, $0.testAccuracies.count) }.max() ?? 0
        let top = 86.0, bottom = 64.0, left = 84.0, gap = 96.0, right = 24.0
        let panelWidth = (Double(width) - left - right - gap) / 2
        let panelHeight = Double(height) - top - bottom
        let loss = PlotPanel(area: Rectangle(x: left, y: top, width: panelWidth, height: panelHeight),
                             x: .epochs(epochs), y: .logarithmic(values: series.flatMap(\.losses)))
        let accuracy = PlotPanel(area: Rectangle(x: left + panelWidth + gap, y: top, width: panelWidth, height: panelHeight),
                                 x: .epochs(epochs), y: accuracyAxis(series.flatMap(\.testAccuracies)))
        return (loss, accuracy)
    }

    /// Percent axis ending at exactly 100 %, its lower end a nice value at or below the lowest accuracy.
    public static func accuracyAxis(_ accuracies: [Double]) -> Axis {
        let percents = accuracies.filter(\.isFinite).map { min(max($0, 0), 1) * 100 }
        let lowest = min(percents.min() ?? 90, 99.9)
        var axis = Axis.linear(lower: lowest, upper: 100)
        axis.upper = 100
        axis.ticks.removeAll { $0.value > 100 + 1e-9 }
        return axis
    }

    /// Renders the figure (sizes are raised to at least 480×320).
    public static func render(series: [TrainingSeries], width: Int = 1200, height: Int = 520,
                              format: PictureFormat = .png) throws -> Picture {
        let width = max(width, 480), height = max(height, 320)
        let (loss, accuracy) = panels(for: series, width: width, height: height)
        return try Picture.render(width: width, height: height, format: format) { drawing in
            drawLegend(series, centerX: Double(width) / 2, baseline: 30, on: drawing)
            loss.drawFrame(on: drawing, title: lossTitle, xLabel: "epoch", yLabel: "mean loss (log scale)")
            accuracy.drawFrame(on: drawing, title: accuracyTitle, xLabel: "epoch", yLabel: "accuracy (%)")
            drawSeries(series.map(\.losses), in: loss, on: drawing)
            drawSeries(series.map { $0.testAccuracies.map { $0 * 100 } }, in: accuracy, on: drawing)
        }
    }

    /// One line with markers per series; non-finite values (and, on the log axis, values ≤ 0) break the line.
    private static func drawSeries(_ values: [[Double]], in panel: PlotPanel, on drawing: Drawing) {
        var drewAny = false
        for (index, points) in values.enumerated() {
            let style = Style(series: index)
            var run: [(x: Double, y: Double)] = []
            var markers: [(x: Double, y: Double)] = []
            func flush() {
                drawing.polyline(run, width: 1.8, color: style.color, dash: style.dashed ? [6, 3] : [])
                run = []
            }
            for (epoch, value) in points.enumerated() {
                guard value.isFinite, let point = panel.point(x: Double(epoch + 1), y: value) else { flush(); continue }
                run.append(point)
                markers.append(point)
            }
            flush()
            for point in markers {
                drawing.marker(style.marker, x: point.x, y: point.y, size: style.markerSize, color: style.color,
                               hollow: style.dashed)
            }
            drewAny = drewAny || !markers.isEmpty
        }
        if !drewAny {
            drawing.text("no data", x: panel.area.x + panel.area.width / 2, y: panel.area.y + panel.area.height / 2,
                         size: 14, color: .gray, anchor: .center)
        }
    }

    /// A centred row of entries: a short line with the series' marker, then its name.
    private static func drawLegend(_ series: [TrainingSeries], centerX: Double, baseline: Double, on drawing: Drawing) {
        let size = 13.0, sample = 34.0, spacing = 28.0
        let widths = series.map { sample + 8 + drawing.textWidth($0.name, size: size) }
        var x = centerX - (widths.reduce(0, +) + spacing * Double(max(series.count - 1, 0))) / 2
        for (index, entry) in series.enumerated() {
            let style = Style(series: index)
            let middle = baseline - 4.5
            drawing.line(from: (x, middle), to: (x + sample, middle), width: 1.8, color: style.color,
                         dash: style.dashed ? [6, 3] : [])
            drawing.marker(style.marker, x: x + sample / 2, y: middle, size: style.markerSize, color: style.color,
                           hollow: style.dashed)
            drawing.text(entry.name, x: x + sample + 8, y: baseline, size: size)
            x += widths[index] + spacing
        }
    }
}
