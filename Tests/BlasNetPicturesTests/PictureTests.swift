import CCairo
@testable import BlasNetPictures
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

final class PictureTests: XCTestCase {
    /// Four synthetic 28×28 images: blank, full ink, a diagonal, a grey square.
    private func sampleImages(_ count: Int = 4) -> [Float] {
        var images = [Float](repeating: 0, count: count * 784)
        for image in 0..<count {
            switch image % 4 {
            case 1: for p in 0..<784 { images[image * 784 + p] = 1 }
            case 2: for i in 0..<28 { images[image * 784 + i * 28 + i] = 1 }
            case 3: for y in 8..<20 { for x in 8..<20 { images[image * 784 + y * 28 + x] = 0.75 } }
            default: break
            }
        }
        return images
    }

    private func twoModels(labels: [Int], dense: [Int], sigmoid: [Int]) -> [PredictionGrid.Model] {
        [PredictionGrid.Model(name: "dense on OpenBLAS", key: "dense", predictions: dense,
                              scores: dense.map { $0 == 1 ? 0.993 : 0.004 }),
         PredictionGrid.Model(name: "sigmoid on Swift", key: "sigmoid", predictions: sigmoid,
                              scores: sigmoid.map { $0 == 1 ? 1 : 0.341 })]
    }

    func testGridPNGReadsBackWithRedFramesOnMistakesOnly() throws {
        let labels = [0, 1, 1, 0]
        let models = twoModels(labels: labels, dense: [0, 1, 0, 1], sigmoid: [0, 1, 1, 1])  // 2: disagree, 3: both wrong
        let selection = PredictionGrid.select(labels: labels, models: models, cells: 4)
        XCTAssertEqual(selection.indices, [2, 3, 0, 1], "mistakes first, then the rest")
        let picture = try PredictionGrid.render(images: sampleImages(), imageWidth: 28, imageHeight: 28, labels: labels,
                                                models: models, selection: selection, title: "test grid",
                                                scoreMeaning: "ŷ = P(digit 1)", columns: 2)
        try keep(picture, as: "grid.png")
        let png = try DecodedPNG(picture.data)
        XCTAssertEqual(png.width, picture.width)
        XCTAssertEqual(png.height, picture.height)
        let layout = PredictionGrid.Layout(cells: 4, columns: 2, imageWidth: 28, imageHeight: 28, models: 2,
                                           captionWidth: 0, headerWidth: 0)
        XCTAssertEqual(layout.rows, 2)
        XCTAssertEqual(layout.scale, 4)
        let regions = picture.regions
        XCTAssertEqual(regions.map(\.name), ["image 2", "image 3", "image 0", "image 1"])
        func frameColor(_ position: Int) -> UInt32 {
            let frame = regions[position]
            return png.pixel(x: frame.x + 1.5, y: frame.y + frame.height / 2)
        }
        func ringColor(_ position: Int) -> UInt32 {
            let frame = regions[position]
            return png.pixel(x: frame.x - 1.5, y: frame.y + frame.height / 2)
        }
        XCTAssertEqual(frameColor(0), Color.red.hex, "image 2 is misclassified by dense")
        XCTAssertEqual(frameColor(1), Color.red.hex, "image 3 is misclassified by both")
        XCTAssertEqual(frameColor(2), Color.lightGray.hex)
        XCTAssertEqual(frameColor(3), Color.lightGray.hex)
        XCTAssertEqual(ringColor(0), Color.orange.hex, "the models disagree on image 2")
        XCTAssertEqual(ringColor(1), Color.white.hex, "both wrong alike: no ring")
        XCTAssertEqual(ringColor(2), Color.white.hex)
        // Crisp digits: full ink is black, the blank image white, the diagonal's 4×4 pixels exact.
        let border = PredictionGrid.Layout.border
        let full = regions[3], blank = regions[2], diagonal = regions[0]
        XCTAssertEqual(png.pixel(x: full.x + border + 50, y: full.y + border + 50), 0x000000)
        XCTAssertEqual(png.pixel(x: blank.x + border + 50, y: blank.y + border + 50), 0xFFFFFF)
        XCTAssertEqual(png.pixel(x: diagonal.x + border + 0.5, y: diagonal.y + border + 0.5), 0x000000)
        XCTAssertEqual(png.pixel(x: diagonal.x + border + 3.5, y: diagonal.y + border + 3.5), 0x000000)
        XCTAssertEqual(png.pixel(x: diagonal.x + border + 4.5, y: diagonal.y + border + 0.5), 0xFFFFFF)
        // Captions: mixed case, fixed-width scores, the wrong prediction in red.
        let strings = picture.texts.map(\.string)
        for expected in ["label 1", "label 0", "dense", "sigmoid", "0.993", "1.000", "0.341", "0.004"] {
            XCTAssertTrue(strings.contains(expected), "caption text \(expected)")
        }
        XCTAssertTrue(picture.texts.contains { $0.string == "dense" && $0.color == .red }, "a wrong prediction is red")
        XCTAssertTrue(strings.contains { $0.contains("ŷ = P(digit 1)") }, "the key explains the score")
    }

