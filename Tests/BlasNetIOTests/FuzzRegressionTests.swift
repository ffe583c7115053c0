import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

/// The fuzzers' seed corpus (Fuzz/corpus/idx, pgm, safetensors; see scripts/fuzz.sh) run through the real
/// readers, plus inputs the fuzzers made interesting, inline.
///
/// Corpus file names state what each file must do: `valid-*` must be read (`valid-labels-*` and
/// `valid-images-*` for IDX, which is read both ways), `bad-*` must be rejected with the reader's own error
/// naming the file; any other name (e.g. an input copied from .build-fuzz/corpus-NAME) only has to be read
/// or rejected with the reader's error. A crash fails the whole test run, which is the point.
final class FuzzRegressionTests: XCTestCase {
    // MARK: Corpus

    /// The files of Fuzz/corpus/`name`, sorted; fails if there are none (a moved corpus must not pass quietly).
    private func corpus(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [URL] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = root.appendingPathComponent("Fuzz/corpus/\(name)", isDirectory: true)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        XCTAssertFalse(files.isEmpty, "no seed files in \(directory.path)", file: file, line: line)
        return files
    }

    /// What a reader did with one input: the value, or the reader's error. Any other error fails the test.
    private enum Outcome<Value, Failure: Error> {
        case read(Value)
        case rejected(Failure)
        case wrongErrorType(Error)

        init(_ body: () throws -> Value) {
            do {
                self = .read(try body())
            } catch let error as Failure {
                self = .rejected(error)
            } catch {
                self = .wrongErrorType(error)
            }
        }

        /// The reader's error; nil if it read the input or threw something else.
        var rejection: Failure? {
            if case let .rejected(error) = self { return error }
            return nil
        }
    }

    /// Checks `outcome` against the expectation in the file name; returns the value if it was read.
    @discardableResult
    private func check<Value, Failure: Error & CustomStringConvertible>(
        _ outcome: Outcome<Value, Failure>, _ what: String, path: String, mustRead: Bool?,
        file: StaticString = #filePath, line: UInt = #line
    ) -> Value? {
        switch outcome {
        case let .read(value):
            if mustRead == false { XCTFail("\(what): accepted a file that must be rejected", file: file, line: line) }
            return value
        case let .rejected(error):
            if mustRead == true { XCTFail("\(what): rejected a valid file: \(error)", file: file, line: line) }
            XCTAssertTrue(error.description.contains(path), "\(what): '\(error)' does not name the file", file: file, line: line)
            return nil
        case let .wrongErrorType(error):
            XCTFail("\(what): threw \(type(of: error)) instead of \(Failure.self): \(error)", file: file, line: line)
            return nil
        }
    }

    private func expectation(_ url: URL, validPrefix: String = "valid-") -> Bool? {
        let name = url.lastPathComponent
        if name.hasPrefix(validPrefix) { return true }
        if name.hasPrefix("bad-") || name.hasPrefix("valid-") { return false }
        return nil
    }

