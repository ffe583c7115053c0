// The predictions grid, the original project's figure: test images magnified with crisp pixels, each
// captioned with its true label and every model's predicted label and score; mistakes framed red,
// disagreements between the models ringed orange. The grid shows at most `cells` images, mistakes first.
import Foundation

public enum PredictionGrid {
    /// One model's answers for every image of the set.
    public struct Model: Sendable {
        /// Long name for the key under the title, e.g. "dense on OpenBLAS".
        public var name: String
        /// Short name in each caption, e.g. "dense".
        public var key: String
        /// The predicted label of each image.
        public var predictions: [Int]
        /// The number printed beside each prediction (e.g. ŷ = P(digit 1)); three decimals.
        public var scores: [Float]

        public init(name: String, key: String, predictions: [Int], scores: [Float]) {
            self.name = name
            self.key = key
            self.predictions = predictions
            self.scores = scores
        }
    }

    /// Which images the grid shows and the sentence that says so.
    public struct Selection: Sendable, Equatable {
        /// Positions in the set, mistakes first (in set order), then correct images spread evenly.
        public let indices: [Int]
        /// Images that at least one model gets wrong, in the whole set.
        public let mistakeCount: Int
        /// Of those, how many the grid shows.
        public let mistakesShown: Int
        public let total: Int

        /// "showing 64 of 70 mistakes (of 2,115 test images)" and the like.
        public var subtitle: String {
            if mistakeCount == 0 {
                return "no mistakes among \(plural(total, "test image")); showing \(indices.count) spread over the set"
            }
            if mistakesShown < mistakeCount {
                return "showing \(mistakesShown) of \(plural(mistakeCount, "mistake")) (of \(plural(total, "test image")))"
            }
            let others = indices.count - mistakesShown
            let all = mistakeCount == 1 ? "the one mistake" : "all \(mistakeCount) mistakes"
            return "\(all) among \(plural(total, "test image"))"
                + (others > 0 ? ", then \(others) correctly classified spread over the set" : "")
        }
    }

    /// Chooses at most `cells` images: every mistake (an image some model gets wrong) while room lasts,
    /// then correct images at even spacing over the set. `cells` is never exceeded.
    public static func select(labels: [Int], models: [Model], cells: Int) -> Selection {
        let total = labels.count
        let mistakes = (0..<total).filter { index in
            models.contains { index < $0.predictions.count && $0.predictions[index] != labels[index] }
        }
        let wanted = min(max(cells, 0), total)
        var chosen = Array(mistakes.prefix(wanted))
        let shown = chosen.count
        var taken = Set(chosen)
        let mistakeSet = Set(mistakes)
        let correct = total - mistakes.count
        let missing = wanted - chosen.count
        if missing > 0 {
            let correctIndices = (0..<total).filter { !taken.contains($0) && !mistakeSet.contains($0) }
            for step in 0..<missing {
                let index = correctIndices[step * correct / missing]
                if taken.insert(index).inserted { chosen.append(index) }
            }
        }
        return Selection(indices: chosen, mistakeCount: mistakes.count, mistakesShown: shown, total: total)
    }

    /// How a cell is marked.
    public struct Marks: Sendable, Equatable {
        /// Some model predicts another label than the true one.
        public var misclassified: Bool
        /// The models predict different labels.
        public var modelsDisagree: Bool

        public static let correctColor = Color.lightGray
        public static let misclassifiedColor = Color.red
        public static let disagreementColor = Color.orange

        public var frameColor: Color { misclassified ? Self.misclassifiedColor : Self.correctColor }
    }

    public static func marks(label: Int, predictions: [Int]) -> Marks {
        Marks(misclassified: predictions.contains { $0 != label }, modelsDisagree: Set(predictions).count > 1)
    }

    /// A score with three decimals and its leading zero, so every number has the same width: "0.993".
    public static func formatScore(_ score: Float) -> String {
        score.isNaN ? "nan" : String(format: "%.3f", Double(min(max(score, 0), 1)))
    }

