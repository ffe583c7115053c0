// Axis ranges and ticks (linear 1-2-5, logarithmic by decades, whole epochs) and one plot panel drawn as
// matplotlib draws its axes: a box, light grid lines at the major ticks, ticks pointing out, labels.
import Foundation

/// A tick: where it sits on the axis and what it says. `exponent` (log axes) is drawn as a superscript
/// after `label` ("10" and "−3" make 10⁻³).
public struct Tick: Sendable, Equatable {
    public var value: Double
    public var label: String
    public var exponent: String?
    /// A minor tick: shorter, no label, no grid line.
    public var isMinor = false
}

/// A mapping from data values to one direction of a panel.
public struct Axis: Sendable, Equatable {
    public enum Scale: Sendable, Equatable { case linear, logarithmic }
    public var lower: Double
    public var upper: Double
    public var scale: Scale
    public var ticks: [Tick]

    /// Position of `value` between the ends: 0 at `lower`, 1 at `upper` (not clamped; NaN for values a
    /// log axis cannot show).
    public func fraction(_ value: Double) -> Double {
        switch scale {
        case .linear: return (value - lower) / (upper - lower)
        case .logarithmic:
            guard value > 0 else { return .nan }
            return (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        }
    }

    /// A linear axis covering [lower, upper] with ~`targetTicks` ticks on a 1-2-5 step; a flat range is
    /// widened around its value; non-finite ends fall back to [0, 1].
    public static func linear(lower: Double, upper: Double, targetTicks: Int = 5) -> Axis {
        var low = lower.isFinite ? lower : 0, high = upper.isFinite ? upper : 1
        if low > high { swap(&low, &high) }
        if high - low <= max(abs(low), abs(high)) * 1e-9 || !(high - low).isFinite {
            let pad = max(abs(low) * 0.01, 0.01)
            low -= pad
            high += pad
        }
        guard (high - low).isFinite, high - low > 0 else { return linear(lower: 0, upper: 1) }
        let step = niceStep((high - low) / Double(max(targetTicks, 1)))
        let axisLow = floor(low / step + 1e-9) * step, axisHigh = ceil(high / step - 1e-9) * step
        var ticks: [Tick] = []
        var index = 0
        while ticks.count < 50 {
            let value = axisLow + Double(index) * step
            guard value <= axisHigh + step * 1e-6 else { break }
            let clean = abs(value) < step * 1e-9 ? 0 : value
            ticks.append(Tick(value: clean, label: formatTick(clean, step: step)))
            index += 1
        }
        return Axis(lower: axisLow, upper: axisHigh, scale: .linear, ticks: ticks)
    }

    /// The 1-2-5 step (times a power of ten) at or above `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let magnitude = pow(10, floor(log10(raw)))
        let normalized = raw / magnitude
        let tolerance = 1e-9  // so 2.0000000000000004 still counts as 2
        return (normalized <= 1 + tolerance ? 1 : normalized <= 2 + tolerance ? 2 : normalized <= 5 + tolerance ? 5 : 10)
            * magnitude
    }

    /// A log axis from the decade at or below the smallest positive value to the decade at or above the
    /// largest: a labelled tick (10ᵏ) at every decade (every other one past 8 decades), minor ticks at
    /// 2…9 × 10ᵏ. Values ≤ 0 and non-finite ones are ignored; none left gives [10⁻³, 10⁰].
    public static func logarithmic(values: [Double]) -> Axis {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        guard let smallest = positive.min(), let largest = positive.max() else { return logarithmic(values: [1e-3, 1]) }
        var low = Int(floor(log10(smallest) + 1e-9)), high = Int(ceil(log10(largest) - 1e-9))
        if high <= low { high = low + 1 }
        low = max(low, -300)
        high = min(high, 300)
        let labelEvery = high - low > 8 ? 2 : 1
        var ticks: [Tick] = []
        for power in low...high {
            let decade = pow(10, Double(power))
            if (power - low) % labelEvery == 0 {
                ticks.append(Tick(value: decade, label: "10", exponent: power < 0 ? "\u{2212}\(-power)" : "\(power)"))
            } else {
                ticks.append(Tick(value: decade, label: "", isMinor: true))
            }
            if power < high, high - low <= 8 {
                for multiple in 2...9 { ticks.append(Tick(value: Double(multiple) * decade, label: "", isMinor: true)) }
            }
        }
        return Axis(lower: pow(10, Double(low)), upper: pow(10, Double(high)), scale: .logarithmic, ticks: ticks)
    }