    func testEightCellsWithTwentyMistakesSaySo() throws {
        let total = 30
        let labels = (0..<total).map { $0 % 2 }
        let wrong = Set(0..<20)
        let dense = labels.enumerated().map { wrong.contains($0.offset) ? 1 - $0.element : $0.element }
        let models = twoModels(labels: labels, dense: dense, sigmoid: labels)
        let selection = PredictionGrid.select(labels: labels, models: models, cells: 8)
        XCTAssertEqual(selection.indices, Array(0..<8))
        XCTAssertEqual(selection.mistakeCount, 20)
        XCTAssertEqual(selection.subtitle, "showing 8 of 20 mistakes (of 30 test images)")
        let picture = try PredictionGrid.render(images: sampleImages(total), imageWidth: 28, imageHeight: 28, labels: labels,
                                                models: models, selection: selection, title: "t", scoreMeaning: "ŷ")
        XCTAssertEqual(picture.regions.count, 8, "exactly eight cells")
        XCTAssertTrue(picture.texts.contains { $0.string == selection.subtitle })

        let few = PredictionGrid.select(labels: labels, models: twoModels(labels: labels, dense: labels, sigmoid: labels), cells: 100)
        XCTAssertEqual(few.indices.count, total, "never more cells than images")
        XCTAssertEqual(Set(few.indices).count, total)
        let spread = PredictionGrid.select(labels: labels, models: models, cells: 24)
        XCTAssertEqual(Array(spread.indices.prefix(20)), Array(0..<20))
        XCTAssertEqual(spread.indices.count, 24)
        XCTAssertEqual(spread.subtitle, "all 20 mistakes among 30 test images, then 4 correctly classified spread over the set")
        XCTAssertEqual(PredictionGrid.formatScore(0.99312), "0.993")
        XCTAssertEqual(PredictionGrid.formatScore(.nan), "nan")
    }

    func testTextIsDrawnWithAFreeTypeFont() throws {
        var fontType: cairo_font_type_t?
        let picture = try Picture.render(width: 200, height: 40, format: .png) { drawing in
            fontType = drawing.fontType
            drawing.text("label 1", x: 10, y: 25, size: 14)
        }
        XCTAssertEqual(fontType, CAIRO_FONT_TYPE_FT, "Cairo fell back to its built-in font: install fonts-dejavu-core")
        let png = try DecodedPNG(picture.data)
        XCTAssertGreaterThan(png.count(of: .black), 20, "anti-aliased glyphs have a solid core")
        XCTAssertGreaterThan(try Picture.measure("1.000", size: 12), 20)
        XCTAssertEqual(try Picture.measure("0.000", size: 12), try Picture.measure("1.993", size: 12), accuracy: 0.01,
                       "DejaVu Sans digits are tabular: scores line up")
    }