    /// Where everything goes, in pixels.
    public struct Layout: Sendable, Equatable {
        public static let margin = 24.0
        /// Width of the frame around an image and of the disagreement ring outside it.
        public static let border = 3.0
        public static let captionSize = 12.0
        public static let lineHeight = 16.0
        public static let headerHeight = 112.0

        public let columns: Int
        public let rows: Int
        public let scale: Double
        public let imageWidth: Double, imageHeight: Double
        public let cellWidth: Double, cellHeight: Double
        public let width: Int, height: Int

        /// `captionWidth`: the widest caption line; `headerWidth`: the widest header line.
        public init(cells: Int, columns: Int, imageWidth: Int, imageHeight: Int, models: Int,
                    captionWidth: Double, headerWidth: Double) {
            self.columns = max(1, min(columns, max(cells, 1)))
            rows = (max(cells, 0) + self.columns - 1) / self.columns
            // Magnify small images to about 112 px, as the 28×28 digits at 4×.
            scale = max(1, (112 / Double(max(imageWidth, imageHeight, 1))).rounded(.down))
            self.imageWidth = Double(imageWidth) * scale
            self.imageHeight = Double(imageHeight) * scale
            cellWidth = max(self.imageWidth + 4 * Self.border, captionWidth) + 14
            cellHeight = self.imageHeight + 4 * Self.border + 6 + Double(1 + models) * Self.lineHeight + 12
            width = Int((2 * Self.margin + max(Double(self.columns) * cellWidth, headerWidth)).rounded(.up))
            height = Int((Self.headerHeight + Double(rows) * cellHeight + Self.margin).rounded(.up))
        }

        /// The outer edge of the frame around the image of cell `position` (row-major).
        public func frame(ofCell position: Int) -> Rectangle {
            let left = Self.margin + Double(position % columns) * cellWidth
            let top = Self.headerHeight + Double(position / columns) * cellHeight
            let frameWidth = imageWidth + 2 * Self.border
            return Rectangle(x: left + (cellWidth - frameWidth) / 2, y: top + Self.border,
                             width: frameWidth, height: imageHeight + 2 * Self.border)
        }
    }

    /// Renders the grid of `selection` over `images` (N × `imageWidth`·`imageHeight` values in [0, 1],
    /// row-major), their `labels` and each model's answers.
    public static func render(images: [Float], imageWidth: Int, imageHeight: Int, labels: [Int], models: [Model],
                              selection: Selection, title: String, scoreMeaning: String, columns: Int = 8,
                              format: PictureFormat = .png) throws -> Picture {
        let pixels = imageWidth * imageHeight
        guard imageWidth > 0, imageHeight > 0, images.count == labels.count * pixels else {
            throw PictureError.invalidData("\(images.count) pixel values for \(labels.count) images of \(imageWidth)×\(imageHeight)")
        }
        for model in models where model.predictions.count != labels.count || model.scores.count != labels.count {
            throw PictureError.invalidData("model '\(model.name)' has \(model.predictions.count) predictions and "
                                           + "\(model.scores.count) scores for \(labels.count) images")
        }
        if let bad = selection.indices.first(where: { !labels.indices.contains($0) }) {
            throw PictureError.invalidData("image \(bad) is not in the set of \(labels.count)")
        }
        let captionSize = Layout.captionSize
        let keyWidth = try models.map { try Picture.measure($0.key, size: captionSize) }.max() ?? 0
        let labelWidth = try Picture.measure("88", size: captionSize)
        let scoreWidth = try Picture.measure("0.000", size: captionSize)
        let captionWidth = max(keyWidth + 10 + labelWidth + 10 + scoreWidth,
                               try Picture.measure("label 888", size: captionSize))
        let headerLines = [title, selection.subtitle, keyLine(models: models, scoreMeaning: scoreMeaning)]
        let headerWidth = try headerLines.map { try Picture.measure($0, size: 13) }.max() ?? 0
        let layout = Layout(cells: selection.indices.count, columns: columns, imageWidth: imageWidth,
                            imageHeight: imageHeight, models: models.count, captionWidth: captionWidth,
                            headerWidth: max(headerWidth + 40, legendWidth))

        return try Picture.render(width: layout.width, height: layout.height, format: format) { drawing in
            let margin = Layout.margin
            drawing.text(title, x: margin, y: 32, size: 16, bold: true)
            drawing.text(selection.subtitle, x: margin, y: 54, size: 13, color: .darkGray)
            drawLegend(x: margin, baseline: 78, on: drawing)
            drawing.text(headerLines[2], x: margin, y: 100, size: 13, color: .darkGray)

            for (position, index) in selection.indices.enumerated() {
                let label = labels[index]
                let predictions = models.map { $0.predictions[index] }
                let frame = layout.frame(ofCell: position)
                drawing.markRegion("image \(index)", x: frame.x, y: frame.y, width: frame.width, height: frame.height)
                drawMarks(marks(label: label, predictions: predictions), frame: frame, on: drawing)
                drawing.grayImage(images[index * pixels..<(index + 1) * pixels], width: imageWidth, height: imageHeight,
                                  x: frame.x + Layout.border, y: frame.y + Layout.border, scale: layout.scale)
                // Caption: the label, then per model its key, predicted label and score in aligned columns.
                let left = frame.x + frame.width / 2 - captionWidth / 2
                var baseline = frame.maxY + Layout.border + 6 + Layout.lineHeight - 4
                drawing.text("label \(label)", x: left, y: baseline, size: captionSize, bold: true)
                for (model, predicted) in zip(models, predictions) {
                    baseline += Layout.lineHeight
                    let color: Color = predicted == label ? .black : Marks.misclassifiedColor
                    drawing.text(model.key, x: left, y: baseline, size: captionSize, color: color)
                    drawing.text("\(predicted)", x: left + keyWidth + 10 + labelWidth, y: baseline, size: captionSize,
                                 color: color, anchor: .right)
                    drawing.text(formatScore(model.scores[index]), x: left + captionWidth, y: baseline, size: captionSize,
                                 color: color, anchor: .right)
                }
            }
        }
    }