    /// Epochs 1…`epochs` on whole-number ticks, with half an epoch of room at each end (one epoch sits
    /// in the middle).
    public static func epochs(_ epochs: Int) -> Axis {
        let count = max(epochs, 1)
        let step = count <= 10 ? 1 : max(1, niceStep(Double(count) / 8).rounded(.up))
        var ticks: [Tick] = []
        var value = step == 1 ? 1.0 : step
        if step != 1 { ticks.append(Tick(value: 1, label: "1")) }
        while value <= Double(count) && ticks.count < 50 {
            ticks.append(Tick(value: value, label: formatTick(value, step: 1)))
            value += step
        }
        return Axis(lower: 0.5, upper: Double(count) + 0.5, scale: .linear, ticks: ticks)
    }

    /// A tick value with as many decimals as the step needs (step 0.05 → 2 decimals); never "-0".
    public static func formatTick(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 || !step.isFinite || step <= 0 ? 0 : min(8, Int(-floor(log10(step) + 1e-9)))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }
}

/// A rectangle of the picture, in pixels.
public struct Rectangle: Sendable, Equatable {
    public var x: Double, y: Double, width: Double, height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
}

/// One plot: its area in the picture and the two axes mapping data into it.
public struct PlotPanel: Sendable {
    public var area: Rectangle
    public var x: Axis
    public var y: Axis

    public static let tickFontSize = 12.0
    public static let labelFontSize = 13.0
    public static let titleFontSize = 14.0

    /// Pixel position of a data point. Points far outside are clamped a few panel sizes away, so a
    /// stray value cannot produce coordinates Cairo chokes on; a point a log axis cannot show is nil.
    public func point(x xValue: Double, y yValue: Double) -> (x: Double, y: Double)? {
        let fx = x.fraction(xValue), fy = y.fraction(yValue)
        guard fx.isFinite, fy.isFinite else { return nil }
        return (area.x + min(max(fx, -4), 5) * area.width, area.maxY - min(max(fy, -4), 5) * area.height)
    }

    /// Grid, box, ticks with labels, axis labels and the title.
    public func drawFrame(on drawing: Drawing, title: String, xLabel: String, yLabel: String) {
        let tickSize = Self.tickFontSize
        let digitHeight = drawing.fontMetrics(size: tickSize).ascent * 0.72
        for tick in y.ticks {
            guard let position = point(x: x.lower, y: tick.value), position.y >= area.y - 0.5, position.y <= area.maxY + 0.5
            else { continue }
            if !tick.isMinor {
                drawing.line(from: (area.x, position.y), to: (area.maxX, position.y), width: 0.8, color: .gridGray)
            }
            let length = tick.isMinor ? 2.5 : 4.5
            drawing.line(from: (area.x - length, position.y), to: (area.x, position.y), width: 0.8, color: .black)
            guard !tick.isMinor else { continue }
            drawTickLabel(tick, rightEdge: area.x - 7, baseline: position.y + digitHeight / 2, on: drawing)
        }
        for tick in x.ticks {
            guard let position = point(x: tick.value, y: y.lower), position.x >= area.x - 0.5, position.x <= area.maxX + 0.5
            else { continue }
            if !tick.isMinor {
                drawing.line(from: (position.x, area.y), to: (position.x, area.maxY), width: 0.8, color: .gridGray)
            }
            drawing.line(from: (position.x, area.maxY), to: (position.x, area.maxY + (tick.isMinor ? 2.5 : 4.5)),
                         width: 0.8, color: .black)
            if !tick.isMinor {
                drawing.text(tick.label, x: position.x, y: area.maxY + 8 + digitHeight * 1.4, size: tickSize, anchor: .center)
            }
        }
        drawing.frame(x: area.x - 0.4, y: area.y - 0.4, width: area.width + 0.8, height: area.height + 0.8,
                      lineWidth: 0.8, color: .black)
        drawing.text(title, x: area.x + area.width / 2, y: area.y - 10, size: Self.titleFontSize, anchor: .center)
        drawing.text(xLabel, x: area.x + area.width / 2, y: area.maxY + 42, size: Self.labelFontSize, anchor: .center)
        drawing.verticalText(yLabel, x: area.x - 58, y: area.y + area.height / 2, size: Self.labelFontSize)
    }

    /// A y tick label ending at `rightEdge`, with its exponent as a raised, smaller superscript.
    private func drawTickLabel(_ tick: Tick, rightEdge: Double, baseline: Double, on drawing: Drawing) {
        let size = Self.tickFontSize
        guard let exponent = tick.exponent else {
            drawing.text(tick.label, x: rightEdge, y: baseline, size: size, anchor: .right)
            return
        }
        let small = size * 0.72
        let exponentWidth = drawing.textWidth(exponent, size: small)
        drawing.text(exponent, x: rightEdge - exponentWidth, y: baseline - size * 0.45, size: small)
        drawing.text(tick.label, x: rightEdge - exponentWidth - 0.5, y: baseline, size: size, anchor: .right)
    }
}
