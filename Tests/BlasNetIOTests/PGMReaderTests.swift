import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

final class PGMReaderTests: XCTestCase {
    private func pgm(header: String, pixels: [UInt8]) -> Data { Data(header.utf8) + Data(pixels) }
    private let ramp = (0..<784).map { UInt8($0 % 256) }

    func testValidDigitRoundTrips() throws {
        let values = try PGMReader.parseDigit(pgm(header: "P5\n# a comment\n28 28\n255\n", pixels: ramp), path: "d.pgm")
        XCTAssertEqual(values.count, 784)
        XCTAssertEqual(values[0], 0)
        XCTAssertEqual(values[255], 1)
        XCTAssertEqual(values[300], Float(300 % 256) / 255, accuracy: 1e-7)
        // 16-bit samples (maxval > 255), maxval 700.
        var wide = [UInt8]()
        for index in 0..<784 { let v = UInt16(index); wide += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        let sixteen = try PGMReader.parseDigit(pgm(header: "P5 28 28 700 ", pixels: wide), path: "w.pgm")
        XCTAssertEqual(sixteen[350], 0.5, accuracy: 1e-7)
        XCTAssertEqual(sixteen[783], 1, "samples above maxval are clamped")
    }

    func testMalformedFilesGiveTheirOwnErrors() {
        let cases: [(Data, (PGMError) -> Bool)] = [
            (Data("P2 28 28 255\n".utf8), { if case .notPGM = $0 { return true }; return false }),
            (Data(), { if case .notPGM = $0 { return true }; return false }),
            (pgm(header: "P5 28 x 255\n", pixels: ramp), { if case .malformedHeader = $0 { return true }; return false }),
            (pgm(header: "P5 28 28 0\n", pixels: ramp), { if case .malformedHeader = $0 { return true }; return false }),
            (pgm(header: "P5 28 28 99999999999999999999\n", pixels: ramp), { if case .malformedHeader = $0 { return true }; return false }),
            (pgm(header: "P5 28 28 255", pixels: []), { if case .malformedHeader = $0 { return true }; return false }),
            (pgm(header: "P5 27 28 255\n", pixels: ramp), { if case .wrongSize = $0 { return true }; return false }),
            (pgm(header: "P5 28 28 255\n", pixels: Array(ramp.prefix(700))),
             { $0 == .lengthMismatch(path: "x", expected: 13 + 784, actual: 13 + 700) }),
            (pgm(header: "P5 28 28 255\n", pixels: ramp + [1]), { if case .lengthMismatch = $0 { return true }; return false }),
        ]
        for (index, (data, matches)) in cases.enumerated() {
            XCTAssertThrowsError(try PGMReader.parseDigit(data, path: "x")) { error in
                guard let pgmError = error as? PGMError, matches(pgmError) else { return XCTFail("case \(index): got \(error)") }
                XCTAssertTrue("\(error)".hasPrefix("x: "), "case \(index): the message names the file")
            }
        }
    }
}
