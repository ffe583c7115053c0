// DigitPreparation: a user's picture of a digit made to look like an MNIST digit before a model sees it.
// MNIST's digits are light ink on black, the ink's bounding box fitted into 20×20 keeping its aspect
// ratio, and that box placed in the 28×28 field so the ink's centre of mass lies at the centre: with the
// centre of mass c in pixel-index coordinates (Σ i·ink / Σ ink), the box starts at round(14 − c), the
// rule MNIST's own digits follow (checked against the test set: docs/formats.md).
import Foundation

public enum DigitPreparation {
    /// Side of the field and of the box the ink is fitted into.
    public static let fieldSide = 28
    public static let boxSide = 20
    /// Ink below this share of the brightest ink does not count for the bounding box (paper grain, JPEG-
    /// like noise), though it is kept in the picture.
    public static let inkThreshold: Float = 0.02

    /// The prepared digit, and what was done to get it.
    public struct Prepared: Sendable, Equatable {
        /// [fieldSide · fieldSide] ink in [0, 1], row-major.
        public let pixels: [Float]
        /// The picture was dark ink on a light background, so it was inverted.
        public let inverted: Bool
        /// No ink was found: the field is blank.
        public let blank: Bool
    }

    /// Prepares a `width`×`height` grey picture (`luminance` row-major, 0 = black, 1 = white). A picture
    /// whose border is mostly light is taken as dark ink on light paper and inverted.
    public static func prepare(luminance: [Float], width: Int, height: Int) -> Prepared {
        precondition(width > 0 && height > 0 && luminance.count == width * height, "luminance must be width × height")
        var border: [Float] = []
        for x in 0..<width { border.append(luminance[x]); border.append(luminance[(height - 1) * width + x]) }
        for y in 0..<height { border.append(luminance[y * width]); border.append(luminance[y * width + width - 1]) }
        let inverted = border.reduce(0, +) / Float(border.count) > 0.5
        let ink = luminance.map { min(max(inverted ? 1 - $0 : $0, 0), 1) }

        let brightest = ink.max() ?? 0
        let field = fieldSide * fieldSide
        guard brightest > 0 else { return Prepared(pixels: [Float](repeating: 0, count: field), inverted: inverted, blank: true) }
        var (x0, x1, y0, y1) = (width, 0, height, 0)
        for y in 0..<height {
            for x in 0..<width where ink[y * width + x] >= inkThreshold * brightest {
                x0 = min(x0, x); x1 = max(x1, x + 1); y0 = min(y0, y); y1 = max(y1, y + 1)
            }
        }
        let boxWidth = x1 - x0, boxHeight = y1 - y0
        let scale = Double(boxSide) / Double(max(boxWidth, boxHeight))
        let outWidth = max(1, min(boxSide, Int((Double(boxWidth) * scale).rounded())))
        let outHeight = max(1, min(boxSide, Int((Double(boxHeight) * scale).rounded())))
        let patch = resample(ink, width: width, x: x0, y: y0, boxWidth: boxWidth, boxHeight: boxHeight,
                             to: outWidth, outHeight)

        // Centre of mass of the patch, in its pixel indices; the patch's origin in the field.
        var mass = 0.0, sumX = 0.0, sumY = 0.0
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let value = Double(patch[y * outWidth + x])
                mass += value; sumX += value * Double(x); sumY += value * Double(y)
            }
        }
        let left = Int((Double(fieldSide / 2) - sumX / mass).rounded())
        let top = Int((Double(fieldSide / 2) - sumY / mass).rounded())
        var pixels = [Float](repeating: 0, count: field)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let fx = left + x, fy = top + y
                guard (0..<fieldSide).contains(fx), (0..<fieldSide).contains(fy) else { continue }
                pixels[fy * fieldSide + fx] = patch[y * outWidth + x]
            }
        }
        return Prepared(pixels: pixels, inverted: inverted, blank: false)
    }

    /// The box (x, y, boxWidth, boxHeight) of `source` (`width` wide) resampled to outWidth × outHeight by
    /// area averaging: each output pixel is the mean of the source area it covers, fractional edges
    /// weighted by their overlap. Exact for whole-number reductions; blocks for enlargements.
    static func resample(_ source: [Float], width: Int, x: Int, y: Int, boxWidth: Int, boxHeight: Int,
                         to outWidth: Int, _ outHeight: Int) -> [Float] {
        let stepX = Double(boxWidth) / Double(outWidth), stepY = Double(boxHeight) / Double(outHeight)
        var out = [Float](repeating: 0, count: outWidth * outHeight)
        for oy in 0..<outHeight {
            let top = Double(oy) * stepY, bottom = top + stepY
            for ox in 0..<outWidth {
                let left = Double(ox) * stepX, right = left + stepX
                var sum = 0.0
                var sy = Int(top)
                while Double(sy) < bottom && sy < boxHeight {
                    let coverY = min(bottom, Double(sy + 1)) - max(top, Double(sy))
                    var sx = Int(left)
                    while Double(sx) < right && sx < boxWidth {
                        let coverX = min(right, Double(sx + 1)) - max(left, Double(sx))
                        sum += Double(source[(y + sy) * width + x + sx]) * coverX * coverY
                        sx += 1
                    }
                    sy += 1
                }
                out[oy * outWidth + ox] = Float(sum / (stepX * stepY))
            }
        }
        return out
    }
}