    func testIDXCorpusIsReadOrRejectedWithIDXErrors() throws {
        var read = 0, rejected = 0
        for url in try corpus("idx") {
            let path = url.path
            let data = try Data(contentsOf: url)
            let name = url.lastPathComponent
            let labels = check(Outcome<[UInt8], IDXError> { try IDXReader.readLabels(at: path) },
                               "\(name) as labels", path: path, mustRead: expectation(url, validPrefix: "valid-labels-"))
            let images = check(Outcome<(pixels: [UInt8], count: Int, rows: Int, columns: Int), IDXError> {
                try IDXReader.readImages(at: path)
            }, "\(name) as images", path: path, mustRead: expectation(url, validPrefix: "valid-images-"))
            // A gzipped entry's payload is inside its compressed bytes (the gzip tests check the inflating).
            let gzipped = data.starts(with: [0x1F, 0x8B])
            if let labels, !gzipped {
                XCTAssertEqual(labels, Array(data.dropFirst(8)), name)
            }
            if let images, !gzipped {
                XCTAssertEqual(images.pixels.count, images.count * images.rows * images.columns, name)
                XCTAssertEqual(images.pixels, Array(data.dropFirst(16)), name)
            }
            // The in-memory parser agrees with the file reader, also on a slice that does not start at 0.
            var padded = Data([0xFF])
            padded.append(data)
            for magic in [IDXReader.labelMagic, IDXReader.imageMagic] {
                let whole = Outcome<[Int], IDXError> { try IDXReader.parseHeader(data, path: path, magic: magic).0 }
                let slice = Outcome<[Int], IDXError> { try IDXReader.parseHeader(padded.dropFirst(), path: path, magic: magic).0 }
                switch (whole, slice) {
                case let (.read(a), .read(b)): XCTAssertEqual(a, b, name)
                case let (.rejected(a), .rejected(b)): XCTAssertEqual(a, b, name)
                default: XCTFail("\(name): parseHeader on a slice disagrees: \(whole) vs \(slice)")
                }
            }
            if labels != nil || images != nil { read += 1 } else { rejected += 1 }
        }
        XCTAssertGreaterThan(read, 0, "the IDX corpus has no valid file")
        XCTAssertGreaterThan(rejected, 0, "the IDX corpus has no malformed file")
    }

