@testable import BlasNet
import Foundation
import XCTest

final class PictureTests: XCTestCase {
    /// Writes `canvas` to $BLASNET_PICTURES_DIR/name when that is set, for looking at the figures.
    private func keep(_ canvas: Canvas, as name: String) throws {
        guard let directory = ProcessInfo.processInfo.environment["BLASNET_PICTURES_DIR"], !directory.isEmpty else { return }
        try canvas.writePNG(to: (directory as NSString).appendingPathComponent(name))
    }

    // MARK: Canvas and font

    func testCanvasDrawingClipsInsteadOfCrashing() {
        var canvas = Canvas(width: 10, height: 8, background: .white)
        canvas.fillRectangle(x: -5, y: -5, width: 8, height: 7, color: .black)  // covers (0..<3, 0..<2)
        XCTAssertEqual(canvas.count(of: .black), 6)
        canvas.fillRectangle(x: Int.max - 1, y: 0, width: Int.max, height: 3, color: .red)
        canvas.fillRectangle(x: Int.min, y: Int.min, width: Int.max, height: Int.max, color: .red)
        canvas.fillRectangle(x: 2, y: 2, width: -3, height: 4, color: .red)
        XCTAssertEqual(canvas.count(of: .red), 0)
        canvas.fillRectangle(x: 8, y: 6, width: Int.max, height: Int.max, color: .blue)
        XCTAssertEqual(canvas.count(of: .blue), 4)
        XCTAssertNil(canvas.pixel(x: 10, y: 0))
        XCTAssertNil(canvas.pixel(x: 0, y: -1))

        // Lines: both ends drawn, far-away endpoints clipped cheaply.
        var lines = Canvas(width: 20, height: 10)
        lines.drawLine(x0: 2, y0: 3, x1: 12, y1: 3, color: .black)
        XCTAssertEqual(lines.count(of: .black), 11)
        lines.drawLine(x0: -1_000_000_000, y0: 5, x1: 1_000_000_000, y1: 5, color: .red)
        XCTAssertEqual(lines.count(of: .red), 20)
        lines.drawLine(x0: Int.min / 2, y0: Int.min / 2, x1: Int.max / 2, y1: Int.max / 2, color: .blue, thickness: 3)
        XCTAssertGreaterThan(lines.count(of: .blue), 10)
        lines.drawLine(x0: Int.min, y0: Int.max, x1: Int.max, y1: Int.min, color: .lightGray, thickness: 5)
        lines.drawLine(x0: Int.min, y0: 0, x1: Int.max, y1: 9, color: .green)
        lines.drawLine(x0: 30, y0: 30, x1: 40, y1: 50, color: .orange)
        XCTAssertEqual(lines.count(of: .orange), 0)
        XCTAssertGreaterThanOrEqual(lines.count(of: .lightGray), 4, "the anti-diagonal grazes the corner at (0, 0)")
        XCTAssertEqual(lines.pixel(x: 0, y: 0), .lightGray)
        XCTAssertEqual(lines.count(of: .green), 20, "a nearly horizontal line across the whole width")
        lines.drawLine(x0: 19, y0: 0, x1: 0, y1: 9, color: .darkGray)  // steep-ish diagonal, both directions
        XCTAssertEqual(lines.pixel(x: 19, y: 0), .darkGray)
        XCTAssertEqual(lines.pixel(x: 0, y: 9), .darkGray)

        // Clipping is exact even across Int's whole range.
        let bounds = Canvas.ClipBounds(minimumX: -3, minimumY: -3, maximumX: 22, maximumY: 12)
        let diagonal = Canvas.clip(.init(x: Int.min / 2, y: Int.min / 2), .init(x: Int.max / 2, y: Int.max / 2), to: bounds)
        XCTAssertEqual(diagonal?.start, .init(x: -3, y: -3))
        XCTAssertEqual(diagonal?.end, .init(x: 12, y: 12))
        let extreme = Canvas.clip(.init(x: Int.min, y: 5), .init(x: Int.max, y: 5), to: bounds)
        XCTAssertEqual(extreme?.start, .init(x: -3, y: 5))
        XCTAssertEqual(extreme?.end, .init(x: 22, y: 5))
        XCTAssertNil(Canvas.clip(.init(x: -100, y: 0), .init(x: 0, y: -100), to: bounds), "passes the corner outside")
        // Random segments: clipped endpoints lie in the bounds and within a pixel of the original line.
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<2000 {
            let scale = [30, 1000, 1 << 40, Int.max / 2][generator.nextIndex(below: 4)]
            func coordinate() -> Int { generator.nextIndex(below: 2 * scale) - scale }
            let start = Canvas.Point(x: coordinate(), y: coordinate()), end = Canvas.Point(x: coordinate(), y: coordinate())
            guard let clipped = Canvas.clip(start, end, to: bounds) else { continue }
            for point in [clipped.start, clipped.end] {
                XCTAssertTrue((-3...22).contains(point.x) && (-3...12).contains(point.y), "\(point)")
                let dx = Double(end.x) - Double(start.x), dy = Double(end.y) - Double(start.y)
                let length = (dx * dx + dy * dy).squareRoot()
                guard length > 0 else { continue }
                // Distance from the line through start and end, computed around the point to keep precision.
                let distance = abs(dx * (Double(start.y) - Double(point.y)) - dy * (Double(start.x) - Double(point.x))) / length
                if scale <= 1 << 40 { XCTAssertLessThanOrEqual(distance, 1.5, "\(start) \(end) → \(point)") }
            }
        }

        var frame = Canvas(width: 10, height: 10)
        frame.strokeRectangle(x: 1, y: 1, width: 8, height: 8, thickness: 2, color: .red)
        XCTAssertEqual(frame.count(of: .red), 64 - 16)
        XCTAssertEqual(frame.pixel(x: 2, y: 5), .red)
        XCTAssertEqual(frame.pixel(x: 3, y: 5), .white)
    }

