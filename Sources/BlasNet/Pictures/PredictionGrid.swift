import Foundation

/// A figure comparing two models on chosen test images: one cell per image with the digit and, under it,
/// the label and each model's predicted class and ŷ = P(label 1). The frame around a digit is red when
/// either model misclassifies it, light gray when both are right; an extra orange ring outside the frame
/// marks images on which the two models disagree (with two classes: exactly one of them is wrong).
public enum PredictionGrid {
    public static let title = "label, yhat dense (OpenBLAS), yhat sigmoid (Swift)"
    public static let legendLine = "D = dense, S = sigmoid: predicted class, yhat = P(label 1)"

    /// How a cell is marked.
    public struct CellStatus: Sendable, Equatable {
        /// At least one model predicts a class other than the label.
        public let misclassified: Bool
        /// The models predict different classes.
        public let modelsDisagree: Bool

        public init(misclassified: Bool, modelsDisagree: Bool) {
            self.misclassified = misclassified
            self.modelsDisagree = modelsDisagree
        }

        public static let frameColorCorrect = RGBColor.lightGray
        public static let frameColorMisclassified = RGBColor.red
        public static let disagreementColor = RGBColor.orange

        /// Colour of the frame around the digit.
        public var frameColor: RGBColor { misclassified ? Self.frameColorMisclassified : Self.frameColorCorrect }
        /// Colour of the ring outside the frame, if any.
        public var ringColor: RGBColor? { modelsDisagree ? Self.disagreementColor : nil }
    }

    /// The predicted class for a probability of label 1 (the logit is positive exactly when σ > 0.5).
    public static func predictedClass(_ probability: Float) -> Int { probability > 0.5 ? 1 : 0 }

    public static func status(label: Int, denseProbability: Float, sigmoidProbability: Float) -> CellStatus {
        let dense = predictedClass(denseProbability), sigmoid = predictedClass(sigmoidProbability)
        return CellStatus(misclassified: dense != label || sigmoid != label, modelsDisagree: dense != sigmoid)
    }

    /// Positions of everything in the figure, in pixels.
    public struct Layout: Sendable, Equatable {
        public static let margin = 16
        /// Width of the frame around a digit and of the disagreement ring outside it.
        public static let borderThickness = 3
        /// Space between a cell's parts and between neighbouring cells.
        public static let gap = 6
        public static let textLines = 3
        /// Scale of the title and legend text.
        public static let headerScale = 2

        public let columns: Int
        public let rows: Int
        public let imageScale: Int
        public let textScale: Int
        /// Side of the scaled 28×28 digit.
        public let imageSide: Int
        public let cellWidth: Int
        public let cellHeight: Int
        /// y of the first row of cells.
        public let gridTop: Int
        public let canvasWidth: Int
        public let canvasHeight: Int

        public init(cellCount: Int, columns: Int, imageScale: Int = 4, textScale: Int = 2) {
            let count = max(cellCount, 0)
            self.columns = max(1, min(columns, max(count, 1)))
            rows = (count + self.columns - 1) / self.columns
            self.imageScale = max(1, min(imageScale, 32))
            self.textScale = max(1, min(textScale, 8))
            imageSide = 28 * self.imageScale
            let ringed = imageSide + 4 * Self.borderThickness  // frame and ring on both sides
            let longestLine = BitmapFont.width(of: "D:1 1.000", scale: self.textScale)
            cellWidth = max(ringed, longestLine) + 2 * Self.gap
            cellHeight = ringed + Self.gap + Self.textLines * BitmapFont.lineHeight * self.textScale + 2 * Self.gap
            let headerLine = BitmapFont.lineHeight * Self.headerScale + Self.gap
            // Title, colour legend, text legend, then the grid.
            gridTop = Self.margin + 3 * headerLine + Self.gap
            let headerWidth = max(BitmapFont.width(of: PredictionGrid.title, scale: Self.headerScale),
                                  PredictionGrid.legendWidth(scale: Self.headerScale),
                                  BitmapFont.width(of: PredictionGrid.legendLine, scale: Self.headerScale))
            canvasWidth = 2 * Self.margin + max(self.columns * cellWidth, headerWidth)
            canvasHeight = gridTop + rows * cellHeight + Self.margin
        }

        /// Top-left corner of cell `position` (0-based, row-major).
        public func cellOrigin(_ position: Int) -> (x: Int, y: Int) {
            (Self.margin + (position % columns) * cellWidth, gridTop + (position / columns) * cellHeight)
        }

        /// The frame around the digit of cell `position` (outer rectangle; the frame is `borderThickness`
        /// wide inside it, the disagreement ring `borderThickness` wide outside it).
        public func frame(ofCell position: Int) -> (x: Int, y: Int, width: Int, height: Int) {
            let origin = cellOrigin(position)
            let side = imageSide + 2 * Self.borderThickness
            return (origin.x + Self.gap + Self.borderThickness, origin.y + Self.borderThickness, side, side)
        }

        /// Top-left corner of the digit of cell `position`.
        public func imageOrigin(ofCell position: Int) -> (x: Int, y: Int) {
            let frame = frame(ofCell: position)
            return (frame.x + Self.borderThickness, frame.y + Self.borderThickness)
        }

        /// Top-left corner of the first text line of cell `position`.
        public func textOrigin(ofCell position: Int) -> (x: Int, y: Int) {
            let frame = frame(ofCell: position)
            return (frame.x - Self.borderThickness, frame.y + frame.height + Self.borderThickness + Self.gap)
        }
    }

