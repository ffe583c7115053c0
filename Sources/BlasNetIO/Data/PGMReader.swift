import Foundation

/// What is wrong with a PGM file; every case names the file, and header problems the byte offset.
public enum PGMError: Error, Equatable, CustomStringConvertible {
    case notPGM(path: String)
    case malformedHeader(path: String, offset: Int, reason: String)
    case wrongSize(path: String, width: Int, height: Int)
    case lengthMismatch(path: String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .notPGM(path): return "\(path): not a binary PGM file (expected 'P5' at offset 0)"
        case let .malformedHeader(path, offset, reason): return "\(path): malformed PGM header at offset \(offset): \(reason)"
        case let .wrongSize(path, width, height): return "\(path): image is \(width)×\(height), expected 28×28"
        case let .lengthMismatch(path, expected, actual):
            return "\(path): header promises \(expected) bytes, file has \(actual) ("
                + (actual < expected ? "truncated" : "trailing data") + ")"
        }
    }
}

/// Reads binary PGM (P5) grayscale images: "P5", width, height, maxval (1…65535) separated by whitespace
/// (with `#` comments), one whitespace byte, then width×height samples (1 byte each, or 2 big-endian bytes
/// when maxval > 255).
public enum PGMReader {
    /// One 28×28 image as 784 floats in [0, 1] (sample / maxval), row-major.
    public static func readDigit(at path: String) throws -> [Float] {
        try parseDigit(IDXReader.readFile(path), path: path)
    }

    public static func parseDigit(_ data: Data, path: String) throws -> [Float] {
        let bytes = [UInt8](data)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") else {
            throw PGMError.notPGM(path: path)
        }
        var offset = 2
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C }
        func readNumber(_ name: String) throws -> Int {
            // Whitespace and comments before each field.
            while offset < bytes.count {
                if isSpace(bytes[offset]) {
                    offset += 1
                } else if bytes[offset] == UInt8(ascii: "#") {
                    while offset < bytes.count && bytes[offset] != 0x0A && bytes[offset] != 0x0D { offset += 1 }
                } else {
                    break
                }
            }
            let start = offset
            var value = 0
            while offset < bytes.count, bytes[offset] >= UInt8(ascii: "0"), bytes[offset] <= UInt8(ascii: "9") {
                value = value * 10 + Int(bytes[offset] - UInt8(ascii: "0"))
                offset += 1
                guard value <= 1_000_000 else {
                    throw PGMError.malformedHeader(path: path, offset: start, reason: "\(name) is too large")
                }
            }
            guard offset > start else {
                throw PGMError.malformedHeader(path: path, offset: start, reason: "expected the \(name) as a decimal number")
            }
            return value
        }
        let width = try readNumber("width")
        let height = try readNumber("height")
        let maxValue = try readNumber("maximum value")
        guard (1...65535).contains(maxValue) else {
            throw PGMError.malformedHeader(path: path, offset: offset, reason: "maximum value \(maxValue) is outside 1…65535")
        }
        guard offset < bytes.count, isSpace(bytes[offset]) else {
            throw PGMError.malformedHeader(path: path, offset: offset, reason: "expected one whitespace byte before the pixels")
        }
        offset += 1
        guard width == 28, height == 28 else { throw PGMError.wrongSize(path: path, width: width, height: height) }
        let sampleBytes = maxValue > 255 ? 2 : 1
        let expected = offset + width * height * sampleBytes
        guard bytes.count == expected else {
            throw PGMError.lengthMismatch(path: path, expected: expected, actual: bytes.count)
        }
        return (0..<(width * height)).map { index in
            let position = offset + index * sampleBytes
            let sample = sampleBytes == 1 ? Int(bytes[position]) : Int(bytes[position]) << 8 | Int(bytes[position + 1])
            return Float(min(sample, maxValue)) / Float(maxValue)
        }
    }
}