    func testTextUsesTheBitmapFont() {
        var canvas = Canvas(width: 40, height: 10)
        let width = canvas.drawText("1", x: 0, y: 0, color: .black)
        XCTAssertEqual(width, 5)
        // "1" is 0x04 0x0C 0x04 0x04 0x04 0x04 0x0E: 10 pixels, the stem in column 2.
        XCTAssertEqual(canvas.count(of: .black), 10)
        XCTAssertEqual(canvas.pixel(x: 2, y: 0), .black)
        XCTAssertEqual(canvas.pixel(x: 0, y: 0), .white)

        var scaled = Canvas(width: 40, height: 20)
        XCTAssertEqual(scaled.drawText("1", x: 0, y: 0, color: .black, scale: 2), 10)
        XCTAssertEqual(scaled.count(of: .black), 40)
        XCTAssertEqual(BitmapFont.width(of: "abc", scale: 2), (3 * 6 - 1) * 2)

        let required = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:%/-()=+_'"
        for character in required { XCTAssertTrue(BitmapFont.hasGlyph(for: character), "no glyph for \(character)") }
        XCTAssertEqual(BitmapFont.glyph(for: "a"), BitmapFont.glyph(for: "A"))
        XCTAssertEqual(BitmapFont.glyph(for: "€"), BitmapFont.missingGlyph)
        // Distinct glyphs for distinct characters (catches copy-paste slips in the table).
        let upperAndDigits = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.,:%/-()=+_'".map { BitmapFont.glyph(for: $0) })
        XCTAssertEqual(upperAndDigits.count, 48)
        XCTAssertTrue(BitmapFont.glyphs.values.allSatisfy { $0.count == 7 && $0.allSatisfy { $0 < 32 } })

        var clipped = Canvas(width: 4, height: 4)
        clipped.drawText("WIDE TEXT\nsecond line", x: -3, y: -100, color: .black, scale: 3)
        clipped.drawText("x", x: Int.max - 2, y: Int.max - 2, color: .black, scale: 64)
    }

