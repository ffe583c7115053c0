import Foundation

/// What is wrong with a safetensors file (or with tensors handed to the writer). Every case names the file.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case notARegularFile(path: String)
    case unreadable(path: String, reason: String)
    case emptyFile(path: String)
    /// Fewer than the 8 bytes of the header length.
    case tooShort(path: String, length: Int)
    /// The 8-byte header length points past the end of the file.
    case headerLengthBeyondFile(path: String, headerLength: UInt64, available: Int)
    case headerNotUTF8(path: String)
    case headerNotJSON(path: String, reason: String)
    /// The header is JSON but not an object (or does not start with `{`).
    case headerNotObject(path: String)
    case duplicateName(path: String, name: String)
    case entryNotObject(path: String, tensor: String)
    case missingField(path: String, tensor: String, field: String)
    case wrongFieldType(path: String, tensor: String, field: String, expected: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A dimension that is not a non-negative integer, or a shape whose element or byte count overflows.
    case invalidShape(path: String, tensor: String, reason: String)
    /// `data_offsets` not two non-negative integers with begin ≤ end.
    case invalidOffsets(path: String, tensor: String, reason: String)
    /// end − begin differs from dtype size × element count.
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, begin: Int, end: Int)
    case offsetsOutOfBuffer(path: String, tensor: String, end: Int, bufferLength: Int)
    /// Sorted by offset, this tensor does not start where the previous one ended (a hole or an overlap).
    case notContiguous(path: String, tensor: String, begin: Int, expectedBegin: Int)
    /// The tensors end before the data buffer does.
    case dataNotCovered(path: String, coveredBytes: Int, bufferLength: Int)
    case metadataNotObject(path: String)
    case metadataValueNotString(path: String, key: String)
    /// The writer was given something it cannot store.
    case cannotEncode(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(path): return "\(path): no such file"
        case let .notARegularFile(path): return "\(path): not a regular file"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .emptyFile(path): return "\(path): empty file (0 bytes), not a safetensors file"
        case let .tooShort(path, length):
            return "\(path): \(length) bytes, too short for the 8-byte safetensors header length"
        case let .headerLengthBeyondFile(path, headerLength, available):
            return "\(path): header length \(headerLength) at offset 0 exceeds the \(available) bytes after it"
                + " (truncated or not a safetensors file)"
        case let .headerNotUTF8(path): return "\(path): safetensors header is not valid UTF-8"
        case let .headerNotJSON(path, reason): return "\(path): safetensors header is not valid JSON: \(reason)"
        case let .headerNotObject(path): return "\(path): safetensors header is not a JSON object starting with '{'"
        case let .duplicateName(path, name): return "\(path): header names '\(name)' more than once"
        case let .entryNotObject(path, tensor): return "\(path): tensor '\(tensor)': entry is not a JSON object"
        case let .missingField(path, tensor, field): return "\(path): tensor '\(tensor)': missing '\(field)'"
        case let .wrongFieldType(path, tensor, field, expected):
            return "\(path): tensor '\(tensor)': '\(field)' must be \(expected)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)': dtype '\(dtype)' is not supported (only F32)"
        case let .invalidShape(path, tensor, reason): return "\(path): tensor '\(tensor)': invalid shape: \(reason)"
        case let .invalidOffsets(path, tensor, reason):
            return "\(path): tensor '\(tensor)': invalid data_offsets: \(reason)"
        case let .sizeMismatch(path, tensor, expectedBytes, begin, end):
            return "\(path): tensor '\(tensor)': data_offsets [\(begin), \(end)] span \(end - begin) bytes,"
                + " dtype and shape need \(expectedBytes)"
        case let .offsetsOutOfBuffer(path, tensor, end, bufferLength):
            return "\(path): tensor '\(tensor)': data ends at \(end), past the \(bufferLength)-byte data buffer"
        case let .notContiguous(path, tensor, begin, expectedBegin):
            return "\(path): tensor '\(tensor)': data begins at \(begin), expected \(expectedBegin) ("
                + (begin > expectedBegin ? "hole before it" : "overlaps the previous tensor") + ")"
        case let .dataNotCovered(path, coveredBytes, bufferLength):
            return "\(path): tensors cover \(coveredBytes) of the \(bufferLength)-byte data buffer"
        case .metadataNotObject(let path): return "\(path): __metadata__ is not a JSON object"
        case let .metadataValueNotString(path, key): return "\(path): __metadata__ value for '\(key)' is not a string"
        case let .cannotEncode(path, reason): return "\(path): cannot write safetensors: \(reason)"
        }
    }
}