    func testBadInputGivesAnErrorNotABlankPicture() {
        XCTAssertThrowsError(try Picture.render(width: 10, height: 10, format: .png) { drawing in
            drawing.line(from: (0, 0), to: (.nan, 3), width: 1, color: .black)
        }) { XCTAssertEqual($0 as? PictureError, .nonFiniteCoordinate(what: "a line")) }
        XCTAssertThrowsError(try Picture.render(width: 10, height: 10, format: .svg) { drawing in
            drawing.text("bad\u{0}label", x: 1, y: 1, size: 10)
        }) { XCTAssertEqual($0 as? PictureError, .invalidText("bad\u{0}label")) }
        XCTAssertThrowsError(try Picture.render(width: 0, height: 10, format: .png) { _ in })
        XCTAssertThrowsError(try Picture.render(width: 100_000, height: 10, format: .png) { _ in })
        XCTAssertThrowsError(try PredictionGrid.render(images: [0], imageWidth: 28, imageHeight: 28, labels: [0], models: [],
                                                       selection: PredictionGrid.select(labels: [0], models: [], cells: 1),
                                                       title: "", scoreMeaning: ""))
        XCTAssertEqual(PictureFormat(path: "a/b.SVG"), .svg)
        XCTAssertEqual(PictureFormat(path: "x.png"), .png)
        XCTAssertNil(PictureFormat(path: "x.jpg"))
    }

    func testSVGParsesAndHoldsTheCaptionsAsGlyphs() throws {
        let labels = [0, 1]
        let models = twoModels(labels: labels, dense: [0, 0], sigmoid: [0, 1])
        let picture = try PredictionGrid.render(images: sampleImages(2), imageWidth: 28, imageHeight: 28, labels: labels,
                                                models: models, selection: PredictionGrid.select(labels: labels, models: models, cells: 2),
                                                title: "svg grid", scoreMeaning: "ŷ", format: .svg)
        try keep(picture, as: "grid.svg")
        let parser = XMLParser(data: picture.data)
        XCTAssertTrue(parser.parse(), "the SVG is well-formed XML: \(String(describing: parser.parserError))")
        let text = String(decoding: picture.data, as: UTF8.self)
        XCTAssertTrue(text.contains("width=\"\(picture.width)px\"") || text.contains("width=\"\(picture.width)\""),
                      "pixel units")
        XCTAssertFalse(text.contains("<image"), "digits are rectangles, not blurred images")
        // Cairo writes text as glyph outlines, each use referencing one: at least one per caption character.
        let glyphUses = text.components(separatedBy: "xlink:href=\"#glyph").count - 1
        let captionCharacters = picture.texts.map { $0.string.filter { !$0.isWhitespace }.count }.reduce(0, +)
        XCTAssertGreaterThanOrEqual(glyphUses, captionCharacters)
        XCTAssertTrue(picture.texts.contains { $0.string == "label 1" })
    }