    func testGrayscaleImageIsScaledAndChecked() {
        var canvas = Canvas(width: 60, height: 60)
        var image = [Float](repeating: 0, count: 784)
        image[0] = 1          // top-left pixel full ink
        image[783] = 0.5      // bottom-right half ink
        image[28] = .nan
        image[29] = 7         // clamped to 1
        XCTAssertTrue(canvas.drawGrayscaleImage(image, x: 2, y: 2, scale: 2))
        XCTAssertEqual(canvas.pixel(x: 2, y: 2), .black)
        XCTAssertEqual(canvas.pixel(x: 3, y: 3), .black)
        XCTAssertEqual(canvas.pixel(x: 4, y: 2), .white)
        XCTAssertEqual(canvas.pixel(x: 2 + 55, y: 2 + 55), RGBColor(128, 128, 128))
        XCTAssertEqual(canvas.pixel(x: 2, y: 4), .white, "NaN draws as no ink")
        XCTAssertEqual(canvas.pixel(x: 4, y: 4), .black)
        XCTAssertFalse(canvas.drawGrayscaleImage(Array(image.prefix(100)), x: 0, y: 0))

        var light = Canvas(width: 28, height: 28)
        light.drawGrayscaleImage(image, x: 0, y: 0, inkIsDark: false)
        XCTAssertEqual(light.pixel(x: 0, y: 0), .white)
        XCTAssertEqual(light.pixel(x: 5, y: 5), .black)
    }

    // MARK: Prediction grid

    /// Four synthetic digits: blank, full, a diagonal, a square.
    private func sampleImages() -> [Float] {
        var images = [Float](repeating: 0, count: 4 * 784)
        for p in 0..<784 { images[784 + p] = 1 }
        for i in 0..<28 { images[2 * 784 + i * 28 + i] = 1 }
        for y in 8..<20 { for x in 8..<20 { images[3 * 784 + y * 28 + x] = 0.75 } }
        return images
    }