/// One F32 tensor: row-major `values` of `shape` (the product of `shape` is `values.count`).
public struct SafetensorsTensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// The contents of a safetensors file: named tensors and string metadata.
public struct SafetensorsFile: Equatable, Sendable {
    public var tensors: [String: SafetensorsTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafetensorsTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// Reads and writes the safetensors format (F32 tensors only): an 8-byte little-endian header length N,
/// N bytes of JSON `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
/// then the data buffer, tensors contiguous and row-major little-endian.
public enum Safetensors {
    /// Key of the metadata object in the header.
    public static let metadataKey = "__metadata__"
    /// Bytes per element of each dtype the format defines; only F32 is read or written here.
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
    ]
    static let float32Size = 4
    /// Nesting limit of the header JSON (a valid header needs 3).
    static let maximumJSONDepth = 64

    // MARK: Writing

    /// The file bytes for `file`: tensors sorted by name, header padded with spaces so the data buffer starts
    /// at a multiple of 8 bytes. `path` only names the destination in errors.
    public static func encode(_ file: SafetensorsFile, path: String = "(in memory)") throws -> Data {
        let names = file.tensors.keys.sorted()
        var header = "{"
        var entries: [String] = []
        if !file.metadata.isEmpty {
            let pairs = file.metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(file.metadata[$0] ?? ""))" }
            entries.append("\(jsonString(metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            guard let tensor = file.tensors[name] else { continue }
            guard name != metadataKey else {
                throw SafetensorsError.cannotEncode(path: path, reason: "'\(metadataKey)' is reserved, not a tensor name")
            }
            var elements = 1
            for dimension in tensor.shape {
                guard dimension >= 0 else {
                    throw SafetensorsError.cannotEncode(path: path, reason: "tensor '\(name)' has negative dimension in \(tensor.shape)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else {
                    throw SafetensorsError.cannotEncode(path: path, reason: "tensor '\(name)': shape \(tensor.shape) overflows")
                }
                elements = product
            }
            guard elements == tensor.values.count else {
                throw SafetensorsError.cannotEncode(
                    path: path, reason: "tensor '\(name)': shape \(tensor.shape) holds \(elements) values, got \(tensor.values.count)")
            }
            let end = offset + tensor.values.count * float32Size
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        let padding = (8 - (8 + headerBytes.count) % 8) % 8
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))

        var data = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for name in names {
            guard let tensor = file.tensors[name] else { continue }
            var littleEndian = [UInt32]()
            littleEndian.reserveCapacity(tensor.values.count)
            for value in tensor.values { littleEndian.append(value.bitPattern.littleEndian) }
            littleEndian.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes `file` to `path` atomically (see `AtomicFile`).
    public static func write(_ file: SafetensorsFile, to path: String) throws {
        try AtomicFile.write(try encode(file, path: path), to: path)
    }

    // MARK: Reading

    /// Reads and validates the safetensors file at `path`.
    public static func read(from path: String) throws -> SafetensorsFile {
        switch readRegularFile(path) {
        case let .success(data): return try decode(data, path: path)
        case .failure(.missing): throw SafetensorsError.missing(path: path)
        case .failure(.notARegularFile): throw SafetensorsError.notARegularFile(path: path)
        case let .failure(.unreadable(reason)): throw SafetensorsError.unreadable(path: path, reason: reason)
        }
    }

    /// Parses and validates safetensors bytes; `path` names the source in errors.
    public static func decode(_ data: Data, path: String) throws -> SafetensorsFile {
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else { throw SafetensorsError.emptyFile(path: path) }
        guard bytes.count >= 8 else { throw SafetensorsError.tooShort(path: path, length: bytes.count) }
        var headerLength: UInt64 = 0
        for index in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(bytes[index]) }
        let available = bytes.count - 8
        guard headerLength <= UInt64(available) else {
            throw SafetensorsError.headerLengthBeyondFile(path: path, headerLength: headerLength, available: available)
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = bytes[8..<headerEnd]
        // Decoding repairs invalid UTF-8 with U+FFFD, so only valid UTF-8 survives the round trip unchanged.
        // (String(validating:as:) would say it directly but needs macOS 15.)
        guard String(decoding: headerBytes, as: UTF8.self).utf8.elementsEqual(headerBytes) else {
            throw SafetensorsError.headerNotUTF8(path: path)
        }
        // The format requires the header to open with '{'; anything else is not an object.
        guard headerBytes.first == UInt8(ascii: "{") else {
            if headerBytes.isEmpty { throw SafetensorsError.headerNotJSON(path: path, reason: "header is empty") }
            // Still report malformed JSON as such, valid non-object JSON as not an object.
            var probe = JSONParser(bytes: Array(headerBytes))
            if case .failure(let reason) = probe.parseDocument() {
                throw SafetensorsError.headerNotJSON(path: path, reason: reason)
            }
            throw SafetensorsError.headerNotObject(path: path)
        }
        var parser = JSONParser(bytes: Array(headerBytes))
        let root: JSONValue
        switch parser.parseDocument() {
        case .success(let value): root = value
        case .failure(let reason): throw SafetensorsError.headerNotJSON(path: path, reason: reason)
        }
        guard case .object(let members) = root else { throw SafetensorsError.headerNotObject(path: path) }

        let bufferStart = headerEnd
        let bufferLength = bytes.count - bufferStart
        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var layouts: [(name: String, shape: [Int], begin: Int, end: Int)] = []
        for member in members {
            let (name, value) = (member.key, member.value)
            guard seen.insert(name).inserted else { throw SafetensorsError.duplicateName(path: path, name: name) }
            if name == metadataKey {
                metadata = try parseMetadata(value, path: path)
                continue
            }
            let layout = try parseEntry(name: name, value: value, path: path)
            guard layout.end <= bufferLength else {
                throw SafetensorsError.offsetsOutOfBuffer(path: path, tensor: name, end: layout.end, bufferLength: bufferLength)
            }
            layouts.append((name, layout.shape, layout.begin, layout.end))
        }

        // Sorted by offsets, every tensor must start where the previous one ended and the last one must end
        // with the buffer: no holes, no overlaps, nothing left over.
        let ordered = layouts.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expectedBegin = 0
        for layout in ordered {
            guard layout.begin == expectedBegin else {
                throw SafetensorsError.notContiguous(path: path, tensor: layout.name, begin: layout.begin,
                                                     expectedBegin: expectedBegin)
            }
            expectedBegin = layout.end
        }
        guard expectedBegin == bufferLength else {
            throw SafetensorsError.dataNotCovered(path: path, coveredBytes: expectedBegin, bufferLength: bufferLength)
        }

        var tensors: [String: SafetensorsTensor] = [:]
        for layout in layouts {
            let count = (layout.end - layout.begin) / float32Size
            var values = [Float](repeating: 0, count: count)
            let base = bufferStart + layout.begin
            for index in 0..<count {
                let at = base + index * float32Size
                let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16
                    | UInt32(bytes[at + 3]) << 24
                values[index] = Float(bitPattern: bits)
            }
            tensors[layout.name] = SafetensorsTensor(shape: layout.shape, values: values)
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard case .object(let members) = value else { throw SafetensorsError.metadataNotObject(path: path) }
        var metadata: [String: String] = [:]
        for member in members {
            let (key, entry) = (member.key, member.value)
            guard case .string(let text) = entry else {
                throw SafetensorsError.metadataValueNotString(path: path, key: key)
            }
            guard metadata[key] == nil else {
                throw SafetensorsError.duplicateName(path: path, name: "\(metadataKey).\(key)")
            }
            metadata[key] = text
        }
        return metadata
    }

    /// Validates one tensor entry; returns its shape and byte range within the data buffer.
    private static func parseEntry(name: String, value: JSONValue, path: String) throws
        -> (shape: [Int], begin: Int, end: Int) {
        guard case .object(let fields) = value else { throw SafetensorsError.entryNotObject(path: path, tensor: name) }
        func field(_ key: String) throws -> JSONValue {
            let matches = fields.filter { $0.key == key }
            guard matches.count <= 1 else { throw SafetensorsError.duplicateName(path: path, name: "\(name).\(key)") }
            guard let match = matches.first else {
                throw SafetensorsError.missingField(path: path, tensor: name, field: key)
            }
            return match.value
        }
        guard case .string(let dtype) = try field("dtype") else {
            throw SafetensorsError.wrongFieldType(path: path, tensor: name, field: "dtype", expected: "a string")
        }
        guard case .array(let shapeValues) = try field("shape") else {
            throw SafetensorsError.wrongFieldType(path: path, tensor: name, field: "shape", expected: "an array")
        }
        guard case .array(let offsetValues) = try field("data_offsets") else {
            throw SafetensorsError.wrongFieldType(path: path, tensor: name, field: "data_offsets", expected: "an array")
        }
        guard dtype == "F32" else { throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: dtype) }

        var shape: [Int] = []
        var elements = 1
        for (axis, dimensionValue) in shapeValues.enumerated() {
            guard case .number(let text) = dimensionValue else {
                throw SafetensorsError.invalidShape(path: path, tensor: name, reason: "dimension \(axis) is not a number")
            }
            guard let dimension = nonNegativeInteger(text) else {
                throw SafetensorsError.invalidShape(
                    path: path, tensor: name, reason: "dimension \(axis) is \(text), not a non-negative integer that fits in 64 bits")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw SafetensorsError.invalidShape(path: path, tensor: name, reason: "element count of \(shapeDescription(shapeValues)) overflows")
            }
            shape.append(dimension)
            elements = product
        }
        let (expectedBytes, bytesOverflow) = elements.multipliedReportingOverflow(by: float32Size)
        guard !bytesOverflow else {
            throw SafetensorsError.invalidShape(path: path, tensor: name, reason: "byte count of \(shape) overflows")
        }

        guard offsetValues.count == 2 else {
            throw SafetensorsError.invalidOffsets(path: path, tensor: name, reason: "\(offsetValues.count) values, expected 2")
        }
        var offsets: [Int] = []
        for offsetValue in offsetValues {
            guard case .number(let text) = offsetValue, let offset = nonNegativeInteger(text) else {
                throw SafetensorsError.invalidOffsets(path: path, tensor: name, reason: "offsets must be non-negative integers that fit in 64 bits")
            }
            offsets.append(offset)
        }
        let begin = offsets[0], end = offsets[1]
        guard begin <= end else {
            throw SafetensorsError.invalidOffsets(path: path, tensor: name, reason: "begin \(begin) is after end \(end)")
        }
        guard end - begin == expectedBytes else {
            throw SafetensorsError.sizeMismatch(path: path, tensor: name, expectedBytes: expectedBytes, begin: begin, end: end)
        }
        return (shape, begin, end)
    }

    private static func shapeDescription(_ values: [JSONValue]) -> String {
        "[" + values.map { if case .number(let text) = $0 { return text } else { return "?" } }.joined(separator: ", ") + "]"
    }

    /// The value of a JSON number token that is a plain non-negative integer fitting in Int; nil otherwise
    /// (negative, fractional, exponent, too large).
    static func nonNegativeInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(text)
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
