// Tests of DigitPreparation: an MNIST digit redrawn the way a user would have it — dark ink on white,
// three times larger, off-centre in a 100×100 picture — comes back as the MNIST image it was made from.
import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

final class DigitPreparationTests: XCTestCase {
    /// `image` (28×28 ink) as a 100×100 luminance picture: dark on white, each pixel 3×3, at (left, top).
    private func userPicture(_ image: ArraySlice<Float>, left: Int, top: Int) -> [Float] {
        var picture = [Float](repeating: 1, count: 100 * 100)
        for y in 0..<84 { for x in 0..<84 { picture[(top + y) * 100 + left + x] = 1 - image[image.startIndex + (y / 3) * 28 + x / 3] } }
        return picture
    }

    func testRedrawnMNISTDigitsComeBackAsTheOriginals() throws {
        let test = try MNISTDataset.load(directory: try realDataDirectory(), classes: .all).test
        var close = 0
        let count = 200
        for index in 0..<count {
            let original = test.images[(index * 784)..<((index + 1) * 784)]
            let prepared = DigitPreparation.prepare(luminance: userPicture(original, left: 3 + index % 13, top: 11 - index % 9),
                                                    width: 100, height: 100)
            XCTAssertTrue(prepared.inverted, "dark on white is inverted")
            let difference = zip(prepared.pixels, original).map { abs($0 - $1) }.max()!
            if index == 0 { XCTAssertLessThan(difference, 1.5 / 255, "test digit 0 within a grey level") }
            if difference < 3 / 255 { close += 1 }
        }
        // A faint edge pixel below the ink threshold shrinks the box of a few digits; all others match.
        XCTAssertGreaterThanOrEqual(close, count * 95 / 100, "\(close) of \(count) within 3 grey levels")
    }

    func testLightInkOnDarkIsNotInvertedAndBlankIsBlank() {
        var picture = [Float](repeating: 0, count: 40 * 30)
        for y in 5..<25 { for x in 10..<14 { picture[y * 40 + x] = 1 } }  // a bar, 4 wide and 20 high
        let prepared = DigitPreparation.prepare(luminance: picture, width: 40, height: 30)
        XCTAssertFalse(prepared.inverted)
        XCTAssertFalse(prepared.blank)
        let columns = (0..<28).filter { x in (0..<28).contains { prepared.pixels[$0 * 28 + x] > 0.5 } }
        let rows = (0..<28).filter { y in (0..<28).contains { prepared.pixels[y * 28 + $0] > 0.5 } }
        XCTAssertEqual(rows.count, 20, "the long side fitted to 20")
        XCTAssertEqual(columns.count, 4, "the aspect ratio kept")
        // Centre of mass 9.5 down and 1.5 across the bar: it starts at round(14 − 9.5) = 5, round(14 − 1.5) = 13.
        XCTAssertEqual(rows.first, 5, "centred: rows 5…24")
        XCTAssertEqual(columns.first, 13, "centred: columns 13…16")
        let blank = DigitPreparation.prepare(luminance: [Float](repeating: 1, count: 25), width: 5, height: 5)
        XCTAssertTrue(blank.blank)
        XCTAssertEqual(blank.pixels, [Float](repeating: 0, count: 784))
    }
}
