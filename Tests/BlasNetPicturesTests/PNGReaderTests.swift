// Tests of PNGReader: a PNG drawn with Cairo reads back as the grey levels and luminances drawn, and a
// damaged file is an error naming it.
@testable import BlasNetPictures
import Foundation
import XCTest

final class PNGReaderTests: XCTestCase {
    func testGreyAndColourPixelsReadAsTheirLuminance() throws {
        let picture = try Picture.render(width: 30, height: 20, format: .png) { drawing in
            drawing.fill(x: 0, y: 0, width: 10, height: 20, color: Color(hex: 0x808080))
            drawing.fill(x: 10, y: 0, width: 10, height: 20, color: Color(hex: 0xFF0000))
        }
        let image = try PNGReader.read(picture.data, path: "p.png")
        XCTAssertEqual(image.width, 30)
        XCTAssertEqual(image.height, 20)
        XCTAssertEqual(image.luminance[5 * 30 + 5], Float(0x80) / 255, "a grey level is kept exactly")
        XCTAssertEqual(image.luminance[5 * 30 + 15], 0.299, accuracy: 1e-6, "red: its BT.601 weight")
        XCTAssertEqual(image.luminance[5 * 30 + 25], 1, "white background")
    }

    func testDamagedPNGIsAnErrorNamingTheFile() throws {
        let picture = try Picture.render(width: 8, height: 8, format: .png) { _ in }
        for (name, bytes) in [("cut.png", picture.data.prefix(40)), ("empty.png", Data()), ("text.png", Data("hello".utf8))] {
            XCTAssertThrowsError(try PNGReader.read(bytes, path: name), name) { error in
                XCTAssertTrue("\(error)".contains("\(name): not a readable PNG"), "\(error)")
            }
        }
    }
}