    /// Renders one cell per entry of `indices` (positions in `images`, N×784 values in [0, 1], and in the
    /// parallel arrays `labels`, `denseProbabilities`, `sigmoidProbabilities`), `columns` cells per row,
    /// digits magnified `imageScale` times, cell text at `textScale`. Indices out of range of any array give
    /// a cell that says so instead of a digit.
    public static func render(images: [Float], labels: [Int], denseProbabilities: [Float], sigmoidProbabilities: [Float],
                              indices: [Int], columns: Int = 8, imageScale: Int = 4, textScale: Int = 2) -> Canvas {
        let layout = Layout(cellCount: indices.count, columns: columns, imageScale: imageScale, textScale: textScale)
        var canvas = Canvas(width: layout.canvasWidth, height: layout.canvasHeight, background: .white)
        drawHeader(on: &canvas)

        let pixelCount = LabeledImages.pixelCount
        for (position, index) in indices.enumerated() {
            let frame = layout.frame(ofCell: position)
            let imageOrigin = layout.imageOrigin(ofCell: position)
            let textOrigin = layout.textOrigin(ofCell: position)
            let lineHeight = BitmapFont.lineHeight * layout.textScale
            let (start, overflow) = index.multipliedReportingOverflow(by: pixelCount)
            guard index >= 0, !overflow, start <= images.count - pixelCount, index < labels.count,
                  index < denseProbabilities.count, index < sigmoidProbabilities.count
            else {
                drawMarks(CellStatus(misclassified: false, modelsDisagree: false), frame: frame, on: &canvas)
                canvas.drawText("no data", x: textOrigin.x, y: textOrigin.y, color: .gray, scale: layout.textScale)
                canvas.drawText("#\(index)", x: textOrigin.x, y: textOrigin.y + lineHeight, color: .gray,
                                scale: layout.textScale)
                continue
            }
            let label = labels[index], dense = denseProbabilities[index], sigmoid = sigmoidProbabilities[index]
            drawMarks(status(label: label, denseProbability: dense, sigmoidProbability: sigmoid), frame: frame, on: &canvas)
            canvas.drawGrayscaleImage(images[start..<start + pixelCount], x: imageOrigin.x, y: imageOrigin.y,
                                      scale: layout.imageScale)
            // The label, then each model's class and ŷ; a wrong prediction in red.
            let lines: [(String, RGBColor)] = [
                ("label \(label)", .black),
                ("D:\(predictedClass(dense)) \(formatProbability(dense))", predictedClass(dense) == label ? .black : .red),
                ("S:\(predictedClass(sigmoid)) \(formatProbability(sigmoid))", predictedClass(sigmoid) == label ? .black : .red),
            ]
            for (line, (text, color)) in lines.enumerated() {
                canvas.drawText(text, x: textOrigin.x, y: textOrigin.y + line * lineHeight, color: color,
                                scale: layout.textScale)
            }
        }
        return canvas
    }

    /// ŷ with three decimals, without the leading zero: ".998", "1.000", ".000".
    public static func formatProbability(_ probability: Float) -> String {
        guard !probability.isNaN else { return "nan" }
        let text = String(format: "%.3f", Double(min(max(probability, 0), 1)))
        return text.hasPrefix("0.") ? String(text.dropFirst()) : text
    }

    /// Frame (and ring, if the models disagree) around the digit whose framed rectangle is `frame`.
    private static func drawMarks(_ status: CellStatus, frame: (x: Int, y: Int, width: Int, height: Int),
                                  on canvas: inout Canvas) {
        let thickness = Layout.borderThickness
        canvas.strokeRectangle(x: frame.x, y: frame.y, width: frame.width, height: frame.height, thickness: thickness,
                               color: status.frameColor)
        if let ring = status.ringColor {
            canvas.strokeRectangle(x: frame.x - thickness, y: frame.y - thickness, width: frame.width + 2 * thickness,
                                   height: frame.height + 2 * thickness, thickness: thickness, color: ring)
        }
    }

    private static let legendEntries: [(CellStatus, String)] = [
        (CellStatus(misclassified: true, modelsDisagree: false), "misclassified (either model)"),
        (CellStatus(misclassified: true, modelsDisagree: true), "models disagree"),
        (CellStatus(misclassified: false, modelsDisagree: false), "both correct"),
    ]
    private static let swatchSpacing = 30

    /// Swatch side of the legend at `scale`: the glyph height plus room for the ring.
    private static func swatchSide(scale: Int) -> Int { BitmapFont.glyphHeight * scale + 2 * Layout.borderThickness }

    static func legendWidth(scale: Int) -> Int {
        legendEntries.map { swatchSide(scale: scale) + 8 + BitmapFont.width(of: $0.1, scale: scale) }.reduce(0, +)
            + swatchSpacing * (legendEntries.count - 1)
    }

    /// Title, colour legend (a marked swatch per status) and the key to the cell text.
    private static func drawHeader(on canvas: inout Canvas) {
        let scale = Layout.headerScale
        let lineStep = BitmapFont.lineHeight * scale + Layout.gap
        var y = Layout.margin
        canvas.drawText(title, x: Layout.margin, y: y, color: .black, scale: scale)
        y += lineStep
        var x = Layout.margin
        let side = swatchSide(scale: scale)
        let thickness = Layout.borderThickness
        for (status, text) in legendEntries {
            drawMarks(status, frame: (x + thickness, y - thickness, side - 2 * thickness, side - 2 * thickness),
                      on: &canvas)
            x += side + 8
            x += canvas.drawText(text, x: x, y: y, color: .black, scale: scale) + swatchSpacing
        }
        y += lineStep
        canvas.drawText(legendLine, x: Layout.margin, y: y, color: .darkGray, scale: scale)
    }
}
