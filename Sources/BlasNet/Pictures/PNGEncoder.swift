import Foundation

/// Minimal PNG writer: 8-bit RGB, no interlacing, every row with filter 0 (None), image data in a zlib
/// stream of stored (uncompressed) deflate blocks. Larger than a compressed PNG but needs no zlib.
public enum PNGEncoder {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The most a stored deflate block can hold.
    public static let maximumStoredBlockLength = 65_535
    /// Bytes of the zlib stream per IDAT chunk.
    public static let maximumIDATLength = 1 << 20

    /// The PNG file for a `width`×`height` image; `rgb` is row-major, 3 bytes (R, G, B) per pixel.
    /// Preconditions (programming errors, not data errors): both sizes positive, at most 2³¹ − 1 as PNG
    /// requires, and `rgb.count == width × height × 3`.
    public static func encode(width: Int, height: Int, rgb: [UInt8]) -> Data {
        precondition(width > 0 && height > 0 && width <= Int(Int32.max) && height <= Int(Int32.max),
                     "PNG sizes must be in 1...2^31-1, got \(width)×\(height)")
        let (rowBytes, rowOverflow) = width.multipliedReportingOverflow(by: 3)
        let (pixelBytes, overflow) = rowBytes.multipliedReportingOverflow(by: height)
        precondition(!rowOverflow && !overflow && rgb.count == pixelBytes,
                     "PNGEncoder: \(rgb.count) bytes for a \(width)×\(height) RGB image")

        var png = Data(signature)
        var header: [UInt8] = []
        appendBigEndian(UInt32(width), to: &header)
        appendBigEndian(UInt32(height), to: &header)
        header += [8, 2, 0, 0, 0]  // bit depth 8, colour type 2 (RGB), deflate, filter method 0, no interlace
        appendChunk("IHDR", header, to: &png)

        // The filtered image: each row prefixed by its filter type, 0.
        var filtered = [UInt8]()
        filtered.reserveCapacity(height * (rowBytes + 1))
        for row in 0..<height {
            filtered.append(0)
            filtered.append(contentsOf: rgb[row * rowBytes..<(row + 1) * rowBytes])
        }
        // One zlib stream, split over IDAT chunks so no chunk length nears PNG's 2³¹ − 1 limit.
        let stream = zlibStored(filtered)
        var start = 0
        repeat {
            let end = min(stream.count, start + maximumIDATLength)
            appendChunk("IDAT", Array(stream[start..<end]), to: &png)
            start = end
        } while start < stream.count
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// A zlib stream (RFC 1950) holding `bytes` in stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ bytes: [UInt8]) -> [UInt8] {
        var stream: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary; 0x7801 % 31 == 0
        stream.reserveCapacity(bytes.count + bytes.count / maximumStoredBlockLength * 5 + 16)
        var start = 0
        repeat {
            let length = min(maximumStoredBlockLength, bytes.count - start)
            let isFinal = start + length == bytes.count
            stream.append(isFinal ? 1 : 0)  // BFINAL, BTYPE 00 (stored); the rest of the byte is padding
            let length16 = UInt16(length)
            stream += [UInt8(length16 & 0xFF), UInt8(length16 >> 8), UInt8(~length16 & 0xFF), UInt8(~length16 >> 8)]
            stream.append(contentsOf: bytes[start..<start + length])
            start += length
        } while start < bytes.count
        appendBigEndian(adler32(bytes), to: &stream)
        return stream
    }

    /// Adler-32 of `bytes` (RFC 1950).
    public static func adler32<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var a: UInt32 = 1, b: UInt32 = 0
        var pending = 0
        for byte in bytes {
            a += UInt32(byte)
            b += a
            pending += 1
            // 5552 bytes is the most that cannot overflow 32 bits between reductions.
            if pending == 5552 { a %= 65521; b %= 65521; pending = 0 }
        }
        return (b % 65521) << 16 | (a % 65521)
    }

    /// CRC-32 (ISO-HDLC, polynomial 0xEDB88320 reflected) as PNG chunks use it.
    public static func crc32<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// Length, type, data, CRC-32 of type + data.
    private static func appendChunk(_ type: String, _ body: [UInt8], to png: inout Data) {
        var chunk: [UInt8] = []
        appendBigEndian(UInt32(body.count), to: &chunk)
        let typeAndBody = Array(type.utf8) + body
        chunk += typeAndBody
        appendBigEndian(crc32(typeAndBody), to: &chunk)
        png.append(contentsOf: chunk)
    }

    private static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
