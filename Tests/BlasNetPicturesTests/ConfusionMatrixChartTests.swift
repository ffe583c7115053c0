// Tests of the confusion-matrix figure: the cells sit where their row and column say, are shaded by
// their row share (blue diagonal; red mistakes, relative to the commonest), carry their counts and the
// class labels, and bad matrices are refused.
@testable import BlasNetPictures
import XCTest

final class ConfusionMatrixChartTests: XCTestCase {
    private let labels = ["3", "5", "8"]
    private let counts = [[90, 0, 10],   // true 3: 10 taken for 8
                          [0, 100, 0],
                          [0, 50, 50]]   // true 8: half taken for 5

    func testCellsAreShadedByTheirRowShareAndLabelledWithTheirCounts() throws {
        let picture = try ConfusionMatrixChart.render(
            classLabels: labels, models: [.init(name: "dense", counts: counts), .init(name: "sigmoid", counts: counts)],
            title: "test matrix")
        try keep(picture, as: "confusion-matrix.png")
        let png = try DecodedPNG(picture.data)
        func cell(_ model: Int, _ actual: Int, _ predicted: Int) -> DrawnRegion {
            try! XCTUnwrap(picture.regions.first { $0.name == "\(model) \(actual) \(predicted)" })
        }
        XCTAssertEqual(picture.regions.count, 18, "3×3 cells for each of two models")
        // Row `actual` lies below row `actual - 1`, column `predicted` right of `predicted - 1`.
        XCTAssertGreaterThan(cell(0, 1, 0).y, cell(0, 0, 0).y)
        XCTAssertGreaterThan(cell(0, 0, 1).x, cell(0, 0, 0).x)
        XCTAssertGreaterThan(cell(1, 0, 0).x, cell(0, 2, 2).maxX, "the second model's panel is to the right")
        func colorAt(_ region: DrawnRegion) -> UInt32 { png.pixel(x: region.x + 3, y: region.y + 3) }
        XCTAssertEqual(colorAt(cell(0, 1, 1)), ConfusionMatrixChart.shade(1, diagonal: true).hex, "a perfect row: full blue")
        XCTAssertEqual(colorAt(cell(0, 2, 2)), ConfusionMatrixChart.shade(0.5, diagonal: true).hex, "half the row right")
        XCTAssertEqual(colorAt(cell(0, 2, 1)), ConfusionMatrixChart.shade(1, diagonal: false).hex,
                       "the commonest mistake (50 % of its row): full red")
        XCTAssertEqual(colorAt(cell(0, 0, 2)), ConfusionMatrixChart.shade(0.2, diagonal: false).hex,
                       "10 % of its row is a fifth of the commonest mistake")
        XCTAssertEqual(colorAt(cell(0, 0, 1)), Color.white.hex, "no samples: white")
        let strings = picture.texts.map(\.string)
        for count in ["90", "10", "100", "50"] { XCTAssertTrue(strings.contains(count), "count \(count) is written") }
        XCTAssertFalse(strings.contains("0"), "empty cells carry no number")
        XCTAssertEqual(strings.filter { $0 == "8" }.count, 4, "each label on both axes of both panels")
        XCTAssertTrue(strings.contains("60 of 300 test images wrong"), "\(strings)")
        XCTAssertTrue(strings.contains("predicted label"))
    }

    func testMatricesOfTheWrongShapeOrWithNegativeCountsAreRefused() {
        XCTAssertThrowsError(try ConfusionMatrixChart.render(
            classLabels: labels, models: [.init(name: "m", counts: [[1, 2], [3, 4]])], title: "t"))
        XCTAssertThrowsError(try ConfusionMatrixChart.render(
            classLabels: labels, models: [.init(name: "m", counts: [[1, 0, 0], [0, -1, 0], [0, 0, 1]])], title: "t"))
        XCTAssertThrowsError(try ConfusionMatrixChart.render(classLabels: labels, models: [], title: "t"))
    }

    func testSVGHoldsTheCounts() throws {
        let picture = try ConfusionMatrixChart.render(classLabels: labels, models: [.init(name: "m", counts: counts)],
                                                      title: "t", format: .svg)
        XCTAssertTrue(String(decoding: picture.data, as: UTF8.self).hasPrefix("<?xml"))
        XCTAssertTrue(picture.texts.contains { $0.string == "100" })
    }
}
