import Foundation

/// What is wrong with an IDX file. Every case names the file.
public enum IDXError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case notARegularFile(path: String)
    case unreadable(path: String, reason: String)
    case tooShort(path: String, length: Int, needed: Int)
    case wrongMagic(path: String, found: UInt32, expected: UInt32)
    case wrongDimensions(path: String, reason: String)
    case lengthMismatch(path: String, expected: Int, actual: Int)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)

    public var description: String {
        switch self {
        case let .missing(path): return "\(path): no such file"
        case let .notARegularFile(path): return "\(path): not a regular file"
        case let .unreadable(path, reason): return "\(path): cannot read: \(reason)"
        case let .tooShort(path, length, needed):
            return "\(path): \(length) bytes, too short for an IDX header (needs \(needed))"
        case let .wrongMagic(path, found, expected):
            return "\(path): magic number \(found) at offset 0, expected \(expected)"
                + (expected == IDXReader.labelMagic ? " (IDX labels)" : " (IDX images)")
        case let .wrongDimensions(path, reason): return "\(path): \(reason)"
        case let .lengthMismatch(path, expected, actual):
            return "\(path): header says \(expected) bytes, file has \(actual) ("
                + (actual < expected ? "truncated" : "trailing data") + ")"
        case let .countMismatch(images, imageCount, labels, labelCount):
            return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
        }
    }
}

/// Reads IDX files (the MNIST container): a big-endian header of magic (0x0000 08 NDIMS: unsigned
/// bytes, NDIMS dimensions), then NDIMS UInt32 sizes, then exactly ∏sizes bytes.
public enum IDXReader {
    public static let labelMagic: UInt32 = 2049  // 0x00000801: ubyte, 1 dimension
    public static let imageMagic: UInt32 = 2051  // 0x00000803: ubyte, 3 dimensions

    /// Labels: one byte per item.
    public static func readLabels(at path: String) throws -> [UInt8] {
        try parseLabels(readFile(path), path: path)
    }

    /// Labels from the bytes of an IDX label file (`path` only names it in errors).
    public static func parseLabels(_ data: Data, path: String) throws -> [UInt8] {
        let (dimensions, headerLength) = try parseHeader(data, path: path, magic: labelMagic)
        return Array(data[(data.startIndex + headerLength)...].prefix(dimensions[0]))
    }

    /// Images: `count` images of rows×columns bytes, row-major.
    public static func readImages(at path: String) throws -> (pixels: [UInt8], count: Int, rows: Int, columns: Int) {
        try parseImages(readFile(path), path: path)
    }

    /// Images from the bytes of an IDX image file (`path` only names it in errors).
    public static func parseImages(_ data: Data, path: String) throws -> (pixels: [UInt8], count: Int, rows: Int, columns: Int) {
        let (dimensions, headerLength) = try parseHeader(data, path: path, magic: imageMagic)
        return (Array(data[(data.startIndex + headerLength)...]), dimensions[0], dimensions[1], dimensions[2])
    }

    /// Validates the header of `data` against `magic` and the total length; returns the sizes and the
    /// header length in bytes.
    public static func parseHeader(_ data: Data, path: String, magic: UInt32) throws -> ([Int], Int) {
        let rank = magic == labelMagic ? 1 : 3
        let headerLength = 4 + 4 * rank
        guard data.count >= 4 else { throw IDXError.tooShort(path: path, length: data.count, needed: headerLength) }
        let found = bigEndianUInt32(data, at: 0)
        guard found == magic else { throw IDXError.wrongMagic(path: path, found: found, expected: magic) }
        guard data.count >= headerLength else {
            throw IDXError.tooShort(path: path, length: data.count, needed: headerLength)
        }
        var dimensions: [Int] = []
        var payload = 1
        for index in 0..<rank {
            let size = Int(bigEndianUInt32(data, at: 4 + 4 * index))
            if index > 0 && size == 0 {
                throw IDXError.wrongDimensions(path: path, reason: "dimension \(index) is 0 (offset \(4 + 4 * index))")
            }
            dimensions.append(size)
            let (product, overflow) = payload.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Int(Int32.max) else {
                throw IDXError.wrongDimensions(path: path, reason: "dimensions \(dimensions) describe more than 2 GiB of data")
            }
            payload = product
        }
        let expected = headerLength + payload
        guard data.count == expected else {
            throw IDXError.lengthMismatch(path: path, expected: expected, actual: data.count)
        }
        return (dimensions, headerLength)
    }

    /// The bytes of the regular file at `path`, or the IDX error naming what is wrong with it.
    static func readFile(_ path: String) throws -> Data {
        switch readRegularFile(path) {
        case let .success(data): return data
        case .failure(.missing): throw IDXError.missing(path: path)
        case .failure(.notARegularFile): throw IDXError.notARegularFile(path: path)
        case let .failure(.unreadable(reason)): throw IDXError.unreadable(path: path, reason: reason)
        }
    }

    private static func bigEndianUInt32(_ data: Data, at offset: Int) -> UInt32 {
        let start = data.startIndex + offset
        return data[start..<start + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
