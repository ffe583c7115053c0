import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

final class SafetensorsTests: XCTestCase {
    // MARK: Helpers

    /// A safetensors file from a header string and data bytes; `headerLength` overrides the length field.
    private func rawFile(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
        let headerBytes = Array(header.utf8)
        return rawFile(headerBytes: headerBytes, data: data, headerLength: headerLength)
    }

    private func rawFile(headerBytes: [UInt8], data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
        var file = Data()
        withUnsafeBytes(of: (headerLength ?? UInt64(headerBytes.count)).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: headerBytes)
        file.append(contentsOf: data)
        return file
    }

    /// The error `decode` throws for `data`, as a `SafetensorsError` (fails the test if none or another type).
    private func decodeError(_ data: Data, file: StaticString = #filePath, line: UInt = #line) -> SafetensorsError? {
        do {
            _ = try Safetensors.decode(data, path: "test.safetensors")
            XCTFail("decoding succeeded", file: file, line: line)
            return nil
        } catch let error as SafetensorsError {
            XCTAssertTrue(error.description.contains("test.safetensors"), "\(error) does not name the file", file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return nil
        }
    }

    private func assertDecodeError(_ data: Data, _ expected: SafetensorsError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(decodeError(data, file: file, line: line), expected, file: file, line: line)
    }

    private let path = "test.safetensors"
    private let fourBytes: [UInt8] = [0, 0, 128, 63]  // 1.0f

    private func entry(_ dtype: String = "F32", shape: String = "[1]", offsets: String = "[0, 4]") -> String {
        "{\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": \(offsets)}"
    }

    // MARK: Round trip and writer layout