    func testTrainingCurvesUseALogLossAxisAndEndAccuracyAt100() throws {
        let series = [
            TrainingSeries(name: "dense on OpenBLAS", losses: [0.017, 0.004, 0.0011, 2e-4, 3e-5],
                           testAccuracies: [0.9991, 0.9991, 0.9995, 0.9995, 0.9995]),
            TrainingSeries(name: "sigmoid on Swift", losses: [0.05, 0.005, 0.003, 0.002, 0.0009],
                           testAccuracies: [0.9995, 0.9991, 0.9995, 0.9995, 0.9995]),
        ]
        let picture = try TrainingCurves.render(series: series)
        try keep(picture, as: "curves.png")
        let (loss, accuracy) = TrainingCurves.panels(for: series, width: picture.width, height: picture.height)
        XCTAssertEqual(loss.y.scale, .logarithmic)
        let decades = loss.y.ticks.filter { !$0.isMinor }
        XCTAssertLessThanOrEqual(decades.first!.value, 3e-5)
        XCTAssertGreaterThanOrEqual(decades.last!.value, 0.05)
        XCTAssertEqual(decades.map(\.exponent), ["\u{2212}5", "\u{2212}4", "\u{2212}3", "\u{2212}2", "\u{2212}1"])
        XCTAssertTrue(picture.texts.contains { $0.string == "\u{2212}5" }, "the decade labels are drawn")
        XCTAssertEqual(accuracy.y.upper, 100)
        XCTAssertEqual(accuracy.y.ticks.last?.value ?? 0, 100, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(accuracy.y.lower, 99.91)

        // Equal values of both series: both colours are visible at the shared point.
        let png = try DecodedPNG(picture.data)
        let shared = accuracy.point(x: 5, y: 99.95)!
        let around = Rectangle(x: shared.x - 8, y: shared.y - 8, width: 16, height: 16)
        XCTAssertGreaterThan(png.count(of: Color.cycle(0), in: around), 5, "the first series under the second")
        XCTAssertGreaterThan(png.count(of: Color.cycle(1), in: around), 5, "the second series' hollow marker")
        XCTAssertNotEqual(TrainingCurves.Style(series: 0).marker, TrainingCurves.Style(series: 1).marker)
    }

    func testAxesCoverOddValues() {
        XCTAssertEqual(Axis.logarithmic(values: [0, -1, .nan]).lower, 1e-3, "nothing to show: a default range")
        let flat = Axis.logarithmic(values: [0.01, 0.01])
        XCTAssertLessThan(flat.lower, flat.upper)
        let linear = Axis.linear(lower: 0.0021, upper: 0.083)
        XCTAssertEqual(linear.ticks.map(\.label), ["0.00", "0.02", "0.04", "0.06", "0.08", "0.10"])
        XCTAssertEqual(Axis.epochs(1).ticks.map(\.value), [1])
        XCTAssertEqual(Axis.epochs(10).ticks.count, 10)
        XCTAssertEqual(Axis.formatTick(-0.0001, step: 0.1), "0.0")
        XCTAssertEqual(TrainingCurves.accuracyAxis([1, 1]).upper, 100)
        XCTAssertNoThrow(try TrainingCurves.render(series: []))
        XCTAssertNoThrow(try TrainingCurves.render(series: [TrainingSeries(name: "odd", losses: [.nan, 1, .infinity, 0],
                                                                           testAccuracies: [-.infinity, 0.5])]))
    }

    func testBenchmarkChartMarksEachCeiling() throws {
        let bars = [
            BenchmarkChart.Bar(group: "dense, batch 32", series: "OpenBLAS, 1 thread", samplesPerSecond: 90_000, ceiling: 150_000),
            BenchmarkChart.Bar(group: "dense, batch 32", series: "Swift, 1 thread", samplesPerSecond: 70_000, ceiling: 110_000),
            BenchmarkChart.Bar(group: "dense, batch 256", series: "OpenBLAS, 1 thread", samplesPerSecond: 140_000, ceiling: nil),
        ]
        let picture = try BenchmarkChart.render(bars: bars, title: "bench", subtitle: "machine")
        try keep(picture, as: "bench.png")
        XCTAssertEqual(BenchmarkChart.order(bars).groups, ["dense, batch 32", "dense, batch 256"])
        let regions = Dictionary(uniqueKeysWithValues: picture.regions.map { ($0.name, $0) })
        let bar = try XCTUnwrap(regions["dense, batch 32 / OpenBLAS, 1 thread"])
        let ceiling = try XCTUnwrap(regions["dense, batch 32 / OpenBLAS, 1 thread ceiling"])
        XCTAssertLessThan(ceiling.y, bar.y, "the ceiling sits above its bar")
        XCTAssertEqual((bar.maxY - bar.y) / (bar.maxY - ceiling.y), 0.6, accuracy: 0.01, "heights follow the values")
        XCTAssertNil(regions["dense, batch 256 / OpenBLAS, 1 thread ceiling"])
        XCTAssertTrue(picture.texts.contains { $0.string == "60%" })
        let png = try DecodedPNG(picture.data)
        XCTAssertEqual(png.pixel(x: bar.x + bar.width / 2, y: bar.maxY - 30), Color.cycle(0).hex)
        XCTAssertEqual(png.pixel(x: ceiling.x + ceiling.width / 2, y: ceiling.y), 0x000000)
        XCTAssertEqual(BenchmarkChart.valueAxis(bars).ticks.first?.label, "0")
        XCTAssertEqual(BenchmarkChart.thousands(150_000), "150k")
        XCTAssertThrowsError(try BenchmarkChart.render(bars: [BenchmarkChart.Bar(group: "g", series: "s", samplesPerSecond: .nan,
                                                                                  ceiling: nil)], title: "", subtitle: ""))
    }
}