    func testPredictionGridMarksMistakesAndDisagreements() throws {
        let labels = [0, 1, 1, 0]
        let dense: [Float] = [0.01, 0.998, 0.2, 0.7]   // cell 2: dense wrong; cell 3: wrong
        let sigmoid: [Float] = [0.02, 0.991, 0.8, 0.9] // cell 3: wrong
        let canvas = PredictionGrid.render(images: sampleImages(), labels: labels, denseProbabilities: dense,
                                           sigmoidProbabilities: sigmoid, indices: [0, 1, 2, 3], columns: 2)
        try keep(canvas, as: "grid.png")
        let layout = PredictionGrid.Layout(cellCount: 4, columns: 2)
        XCTAssertEqual(canvas.width, layout.canvasWidth)
        XCTAssertEqual(canvas.height, layout.canvasHeight)
        XCTAssertEqual(layout.rows, 2)
        XCTAssertEqual(layout.imageSide, 112)

        func frameColor(_ cell: Int) -> RGBColor? {
            let frame = layout.frame(ofCell: cell)
            return canvas.pixel(x: frame.x, y: frame.y + frame.height / 2)
        }
        func ringColor(_ cell: Int) -> RGBColor? {
            let frame = layout.frame(ofCell: cell)
            return canvas.pixel(x: frame.x - 1, y: frame.y + frame.height / 2)
        }
        XCTAssertEqual(frameColor(0), .lightGray)
        XCTAssertEqual(frameColor(1), .lightGray)
        XCTAssertEqual(frameColor(2), .red, "dense misclassifies cell 2")
        XCTAssertEqual(frameColor(3), .red, "both misclassify cell 3")
        XCTAssertEqual(ringColor(0), .white)
        XCTAssertEqual(ringColor(2), .orange, "the models disagree on cell 2")
        XCTAssertEqual(ringColor(3), .white, "both wrong: they agree")
        // The whole frame of cell 2 is red: all four sides.
        let frame = layout.frame(ofCell: 2)
        for (x, y) in [(frame.x + 5, frame.y), (frame.x + 5, frame.y + frame.height - 1), (frame.x + frame.width - 1, frame.y + 9)] {
            XCTAssertEqual(canvas.pixel(x: x, y: y), .red, "(\(x), \(y))")
        }

        // Digits: blank is white, full ink black, the diagonal's first pixel black.
        let origin0 = layout.imageOrigin(ofCell: 0), origin1 = layout.imageOrigin(ofCell: 1), origin2 = layout.imageOrigin(ofCell: 2)
        XCTAssertEqual(canvas.pixel(x: origin0.x + 50, y: origin0.y + 50), .white)
        XCTAssertEqual(canvas.pixel(x: origin1.x + 50, y: origin1.y + 50), .black)
        XCTAssertEqual(canvas.pixel(x: origin2.x, y: origin2.y), .black)
        XCTAssertEqual(canvas.pixel(x: origin2.x + 4, y: origin2.y), .white)
        XCTAssertEqual(canvas.pixel(x: layout.imageOrigin(ofCell: 3).x + 50, y: layout.imageOrigin(ofCell: 3).y + 50),
                       RGBColor(64, 64, 64))

        // Cell text is drawn under each digit; wrong predictions in red.
        let text2 = layout.textOrigin(ofCell: 2)
        var textRegion = Canvas(width: layout.cellWidth, height: 3 * BitmapFont.lineHeight * 2)
        for y in 0..<textRegion.height {
            for x in 0..<textRegion.width {
                if let color = canvas.pixel(x: text2.x + x, y: text2.y + y) { textRegion.setPixel(x: x, y: y, color: color) }
            }
        }
        XCTAssertGreaterThan(textRegion.count(of: .black), 50)
        XCTAssertGreaterThan(textRegion.count(of: .red), 20, "dense's wrong prediction is printed in red")

        // Header: title in black, legend swatches in all three marking colours above the grid.
        var header = Canvas(width: canvas.width, height: layout.gridTop)
        for y in 0..<layout.gridTop { for x in 0..<canvas.width { header.setPixel(x: x, y: y, color: canvas.pixel(x: x, y: y)!) } }
        XCTAssertGreaterThan(header.count(of: .red), 20)
        XCTAssertGreaterThan(header.count(of: .orange), 20)
        XCTAssertGreaterThan(header.count(of: .lightGray), 20)
        XCTAssertGreaterThan(header.count(of: .black), 500)
        XCTAssertGreaterThanOrEqual(canvas.width, BitmapFont.width(of: PredictionGrid.title, scale: 2) + 32)
    }

    func testPredictionGridStatusAndFormatting() {
        XCTAssertEqual(PredictionGrid.status(label: 1, denseProbability: 0.9, sigmoidProbability: 0.6),
                       .init(misclassified: false, modelsDisagree: false))
        XCTAssertEqual(PredictionGrid.status(label: 1, denseProbability: 0.9, sigmoidProbability: 0.4),
                       .init(misclassified: true, modelsDisagree: true))
        XCTAssertEqual(PredictionGrid.status(label: 0, denseProbability: 0.9, sigmoidProbability: 0.6),
                       .init(misclassified: true, modelsDisagree: false))
        XCTAssertEqual(PredictionGrid.predictedClass(0.5), 0, "σ = 0.5 is logit 0, which predicts class 0")
        XCTAssertEqual(PredictionGrid.formatProbability(0.99812), ".998")
        XCTAssertEqual(PredictionGrid.formatProbability(0.99999), "1.000")
        XCTAssertEqual(PredictionGrid.formatProbability(0), ".000")
        XCTAssertEqual(PredictionGrid.formatProbability(.nan), "nan")
        XCTAssertEqual(PredictionGrid.formatProbability(-3), ".000")
    }