    func testPGMCorpusIsReadOrRejectedWithPGMErrors() throws {
        var read = 0, rejected = 0
        for url in try corpus("pgm") {
            let path = url.path
            let name = url.lastPathComponent
            let mustRead = expectation(url)
            let fromFile = check(Outcome<[Float], PGMError> { try PGMReader.readDigit(at: path) }, name, path: path, mustRead: mustRead)
            let data = try Data(contentsOf: url)
            let fromData = check(Outcome<[Float], PGMError> { try PGMReader.parseDigit(data, path: path) },
                                 "\(name) from memory", path: path, mustRead: mustRead)
            if let fromFile {
                XCTAssertEqual(fromFile.count, 28 * 28, name)
                XCTAssertTrue(fromFile.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(name): values outside [0, 1]")
                XCTAssertEqual(fromFile, fromData, name)
                read += 1
            } else {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(read, 0, "the PGM corpus has no valid file")
        XCTAssertGreaterThan(rejected, 0, "the PGM corpus has no malformed file")
    }

    func testSafetensorsCorpusIsReadOrRejectedWithSafetensorsErrors() throws {
        var read = 0, rejected = 0
        for url in try corpus("safetensors") {
            let path = url.path
            let name = url.lastPathComponent
            let mustRead = expectation(url)
            let fromFile = check(Outcome<SafetensorsFile, SafetensorsError> { try Safetensors.read(from: path) },
                                 name, path: path, mustRead: mustRead)
            let data = try Data(contentsOf: url)
            check(Outcome<SafetensorsFile, SafetensorsError> { try Safetensors.decode(data, path: path) },
                  "\(name) from memory", path: path, mustRead: mustRead)
            guard let fromFile else {
                rejected += 1
                continue
            }
            read += 1
            for (tensorName, tensor) in fromFile.tensors {
                XCTAssertEqual(tensor.shape.reduce(1, *), tensor.values.count, "\(name): \(tensorName)")
            }
            // What was read can be written and reads back bit for bit (NaN payloads included).
            let again = try Safetensors.decode(try Safetensors.encode(fromFile), path: path)
            XCTAssertEqual(again.metadata, fromFile.metadata, name)
            XCTAssertEqual(again.tensors.mapValues(\.shape), fromFile.tensors.mapValues(\.shape), name)
            XCTAssertEqual(again.tensors.mapValues { $0.values.map(\.bitPattern) },
                           fromFile.tensors.mapValues { $0.values.map(\.bitPattern) }, name)
        }
        XCTAssertGreaterThan(read, 0, "the safetensors corpus has no valid file")
        XCTAssertGreaterThan(rejected, 0, "the safetensors corpus has no malformed file")
    }

    // MARK: Inputs found or shaped by fuzzing

    // No fuzzer has crashed a reader so far (see scripts/fuzz.sh); a crashing input goes here, inline, with
    // the error the reader must throw instead.

    private func bytes(_ hex: String) -> Data {
        var data = Data()
        var digits = hex.filter(\.isHexDigit).makeIterator()
        while let high = digits.next(), let low = digits.next() {
            data.append(UInt8(String([high, low]), radix: 16)!)
        }
        return data
    }

    func testIDXHeaderWhoseDimensionsOverflowIsRejected() {
        // images, 0xFFFFFFFF × 0xFFFFFFFF × 0xFFFFFFFF, four payload bytes
        let data = bytes("00000803 ffffffff ffffffff ffffffff 00010203")
        XCTAssertThrowsError(try IDXReader.parseHeader(data, path: "f.idx", magic: IDXReader.imageMagic)) { error in
            guard case IDXError.wrongDimensions(path: "f.idx", reason: _)? = error as? IDXError else {
                return XCTFail("\(error)")
            }
        }
        // A labels header that promises 2 GiB of labels in 12 bytes.
        XCTAssertEqual(
            Outcome<[Int], IDXError> { try IDXReader.parseHeader(bytes("00000801 7fffffff 00010203"), path: "f.idx",
                                                                magic: IDXReader.labelMagic).0 }.rejection,
            .lengthMismatch(path: "f.idx", expected: 8 + 0x7FFF_FFFF, actual: 12))
    }

    func testIDXHeaderCutInsideTheMagicOrTheSizes() {
        for (hex, magic) in [("", IDXReader.labelMagic), ("0000", IDXReader.imageMagic),
                             ("00000803 0000", IDXReader.imageMagic), ("00000801 000000", IDXReader.labelMagic)] {
            let data = bytes(hex)
            XCTAssertThrowsError(try IDXReader.parseHeader(data, path: "f.idx", magic: magic), hex) { error in
                guard case IDXError.tooShort(path: "f.idx", length: data.count, needed: _)? = error as? IDXError else {
                    return XCTFail("\(hex): \(error)")
                }
            }
        }
    }

    func testPGMNumbersTooLargeForTheHeaderAreRejected() {
        let data = Data("P5\n28 99999999999999999999999999 255\n".utf8)
        XCTAssertEqual(Outcome<[Float], PGMError> { try PGMReader.parseDigit(data, path: "f.pgm") }.rejection,
                       .malformedHeader(path: "f.pgm", offset: 6, reason: "height is too large"))
    }

    func testPGMCommentRunningToTheEndIsRejected() {
        let data = Data("P5 28 28 #255\n".utf8.dropLast())
        XCTAssertEqual(Outcome<[Float], PGMError> { try PGMReader.parseDigit(data, path: "f.pgm") }.rejection,
                       .malformedHeader(path: "f.pgm", offset: 13, reason: "expected the maximum value as a decimal number"))
    }

    func testSafetensorsHeaderLengthNearUInt64MaxIsRejected() {
        let data = bytes("f8ffffffffffffff 7b7d")  // length 2^64 − 8, then "{}"
        XCTAssertEqual(Outcome<SafetensorsFile, SafetensorsError> { try Safetensors.decode(data, path: "f.st") }.rejection,
                       .headerLengthBeyondFile(path: "f.st", headerLength: 0xFFFF_FFFF_FFFF_FFF8, available: 2))
    }

    func testSafetensorsOffsetsBeyondIntAreRejected() {
        let header = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775807,9223372036854775811]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header.utf8)
        data.append(contentsOf: [0, 0, 128, 63])
        let outcome = Outcome<SafetensorsFile, SafetensorsError> { try Safetensors.decode(data, path: "f.st") }
        guard case .invalidOffsets(path: "f.st", tensor: "w", reason: _)? = outcome.rejection else { return XCTFail("offsets past Int.max were not rejected as invalid offsets") }
    }
}
