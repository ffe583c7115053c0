import BlasNet
import Foundation
import XCTest

/// Decodes what `PNGEncoder` writes with code independent of it: chunk parsing, a bitwise CRC-32, an
/// inflater for stored deflate blocks and a naive Adler-32.
final class PNGTests: XCTestCase {
    struct Chunk {
        let type: String
        let body: [UInt8]
    }

    struct DecodedPNG {
        let width: Int
        let height: Int
        let rgb: [UInt8]
        let chunks: [Chunk]
        /// Length of every stored deflate block, in order.
        let blockLengths: [Int]
    }

    enum DecodeFailure: Error { case failed(String) }

    /// Bit-by-bit CRC-32 (reflected polynomial 0xEDB88320), no table.
    static func bitwiseCRC32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }

    /// Adler-32 reducing after every byte.
    static func naiveAdler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    static func bigEndian(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func decode(_ data: Data) throws -> DecodedPNG {
        let bytes = [UInt8](data)
        func fail(_ message: String) -> DecodeFailure { .failed(message) }
        guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw fail("bad signature") }
        var chunks: [Chunk] = []
        var offset = 8
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw fail("truncated chunk at \(offset)") }
            let length = Int(bigEndian(bytes, offset))
            guard offset + 12 + length <= bytes.count else { throw fail("chunk length \(length) past the end") }
            let typeAndBody = Array(bytes[offset + 4..<offset + 8 + length])
            let storedCRC = bigEndian(bytes, offset + 8 + length)
            guard storedCRC == bitwiseCRC32(typeAndBody) else { throw fail("CRC mismatch at \(offset)") }
            chunks.append(Chunk(type: String(decoding: typeAndBody.prefix(4), as: UTF8.self), body: Array(typeAndBody.dropFirst(4))))
            offset += 12 + length
        }
        guard chunks.first?.type == "IHDR", chunks.last?.type == "IEND", chunks.last?.body.isEmpty == true else {
            throw fail("chunk order \(chunks.map(\.type))")
        }
        let header = chunks[0].body
        guard header.count == 13 else { throw fail("IHDR length \(header.count)") }
        let width = Int(bigEndian(header, 0)), height = Int(bigEndian(header, 4))
        guard Array(header[8...]) == [8, 2, 0, 0, 0] else { throw fail("IHDR fields \(Array(header[8...]))") }
        let idatTypes = chunks.enumerated().filter { $0.element.type == "IDAT" }.map(\.offset)
        guard let first = idatTypes.first, idatTypes == Array(first..<first + idatTypes.count) else {
            throw fail("IDAT chunks missing or not consecutive")
        }
        let stream = idatTypes.flatMap { chunks[$0].body }

        // zlib: CMF, FLG, stored blocks, Adler-32.
        guard stream.count >= 6, stream[0] & 0x0F == 8, (UInt32(stream[0]) << 8 | UInt32(stream[1])) % 31 == 0,
              stream[1] & 0x20 == 0 else { throw fail("bad zlib header") }
        var position = 2
        var inflated: [UInt8] = []
        var blockLengths: [Int] = []
        while true {
            guard position + 5 <= stream.count else { throw fail("truncated block header") }
            let blockHeader = stream[position]
            guard blockHeader & 0x06 == 0 else { throw fail("block type \(blockHeader >> 1 & 3) is not stored") }
            let length = Int(stream[position + 1]) | Int(stream[position + 2]) << 8
            let complement = Int(stream[position + 3]) | Int(stream[position + 4]) << 8
            guard length ^ complement == 0xFFFF else { throw fail("LEN/NLEN mismatch") }
            position += 5
            guard position + length <= stream.count else { throw fail("block past the stream") }
            inflated += stream[position..<position + length]
            blockLengths.append(length)
            position += length
            if blockHeader & 1 == 1 { break }
        }
        guard position + 4 == stream.count else { throw fail("expected 4 Adler bytes after the last block") }
        guard bigEndian(stream, position) == naiveAdler32(inflated) else { throw fail("Adler-32 mismatch") }

        // Undo the per-row filter byte (must be 0).
        let rowBytes = width * 3
        guard inflated.count == height * (rowBytes + 1) else { throw fail("inflated \(inflated.count) bytes") }
        var rgb: [UInt8] = []
        for row in 0..<height {
            let start = row * (rowBytes + 1)
            guard inflated[start] == 0 else { throw fail("row \(row) filter \(inflated[start])") }
            rgb += inflated[start + 1..<start + 1 + rowBytes]
        }
        return DecodedPNG(width: width, height: height, rgb: rgb, chunks: chunks, blockLengths: blockLengths)
    }

    // MARK: Tests

    func testChecksumsMatchKnownValues() {
        let check = Array("123456789".utf8)
        XCTAssertEqual(PNGEncoder.crc32(check), 0xCBF4_3926)
        XCTAssertEqual(Self.bitwiseCRC32(check), 0xCBF4_3926)
        XCTAssertEqual(PNGEncoder.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
        // Long runs of 0xFF exercise the deferred modulo.
        for count in [0, 1, 5551, 5552, 5553, 100_000] {
            let bytes = [UInt8](repeating: 0xFF, count: count)
            XCTAssertEqual(PNGEncoder.adler32(bytes), Self.naiveAdler32(bytes), "\(count) bytes")
        }
    }

    func testTinyImageHasKnownPixels() throws {
        // 3×2: red, green, blue / white, black, a gray with distinct channels.
        let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255,
                            255, 255, 255, 0, 0, 0, 12, 34, 56]
        let png = PNGEncoder.encode(width: 3, height: 2, rgb: rgb)
        let decoded = try Self.decode(png)
        XCTAssertEqual(decoded.width, 3)
        XCTAssertEqual(decoded.height, 2)
        XCTAssertEqual(decoded.rgb, rgb)
        XCTAssertEqual(decoded.chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(decoded.blockLengths, [2 * (1 + 9)])
        // Signature + IHDR (25) + IDAT (12 + 2 + 5 + 20 + 4) + IEND (12).
        XCTAssertEqual(png.count, 8 + 25 + 43 + 12)
    }

    func testStoredBlocksSplitAt65535Bytes() throws {
        // 1456×15 filters to exactly 65535 bytes (one full block); ×30 to exactly two; 300×100 to 1 full + 1 partial.
        for (width, height, blocks) in [(1456, 15, [65535]), (1456, 30, [65535, 65535]), (300, 100, [65535, 90100 - 65535]),
                                        (1, 1, [4])] {
            let rgb = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 3) }
            let decoded = try Self.decode(PNGEncoder.encode(width: width, height: height, rgb: rgb))
            XCTAssertEqual(decoded.blockLengths, blocks, "\(width)×\(height)")
            XCTAssertEqual(decoded.rgb, rgb, "\(width)×\(height)")
        }
    }

    func testLargeImageSpansSeveralIDATChunks() throws {
        let width = 700, height = 600
        let rgb = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 / 5) }
        let decoded = try Self.decode(PNGEncoder.encode(width: width, height: height, rgb: rgb))
        XCTAssertEqual(decoded.chunks.filter { $0.type == "IDAT" }.count, 2)
        XCTAssertTrue(decoded.chunks.allSatisfy { $0.body.count <= PNGEncoder.maximumIDATLength })
        XCTAssertEqual(decoded.rgb, rgb)
    }

    func testCanvasPNGRoundTripsThroughTheDecoder() throws {
        var canvas = Canvas(width: 5, height: 4, background: .white)
        canvas.setPixel(x: 1, y: 2, color: .red)
        canvas.fillRectangle(x: 3, y: 0, width: 9, height: 2, color: .blue)
        let decoded = try Self.decode(canvas.pngData())
        XCTAssertEqual(decoded.rgb, canvas.rgb)
        XCTAssertEqual(Array(decoded.rgb[3 * (2 * 5 + 1)..<3 * (2 * 5 + 1) + 3]), [220, 30, 30])

        let path = try makeTemporaryDirectory(self).appendingPathComponent("canvas.png").path
        try canvas.writePNG(to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), canvas.pngData())
    }

    /// Cross-check with Python's zlib (a real inflater) when python3 is available.
    func testPythonZlibDecodesTheImage() throws {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
                .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { throw XCTSkip("python3 not found") }
        let width = 400, height = 60  // 72060 filtered bytes: two stored blocks
        let rgb = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        let path = try makeTemporaryDirectory(self).appendingPathComponent("python.png").path
        try PNGEncoder.encode(width: width, height: height, rgb: rgb).write(to: URL(fileURLWithPath: path))
        let script = """
            import struct, sys, zlib, hashlib
            data = open(sys.argv[1], 'rb').read()
            assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            pos, idat = 8, b''
            while pos < len(data):
                length, kind = struct.unpack('>I4s', data[pos:pos + 8])
                body = data[pos + 8:pos + 8 + length]
                (crc,) = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
                assert crc == zlib.crc32(kind + body) & 0xffffffff, kind
                if kind == b'IHDR': w, h, depth, color = struct.unpack('>IIBB', body[:10])
                if kind == b'IDAT': idat += body
                pos += 12 + length
            raw = zlib.decompress(idat)
            stride = 3 * w + 1
            pixels = b''.join(raw[r * stride + 1:(r + 1) * stride] for r in range(h))
            assert all(raw[r * stride] == 0 for r in range(h))
            print(w, h, depth, color, hashlib.sha256(pixels).hexdigest())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, text)
        let expectedDigest = try pythonlessSHA256(rgb)
        XCTAssertEqual(text.trimmingCharacters(in: .whitespacesAndNewlines), "\(width) \(height) 8 2 \(expectedDigest)")
    }

    /// SHA-256 via `sha256sum`, so the comparison does not trust Python for both sides.
    private func pythonlessSHA256(_ bytes: [UInt8]) throws -> String {
        let path = try makeTemporaryDirectory(self).appendingPathComponent("pixels.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("sha256sum not available") }
        return String(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
    }
}