    func testPredictionGridSurvivesEmptyAndInvalidInput() throws {
        let empty = PredictionGrid.render(images: [], labels: [], denseProbabilities: [], sigmoidProbabilities: [], indices: [])
        XCTAssertEqual(empty.height, PredictionGrid.Layout(cellCount: 0, columns: 8).canvasHeight)
        XCTAssertGreaterThan(empty.count(of: .black), 100, "the title is still drawn")

        let images = sampleImages()
        let odd = PredictionGrid.render(images: images, labels: [0, 1], denseProbabilities: [0.1],
                                        sigmoidProbabilities: [0.1, 0.9, 0.5, 0.5], indices: [-1, 1, 4, Int.max, Int.min, 0],
                                        columns: 0, imageScale: 0, textScale: -2)
        let layout = PredictionGrid.Layout(cellCount: 6, columns: 0, imageScale: 0, textScale: -2)
        XCTAssertEqual(layout.columns, 1)
        XCTAssertEqual(odd.height, layout.canvasHeight)
        // Index 0 is complete and correct; the others lack data and get neutral frames.
        let frame = layout.frame(ofCell: 5)
        XCTAssertEqual(odd.pixel(x: frame.x, y: frame.y + 5), .lightGray)
        XCTAssertEqual(odd.pixel(x: layout.frame(ofCell: 1).x, y: layout.frame(ofCell: 1).y + 5), .lightGray)

        let many = PredictionGrid.render(images: images, labels: [0, 1, 1, 0], denseProbabilities: [0.1, 0.9, 0.9, 0.1],
                                         sigmoidProbabilities: [0.1, 0.9, 0.9, 0.1], indices: Array(repeating: 2, count: 19))
        XCTAssertEqual(many.height, PredictionGrid.Layout(cellCount: 19, columns: 8).canvasHeight)
        XCTAssertEqual(PredictionGrid.Layout(cellCount: 19, columns: 8).rows, 3)
        let manyLayout = PredictionGrid.Layout(cellCount: 19, columns: 8)
        for cell in [0, 7, 8, 18] {
            let frame = manyLayout.frame(ofCell: cell)
            XCTAssertEqual(many.pixel(x: frame.x + 1, y: frame.y + 40), .lightGray, "cell \(cell)")
        }
        XCTAssertNil(many.pixel(x: manyLayout.cellOrigin(18).x, y: manyLayout.canvasHeight))
    }

    // MARK: Training curves

    func testTrainingCurvesDrawBothPanelsInSeriesColours() throws {
        let series = [
            TrainingSeries(name: "dense (OpenBLAS)", losses: [0.08, 0.01, 0.005, 0.004, 0.002],
                           testAccuracies: [0.997, 0.998, 0.9991, 0.9995, 0.9995]),
            TrainingSeries(name: "sigmoid (Swift)", losses: [0.2, 0.05, 0.02, 0.01, 0.008],
                           testAccuracies: [0.995, 0.997, 0.998, 0.998, 0.999]),
        ]
        let canvas = TrainingCurves.render(series: series)
        try keep(canvas, as: "curves.png")
        XCTAssertEqual(canvas.width, 1200)
        XCTAssertEqual(canvas.height, 560)
        let areas = TrainingCurves.plotAreas(width: 1200, height: 560, legendRows: 1)
        for (index, color) in TrainingCurves.palette.prefix(2).enumerated() {
            XCTAssertGreaterThan(canvas.count(of: color), 400, "series \(index) colour")
            // Markers in each panel: the first and last point of every series lie inside the plot area.
            for area in [areas.loss, areas.accuracy] {
                var found = 0
                for y in area.y..<(area.y + area.height) {
                    for x in area.x..<(area.x + area.width) where canvas.pixel(x: x, y: y) == color { found += 1 }
                }
                XCTAssertGreaterThan(found, 100, "series \(index) in panel at x=\(area.x)")
            }
        }
        // Legend swatch of the first series at the top-left.
        XCTAssertEqual(canvas.pixel(x: TrainingCurves.margin + 2, y: TrainingCurves.margin + 2), TrainingCurves.palette[0])
        XCTAssertEqual(canvas.count(of: TrainingCurves.palette[2]), 0, "only two series")
        // Axes are drawn.
        XCTAssertEqual(canvas.pixel(x: areas.loss.x - 1, y: areas.loss.y + 10), TrainingCurves.axisColor)
        XCTAssertEqual(canvas.pixel(x: areas.accuracy.x + 10, y: areas.accuracy.y + areas.accuracy.height), TrainingCurves.axisColor)
    }

