// The confusion-matrix figure: one K×K panel per model, side by side, as scikit-learn's
// ConfusionMatrixDisplay draws it — rows are the true labels, columns the predicted ones, each cell labelled
// with its count. The diagonal (correct) shades in blue by its share of its row; a mistake cell shades in
// red by its row share relative to the panel's commonest mistake, so even rare mistakes show and their
// pattern (which digits are taken for which) stands out.
import Foundation

public enum ConfusionMatrixChart {
    /// One model's matrix: `counts[actual][predicted]`, K × K, over the classes `ConfusionMatrixChart.render`
    /// is given.
    public struct Model: Sendable, Equatable {
        public var name: String
        public var counts: [[Int]]

        public init(name: String, counts: [[Int]]) {
            self.name = name
            self.counts = counts
        }
    }

    /// The colour of a cell holding `share` (0…1) of its row: white at 0, the full colour at 1.
    public static func shade(_ share: Double, diagonal: Bool) -> Color {
        let full = diagonal ? Color(hex: 0x08519C) : Color(hex: 0xCB181D)  // matplotlib's Blues / Reds ends
        let t = min(max(share.isFinite ? share : 0, 0), 1)
        return Color(red: 1 + (full.red - 1) * t, green: 1 + (full.green - 1) * t, blue: 1 + (full.blue - 1) * t)
    }

    /// Side of one cell in pixels, for `classes` classes (smaller cells for more classes).
    public static func cellSize(classes: Int) -> Double { classes <= 4 ? 72 : classes <= 10 ? 48 : 32 }

    /// Renders the figure; each cell is recorded as the region "<model index> <actual> <predicted>".
    /// Throws `PictureError.invalidData` unless every model's counts are K × K non-negative numbers for the
    /// K `classLabels`.
    public static func render(classLabels: [String], models: [Model], title: String,
                              format: PictureFormat = .png) throws -> Picture {
        let classes = classLabels.count
        guard classes >= 1, !models.isEmpty,
              models.allSatisfy({ $0.counts.count == classes && $0.counts.allSatisfy { $0.count == classes } }) else {
            throw PictureError.invalidData("a confusion matrix must be \(classes)×\(classes) for \(classes) classes")
        }
        guard models.allSatisfy({ $0.counts.joined().allSatisfy { $0 >= 0 } }) else {
            throw PictureError.invalidData("a confusion matrix holds a negative count")
        }
        let cell = cellSize(classes: classes)
        let side = cell * Double(classes)
        let left = 78.0, top = 112.0, gap = 90.0, right = 28.0, bottom = 62.0
        let panels = left + Double(models.count) * side + Double(models.count - 1) * gap + right
        let width = Int(max(panels, try Picture.measure(title, size: 16, bold: true) + 40,
                            try Picture.measure(note, size: 12) + 40).rounded(.up))
        let height = Int(top + side + bottom)
        return try Picture.render(width: width, height: height, format: format) { drawing in
            drawing.text(title, x: Double(width) / 2, y: 28, size: 16, bold: true, anchor: .center)
            drawing.text(note, x: Double(width) / 2, y: 48, size: 12, color: .darkGray, anchor: .center)
            let x = (Double(width) - panels) / 2 + left
            for (index, model) in models.enumerated() {
                drawPanel(model, index: index, classLabels: classLabels, x0: x + Double(index) * (side + gap), y0: top,
                          cell: cell, on: drawing)
            }
        }
    }

    /// The line under the title that says how cells are shaded.
    public static let note = "rows: true label · blue: share of the row right · red: share relative to the commonest mistake"

    private static func drawPanel(_ model: Model, index: Int, classLabels: [String], x0: Double, y0: Double,
                                  cell: Double, on drawing: Drawing) {
        let classes = classLabels.count
        let side = cell * Double(classes)
        let total = model.counts.joined().reduce(0, +)
        let correct = (0..<classes).reduce(0) { $0 + model.counts[$1][$1] }
        let errors = total - correct
        drawing.text(model.name, x: x0 + side / 2, y: y0 - 34, size: 14, bold: true, anchor: .center)
        drawing.text("\(errors) of \(plural(total, "test image")) wrong", x: x0 + side / 2, y: y0 - 16, size: 12, color: .darkGray,
                     anchor: .center)
        let countSize = cell >= 48 ? 12.0 : 9.0
        func share(_ actual: Int, _ predicted: Int) -> Double {
            let rowTotal = model.counts[actual].reduce(0, +)
            return rowTotal == 0 ? 0 : Double(model.counts[actual][predicted]) / Double(rowTotal)
        }
        var commonestMistake = 0.0
        for actual in 0..<classes {
            for predicted in 0..<classes where predicted != actual {
                commonestMistake = max(commonestMistake, share(actual, predicted))
            }
        }
        for actual in 0..<classes {
            for predicted in 0..<classes {
                let count = model.counts[actual][predicted]
                let x = x0 + Double(predicted) * cell, y = y0 + Double(actual) * cell
                let color = actual == predicted ? shade(share(actual, predicted), diagonal: true)
                    : shade(commonestMistake == 0 ? 0 : share(actual, predicted) / commonestMistake, diagonal: false)
                drawing.fill(x: x, y: y, width: cell, height: cell, color: color)
                drawing.markRegion("\(index) \(actual) \(predicted)", x: x, y: y, width: cell, height: cell)
                if count > 0 {
                    // White on dark cells, black on light ones, as matplotlib picks the text colour.
                    let luminance = 0.299 * color.red + 0.587 * color.green + 0.114 * color.blue
                    drawing.text("\(count)", x: x + cell / 2, y: y + cell / 2 + countSize * 0.36, size: countSize,
                                 color: luminance < 0.5 ? .white : .black, anchor: .center)
                }
            }
        }
        drawing.frame(x: x0, y: y0, width: side, height: side, lineWidth: 1, color: .darkGray)
        for (position, label) in classLabels.enumerated() {
            let middle = Double(position) * cell + cell / 2
            drawing.text(label, x: x0 + middle, y: y0 + side + 18, size: 12, anchor: .center)
            drawing.text(label, x: x0 - 8, y: y0 + middle + 4, size: 12, anchor: .right)
        }
        drawing.text("predicted label", x: x0 + side / 2, y: y0 + side + 42, size: 13, anchor: .center)
        drawing.verticalText("true label", x: x0 - 46, y: y0 + side / 2, size: 13)
    }
}