    func testRoundTripKeepsShapesValuesBitExactAndMetadata() throws {
        var generator = SeededGenerator(seed: 7)
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFFA0_0001)]  // NaNs with payloads
        let file = SafetensorsFile(
            tensors: [
                "fc1.weight": SafetensorsTensor(shape: [3, 5], values: randomValues(15, generator: &generator)),
                "fc1.bias": SafetensorsTensor(shape: [3], values: randomValues(3, generator: &generator)),
                "special": SafetensorsTensor(shape: [2, 2, 2], values: special),
                "scalar": SafetensorsTensor(shape: [], values: [42]),
                "empty": SafetensorsTensor(shape: [0, 4], values: []),
                "name with \"quotes\" / ünïcode": SafetensorsTensor(shape: [1], values: [-1.5]),
            ],
            metadata: ["model": "dense", "note": "line1\nline2 \"quoted\" \\ tab\t ŷ", "empty": ""])
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("round.safetensors").path
        try Safetensors.write(file, to: path)
        let loaded = try Safetensors.read(from: path)

        XCTAssertEqual(loaded.metadata, file.metadata)
        XCTAssertEqual(Set(loaded.tensors.keys), Set(file.tensors.keys))
        for (name, tensor) in file.tensors {
            let read = try XCTUnwrap(loaded.tensors[name])
            XCTAssertEqual(read.shape, tensor.shape, name)
            XCTAssertEqual(read.values.map(\.bitPattern), tensor.values.map(\.bitPattern), "\(name) not bit-exact")
        }
    }

    func testHeaderIsPaddedWithSpacesSoDataStartsEightByteAligned() throws {
        // Metadata lengths 0…15 walk the unpadded header length through every remainder mod 8.
        for length in 0..<16 {
            let file = SafetensorsFile(tensors: ["t": SafetensorsTensor(shape: [2], values: [1, 2])],
                                       metadata: ["k": String(repeating: "x", count: length)])
            let bytes = [UInt8](try Safetensors.encode(file))
            let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let dataStart = 8 + Int(headerLength)
            XCTAssertEqual(dataStart % 8, 0, "metadata length \(length): data starts at \(dataStart)")
            let header = String(decoding: bytes[8..<dataStart], as: UTF8.self)
            XCTAssertTrue(header.hasPrefix("{"))
            let trimmed = header.replacingOccurrences(of: " +$", with: "", options: .regularExpression)
            XCTAssertTrue(trimmed.hasSuffix("}"), "only spaces may follow the JSON object: \(header)")
            XCTAssertLessThan(header.count - trimmed.count, 8)
            XCTAssertEqual(bytes.count, dataStart + 8)
            XCTAssertEqual(try Safetensors.decode(Data(bytes), path: path), file)
        }
    }

    func testWriterOrdersTensorsByNameContiguously() throws {
        let file = SafetensorsFile(tensors: [
            "b": SafetensorsTensor(shape: [2], values: [3, 4]),
            "a": SafetensorsTensor(shape: [1], values: [1]),
            "c": SafetensorsTensor(shape: [3], values: [5, 6, 7]),
        ])
        let bytes = try Safetensors.encode(file)
        let headerLength = Int(bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<8 + headerLength)) as? [String: Any])
        func offsets(_ name: String) -> [Int]? { (header[name] as? [String: Any])?["data_offsets"] as? [Int] }
        XCTAssertEqual(offsets("a"), [0, 4])
        XCTAssertEqual(offsets("b"), [4, 12])
        XCTAssertEqual(offsets("c"), [12, 24])
        XCTAssertNil(header["__metadata__"], "no metadata object when there is no metadata")
        // The data buffer holds the values little-endian in name order.
        let values = stride(from: 8 + headerLength, to: bytes.count, by: 4).map { start in
            Float(bitPattern: bytes[start..<start + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        XCTAssertEqual(values, [1, 3, 4, 5, 6, 7])
    }

    func testWriterRejectsInconsistentTensors() {
        XCTAssertThrowsError(try Safetensors.encode(SafetensorsFile(tensors: ["t": SafetensorsTensor(shape: [2, 2], values: [1, 2, 3])]),
                                                    path: "out.safetensors")) { error in
            guard case .cannotEncode(let path, _)? = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "out.safetensors")
        }
        XCTAssertThrowsError(try Safetensors.encode(SafetensorsFile(tensors: ["t": SafetensorsTensor(shape: [-1], values: [])])))
        XCTAssertThrowsError(try Safetensors.encode(SafetensorsFile(tensors: ["__metadata__": SafetensorsTensor(shape: [1], values: [1])])))
    }

    func testReaderAcceptsHandWrittenHeaderWithWhitespaceAndEscapes() throws {
        let header = "{ \"__metadata__\" : { \"k\\u00e9y\" : \"v\\n\\ud83d\\ude00\" } ,\n\t\"w\\/x\" : \(entry(shape: "[ 1 ]")) }   "
        let file = try Safetensors.decode(rawFile(header: header, data: fourBytes), path: path)
        XCTAssertEqual(file.metadata, ["kéy": "v\n😀"])
        XCTAssertEqual(file.tensors["w/x"], SafetensorsTensor(shape: [1], values: [1]))
        // An empty header object describes an empty file.
        XCTAssertEqual(try Safetensors.decode(rawFile(header: "{}"), path: path), SafetensorsFile(tensors: [:]))
    }

    // MARK: File-level problems

    func testMissingPathIsReported() {
        let missing = "/nonexistent-\(UUID().uuidString)/model.safetensors"
        XCTAssertThrowsError(try Safetensors.read(from: missing)) { error in
            XCTAssertEqual(error as? SafetensorsError, .missing(path: missing))
        }
    }

    func testDirectoryIsReported() throws {
        let directory = try makeTemporaryDirectory(self).path
        XCTAssertThrowsError(try Safetensors.read(from: directory)) { error in
            XCTAssertEqual(error as? SafetensorsError, .notARegularFile(path: directory))
        }
    }

    func testEmptyFileIsReported() throws {
        let path = try makeTemporaryDirectory(self).appendingPathComponent("empty.safetensors").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        XCTAssertThrowsError(try Safetensors.read(from: path)) { error in
            XCTAssertEqual(error as? SafetensorsError, .emptyFile(path: path))
        }
    }

    func testFileShorterThanLengthFieldIsReported() {
        assertDecodeError(Data([1, 2, 3, 4, 5]), .tooShort(path: path, length: 5))
    }

    func testHeaderLengthBeyondFileIsReported() {
        let header = "{}"
        assertDecodeError(rawFile(header: header, headerLength: 3), .headerLengthBeyondFile(path: path, headerLength: 3, available: 2))
        for huge in [UInt64.max, UInt64.max - 7, UInt64(Int.max), UInt64(Int.max) + 1, 1 << 40] {
            assertDecodeError(rawFile(header: header, headerLength: huge),
                              .headerLengthBeyondFile(path: path, headerLength: huge, available: 2))
        }
        assertDecodeError(Data([255, 255, 255, 255, 255, 255, 255, 255]),
                          .headerLengthBeyondFile(path: path, headerLength: .max, available: 0))
    }

    // MARK: Header problems

    func testHeaderThatIsNotUTF8IsReported() {
        assertDecodeError(rawFile(headerBytes: [UInt8(ascii: "{"), 0xFF, 0xFE, UInt8(ascii: "}")]), .headerNotUTF8(path: path))
        // A truncated multi-byte sequence at the end of the header.
        assertDecodeError(rawFile(headerBytes: Array("{}".utf8) + [0xC3]), .headerNotUTF8(path: path))
    }

    func testHeaderThatIsNotJSONIsReported() {
        for header in ["{", "{\"a\": }", "{} x", "{\"a\": 1,}", "{'a': 1}", "", "{\"a\": 01}", "{\"a\": \"\u{01}\"}",
                       "{\"a\": \"\\x\"}", "{\"a\": \"\\ud800\"}", "{\"a\": tru}", "\u{0}{}"] {
            guard case .headerNotJSON(let errorPath, _)? = decodeError(rawFile(header: header)) else {
                XCTFail("header \(header.debugDescription) should be rejected as not JSON")
                continue
            }
            XCTAssertEqual(errorPath, path)
        }
    }

    func testDeeplyNestedHeaderIsRejectedWithoutCrashing() {
        let header = "{\"a\": " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        guard case .headerNotJSON(_, let reason)? = decodeError(rawFile(header: header)) else { return XCTFail() }
        XCTAssertTrue(reason.contains("nesting"), reason)
    }

    func testHeaderThatIsNotAnObjectIsReported() {
        for header in ["[1, 2]", "42", "\"text\"", "null", "  {}"] {
            assertDecodeError(rawFile(header: header), .headerNotObject(path: path))
        }
    }

    func testEntryThatIsNotAnObjectIsReported() {
        assertDecodeError(rawFile(header: "{\"w\": [0, 4]}", data: fourBytes), .entryNotObject(path: path, tensor: "w"))
        assertDecodeError(rawFile(header: "{\"w\": \"F32\"}", data: fourBytes), .entryNotObject(path: path, tensor: "w"))
    }

    func testMissingFieldsAreReported() {
        for field in ["dtype", "shape", "data_offsets"] {
            let fields = ["\"dtype\": \"F32\"", "\"shape\": [1]", "\"data_offsets\": [0, 4]"].filter { !$0.contains("\"\(field)\"") }
            let header = "{\"w\": {\(fields.joined(separator: ", "))}}"
            assertDecodeError(rawFile(header: header, data: fourBytes), .missingField(path: path, tensor: "w", field: field))
        }
    }

    func testWrongFieldTypesAreReported() {
        assertDecodeError(rawFile(header: "{\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", data: fourBytes),
                          .wrongFieldType(path: path, tensor: "w", field: "dtype", expected: "a string"))
        assertDecodeError(rawFile(header: "{\"w\": \(entry(shape: "1"))}", data: fourBytes),
                          .wrongFieldType(path: path, tensor: "w", field: "shape", expected: "an array"))
        assertDecodeError(rawFile(header: "{\"w\": \(entry(offsets: "{\"begin\": 0}"))}", data: fourBytes),
                          .wrongFieldType(path: path, tensor: "w", field: "data_offsets", expected: "an array"))
    }

    func testUnsupportedDTypeIsReported() {
        assertDecodeError(rawFile(header: "{\"w\": \(entry("F16", shape: "[2]"))}", data: fourBytes),
                          .unsupportedDType(path: path, tensor: "w", dtype: "F16"))
        assertDecodeError(rawFile(header: "{\"w\": \(entry("f32"))}", data: fourBytes),
                          .unsupportedDType(path: path, tensor: "w", dtype: "f32"))
    }

    func testInvalidShapesAreReported() {
        let bad = ["[-1]", "[1.5]", "[1e2]", "[\"1\"]", "[null]", "[[1]]", "[99999999999999999999]",
                   "[4294967296, 4294967296]",   // element count overflows Int
                   "[2305843009213693952]",      // 2^61 elements: the byte count overflows
                   "[9223372036854775807, 2]"]
        for shape in bad {
            guard case .invalidShape(let errorPath, let tensor, _)? = decodeError(
                rawFile(header: "{\"w\": \(entry(shape: shape))}", data: fourBytes)) else {
                XCTFail("shape \(shape) should be rejected as invalid")
                continue
            }
            XCTAssertEqual(errorPath, path)
            XCTAssertEqual(tensor, "w")
        }
    }

    func testInvalidOffsetsAreReported() {
        for offsets in ["[0]", "[0, 4, 8]", "[]", "[-4, 0]", "[0.0, 4]", "[\"0\", 4]", "[0, 99999999999999999999]"] {
            guard case .invalidOffsets(_, let tensor, _)? = decodeError(rawFile(header: "{\"w\": \(entry(offsets: offsets))}",
                                                                                data: fourBytes)) else {
                XCTFail("offsets \(offsets) should be rejected as invalid")
                continue
            }
            XCTAssertEqual(tensor, "w")
        }
        // begin after end
        guard case .invalidOffsets(_, _, let reason)? = decodeError(rawFile(header: "{\"w\": \(entry(offsets: "[4, 0]"))}",
                                                                            data: fourBytes)) else { return XCTFail() }
        XCTAssertTrue(reason.contains("after"), reason)
    }

    func testOffsetsThatDisagreeWithShapeAreReported() {
        assertDecodeError(rawFile(header: "{\"w\": \(entry(shape: "[2]", offsets: "[0, 4]"))}", data: fourBytes),
                          .sizeMismatch(path: path, tensor: "w", expectedBytes: 8, begin: 0, end: 4))
        assertDecodeError(rawFile(header: "{\"w\": \(entry(shape: "[]", offsets: "[0, 8]"))}", data: fourBytes + fourBytes),
                          .sizeMismatch(path: path, tensor: "w", expectedBytes: 4, begin: 0, end: 8))
    }

    func testOffsetsOutsideTheBufferAreReported() {
        assertDecodeError(rawFile(header: "{\"w\": \(entry(shape: "[2]", offsets: "[0, 8]"))}", data: fourBytes),
                          .offsetsOutOfBuffer(path: path, tensor: "w", end: 8, bufferLength: 4))
        let huge = "[9223372036854775803, 9223372036854775807]"  // Int.max - 4 ..< Int.max
        assertDecodeError(rawFile(header: "{\"w\": \(entry(offsets: huge))}", data: fourBytes),
                          .offsetsOutOfBuffer(path: path, tensor: "w", end: Int.max, bufferLength: 4))
    }

    func testHoleBetweenTensorsIsReported() {
        let header = "{\"a\": \(entry(offsets: "[0, 4]")), \"b\": \(entry(offsets: "[8, 12]"))}"
        assertDecodeError(rawFile(header: header, data: fourBytes + fourBytes + fourBytes),
                          .notContiguous(path: path, tensor: "b", begin: 8, expectedBegin: 4))
        // A hole at the start of the buffer.
        assertDecodeError(rawFile(header: "{\"a\": \(entry(offsets: "[4, 8]"))}", data: fourBytes + fourBytes),
                          .notContiguous(path: path, tensor: "a", begin: 4, expectedBegin: 0))
    }

    func testOverlappingTensorsAreReported() {
        let header = "{\"a\": \(entry(shape: "[2]", offsets: "[0, 8]")), \"b\": \(entry(shape: "[2]", offsets: "[4, 12]"))}"
        assertDecodeError(rawFile(header: header, data: fourBytes + fourBytes + fourBytes),
                          .notContiguous(path: path, tensor: "b", begin: 4, expectedBegin: 8))
        // Two tensors sharing the same bytes.
        let shared = "{\"a\": \(entry()), \"b\": \(entry())}"
        assertDecodeError(rawFile(header: shared, data: fourBytes), .notContiguous(path: path, tensor: "b", begin: 0, expectedBegin: 4))
    }

    func testUncoveredTrailingDataIsReported() {
        assertDecodeError(rawFile(header: "{\"a\": \(entry())}", data: fourBytes + [1]),
                          .dataNotCovered(path: path, coveredBytes: 4, bufferLength: 5))
        assertDecodeError(rawFile(header: "{}", data: fourBytes), .dataNotCovered(path: path, coveredBytes: 0, bufferLength: 4))
    }

    func testDuplicateNamesAreReported() {
        let header = "{\"a\": \(entry(offsets: "[0, 4]")), \"a\": \(entry(offsets: "[4, 8]"))}"
        assertDecodeError(rawFile(header: header, data: fourBytes + fourBytes), .duplicateName(path: path, name: "a"))
        let metadataTwice = "{\"__metadata__\": {}, \"__metadata__\": {}}"
        assertDecodeError(rawFile(header: metadataTwice), .duplicateName(path: path, name: "__metadata__"))
        let fieldTwice = "{\"a\": {\"dtype\": \"F32\", \"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}"
        assertDecodeError(rawFile(header: fieldTwice, data: fourBytes), .duplicateName(path: path, name: "a.dtype"))
        let keyTwice = "{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}"
        assertDecodeError(rawFile(header: keyTwice), .duplicateName(path: path, name: "__metadata__.k"))
    }

    func testMetadataThatIsNotStringsIsReported() {
        assertDecodeError(rawFile(header: "{\"__metadata__\": {\"epochs\": 10}}"), .metadataValueNotString(path: path, key: "epochs"))
        assertDecodeError(rawFile(header: "{\"__metadata__\": {\"a\": \"x\", \"b\": null}}"), .metadataValueNotString(path: path, key: "b"))
        assertDecodeError(rawFile(header: "{\"__metadata__\": [\"x\"]}"), .metadataNotObject(path: path))
        assertDecodeError(rawFile(header: "{\"__metadata__\": \"x\"}"), .metadataNotObject(path: path))
    }

    // MARK: Robustness

    /// Every truncation and many random corruptions of a valid file either decode or throw a
    /// `SafetensorsError`; none may crash.
    func testTruncatedAndCorruptedFilesNeverCrash() throws {
        let file = SafetensorsFile(tensors: ["a": SafetensorsTensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
                                             "b": SafetensorsTensor(shape: [1], values: [7])],
                                   metadata: ["model": "dense"])
        let valid = [UInt8](try Safetensors.encode(file))
        for length in 0..<valid.count {
            XCTAssertThrowsError(try Safetensors.decode(Data(valid.prefix(length)), path: path)) { error in
                XCTAssertNotNil(error as? SafetensorsError, "length \(length): \(error)")
            }
        }
        var generator = SeededGenerator(seed: 11)
        let interesting: [UInt8] = Array("{}[]\",:0123456789-.eE ".utf8) + [0, 0xFF, 0x80]
        for _ in 0..<3000 {
            var corrupted = valid
            for _ in 0..<(1 + generator.nextIndex(below: 3)) {
                let position = generator.nextIndex(below: corrupted.count)
                corrupted[position] = generator.nextIndex(below: 2) == 0
                    ? interesting[generator.nextIndex(below: interesting.count)]
                    : UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                _ = try Safetensors.decode(Data(corrupted), path: path)
            } catch {
                XCTAssertNotNil(error as? SafetensorsError, "\(error)")
            }
        }
    }

    func testEveryErrorDescriptionNamesTheFile() {
        let errors: [SafetensorsError] = [
            .missing(path: path), .notARegularFile(path: path), .unreadable(path: path, reason: "r"), .emptyFile(path: path),
            .tooShort(path: path, length: 1), .headerLengthBeyondFile(path: path, headerLength: 9, available: 1),
            .headerNotUTF8(path: path), .headerNotJSON(path: path, reason: "r"), .headerNotObject(path: path),
            .duplicateName(path: path, name: "a"), .entryNotObject(path: path, tensor: "a"),
            .missingField(path: path, tensor: "a", field: "dtype"),
            .wrongFieldType(path: path, tensor: "a", field: "shape", expected: "an array"),
            .unsupportedDType(path: path, tensor: "a", dtype: "F16"), .invalidShape(path: path, tensor: "a", reason: "r"),
            .invalidOffsets(path: path, tensor: "a", reason: "r"),
            .sizeMismatch(path: path, tensor: "a", expectedBytes: 4, begin: 0, end: 8),
            .offsetsOutOfBuffer(path: path, tensor: "a", end: 8, bufferLength: 4),
            .notContiguous(path: path, tensor: "a", begin: 8, expectedBegin: 4),
            .dataNotCovered(path: path, coveredBytes: 4, bufferLength: 8), .metadataNotObject(path: path),
            .metadataValueNotString(path: path, key: "k"), .cannotEncode(path: path, reason: "r"),
        ]
        for error in errors { XCTAssertTrue(error.description.hasPrefix(path), error.description) }
    }
}