    func testTrainingCurvesHandleOneEpochFlatEmptyAndOddValues() throws {
        let cases: [[TrainingSeries]] = [
            [],
            [TrainingSeries(name: "", losses: [], testAccuracies: [])],
            [TrainingSeries(name: "one epoch", losses: [0.3], testAccuracies: [0.99])],
            [TrainingSeries(name: "flat", losses: [0.1, 0.1, 0.1], testAccuracies: [1, 1, 1])],
            [TrainingSeries(name: "zeros", losses: [0, 0], testAccuracies: [0, 0])],
            [TrainingSeries(name: "odd", losses: [.nan, 1, .infinity, 2], testAccuracies: [-.infinity, 0.5])],
            [TrainingSeries(name: "huge", losses: [1e308, -1e308, 3], testAccuracies: [1e300, 0])],
            [TrainingSeries(name: "tiny", losses: [1e-12, 2e-12], testAccuracies: [0.5, 0.5 + 1e-15])],
            (0..<14).map { TrainingSeries(name: "series number \($0)", losses: [Double($0)], testAccuracies: []) },
        ]
        for (index, series) in cases.enumerated() {
            let canvas = TrainingCurves.render(series: series, width: index == 0 ? 10 : 900, height: 400)
            XCTAssertGreaterThanOrEqual(canvas.width, 400)
            XCTAssertGreaterThanOrEqual(canvas.height, 300)
            if index == 2 {
                try keep(canvas, as: "curves-one-epoch.png")
                XCTAssertGreaterThanOrEqual(canvas.count(of: TrainingCurves.palette[0]), 2 * 49 + 14 * 14,
                                            "a marker per panel plus the legend swatch")
            }
            if index == 3 { XCTAssertGreaterThan(canvas.count(of: TrainingCurves.palette[0]), 400, "flat lines are drawn") }
        }
    }

    func testAxisTicks() {
        let axis = TrainingCurves.niceAxis(lower: 0.0021, upper: 0.083)
        XCTAssertEqual(axis.step, 0.02, accuracy: 1e-12)
        XCTAssertEqual(axis.lower, 0)
        XCTAssertEqual(axis.upper, 0.1, accuracy: 1e-12)
        XCTAssertEqual(axis.ticks.count, 6)
        XCTAssertEqual(TrainingCurves.formatTick(axis.ticks[3], step: axis.step), "0.06")

        let flat = TrainingCurves.niceAxis(lower: 100, upper: 100)
        XCTAssertLessThan(flat.lower, 100)
        XCTAssertGreaterThan(flat.upper, 100)
        XCTAssertEqual(TrainingCurves.niceAxis(lower: .nan, upper: .infinity).ticks.count, 6)

        XCTAssertEqual(TrainingCurves.epochAxis(epochs: 1).ticks, [1])
        XCTAssertEqual(TrainingCurves.epochAxis(epochs: 5).ticks, [1, 2, 3, 4, 5])
        XCTAssertEqual(TrainingCurves.epochAxis(epochs: 10).ticks, [1, 2, 4, 6, 8, 10])
        XCTAssertEqual(TrainingCurves.formatTick(99.5, step: 0.5), "99.5")
        XCTAssertEqual(TrainingCurves.formatTick(-0.0001, step: 0.1), "0.0")
        XCTAssertEqual(TrainingCurves.formatTick(3, step: 1), "3")
    }
}