    /// "dense = dense on OpenBLAS, sigmoid = sigmoid on Swift; each line: model, predicted label, ŷ = P(digit 1)".
    static func keyLine(models: [Model], scoreMeaning: String) -> String {
        models.map { "\($0.key) = \($0.name)" }.joined(separator: ", ") + "; each caption line: model, predicted label, \(scoreMeaning)"
    }

    private static let legendEntries: [(Marks, String)] = [
        (Marks(misclassified: false, modelsDisagree: false), "all models correct"),
        (Marks(misclassified: true, modelsDisagree: false), "misclassified"),
        (Marks(misclassified: true, modelsDisagree: true), "the models disagree"),
    ]
    private static let legendWidth = 520.0

    private static func drawLegend(x: Double, baseline: Double, on drawing: Drawing) {
        var left = x
        for (marks, text) in legendEntries {
            let side = 16.0
            drawMarks(marks, frame: Rectangle(x: left + Layout.border, y: baseline - side + 2, width: side, height: side),
                      on: drawing)
            left += side + 2 * Layout.border + 6
            left += drawing.text(text, x: left, y: baseline, size: 13) + 24
        }
    }

    /// The frame (outer edge `frame`) and, when the models disagree, the ring just outside it.
    private static func drawMarks(_ marks: Marks, frame: Rectangle, on drawing: Drawing) {
        let border = Layout.border
        drawing.frame(x: frame.x, y: frame.y, width: frame.width, height: frame.height, lineWidth: border,
                      color: marks.frameColor)
        if marks.modelsDisagree {
            drawing.frame(x: frame.x - border, y: frame.y - border, width: frame.width + 2 * border,
                          height: frame.height + 2 * border, lineWidth: border, color: Marks.disagreementColor)
        }
    }
}

/// "1 mistake", "3 mistakes", "2,115 test images".
func plural(_ count: Int, _ noun: String) -> String {
    var digits = String(count.magnitude), groups: [String] = []
    while digits.count > 3 {
        groups.insert(String(digits.suffix(3)), at: 0)
        digits.removeLast(3)
    }
    let number = (count < 0 ? "-" : "") + ([digits] + groups).joined(separator: ",")
    return "\(number) \(noun)\(count == 1 ? "" : "s")"
}
