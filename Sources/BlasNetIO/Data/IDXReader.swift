import CZlib
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

    /// The bytes of the regular file at `path`, or the IDX error naming what is wrong with it. A gzip
    /// file (magic 1f 8b; an IDX file starts with two zero bytes) is decompressed, so `name.gz` reads as
    /// `name` would.
    public static func readFile(_ path: String) throws -> Data {
        let data: Data
        switch readRegularFile(path) {
        case let .success(contents): data = contents
        case .failure(.missing): throw IDXError.missing(path: path)
        case .failure(.notARegularFile): throw IDXError.notARegularFile(path: path)
        case let .failure(.unreadable(reason)): throw IDXError.unreadable(path: path, reason: reason)
        }
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else { return data }
        return try gunzip(data, path: path)
    }

    /// Largest decompressed gzip file accepted: far above MNIST's 47 MB, small enough that a hostile
    /// file cannot exhaust memory.
    static let maximumInflatedSize = 1 << 30

    /// One gzip member, decompressed with zlib; trailing bytes, corrupt data and more than
    /// `maximumInflatedSize` bytes are errors naming `path`.
    static func gunzip(_ compressed: Data, path: String) throws -> Data {
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer. (inflateInit2 is a macro Swift cannot call.)
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw IDXError.unreadable(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try compressed.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while status != Z_STREAM_END {
                let produced: Int = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunk - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw IDXError.unreadable(path: path, reason: status == Z_BUF_ERROR
                                              ? "gzip data ends early (truncated)" : "not valid gzip data (\(message))")
                }
                output.append(contentsOf: buffer[0..<produced])
                guard output.count <= maximumInflatedSize else {
                    throw IDXError.unreadable(path: path, reason: "decompresses to more than \(maximumInflatedSize) bytes")
                }
            }
            guard stream.avail_in == 0 else {
                throw IDXError.unreadable(path: path, reason: "\(stream.avail_in) bytes of trailing data after the gzip stream")
            }
        }
        return output
    }

    private static func bigEndianUInt32(_ data: Data, at offset: Int) -> UInt32 {
        let start = data.startIndex + offset
        return data[start..<start + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
