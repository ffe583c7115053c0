import BlasNet
import Foundation
import XCTest

/// Decodes what `PNGEncoder` writes with code independent of it: chunk parsing, a bitwise CRC-32,
/// `TestInflater` (RFC 1951, with a naive Adler-32) and the inverse of every PNG row filter.
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
        /// Every deflate block, in order.
        let blocks: [TestInflater.Block]
        /// The filter type of every row.
        let filters: [UInt8]

        /// Lengths of the blocks, if all are stored.
        var storedBlockLengths: [Int]? { blocks.allSatisfy { $0.type == 0 } ? blocks.map(\.outputLength) : nil }
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

        // zlib: header, deflate blocks of any type, Adler-32 (see TestInflater).
        let inflated: TestInflater.Result
        do { inflated = try TestInflater.inflateZlib(stream) } catch { throw fail("zlib: \(error)") }

        // Undo the per-row filters (PNG §9.2), 3 bytes per pixel.
        let rowBytes = width * 3
        guard inflated.output.count == height * (rowBytes + 1) else { throw fail("inflated \(inflated.output.count) bytes") }
        var rgb = [UInt8](repeating: 0, count: height * rowBytes)
        var filters: [UInt8] = []
        for row in 0..<height {
            let filter = inflated.output[row * (rowBytes + 1)]
            guard filter <= 4 else { throw fail("row \(row) filter \(filter)") }
            filters.append(filter)
            for i in 0..<rowBytes {
                let x = inflated.output[row * (rowBytes + 1) + 1 + i]
                let a = i >= 3 ? Int(rgb[row * rowBytes + i - 3]) : 0
                let b = row > 0 ? Int(rgb[(row - 1) * rowBytes + i]) : 0
                let c = i >= 3 && row > 0 ? Int(rgb[(row - 1) * rowBytes + i - 3]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                default:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                }
                rgb[row * rowBytes + i] = UInt8((Int(x) + predictor) & 0xFF)
            }
        }
        return DecodedPNG(width: width, height: height, rgb: rgb, chunks: chunks, blocks: inflated.blocks, filters: filters)
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
            XCTAssertEqual(PNGEncoder.adler32(bytes), TestInflater.naiveAdler32(bytes), "\(count) bytes")
        }
    }

    func testTinyImageHasKnownPixels() throws {
        // 3×2: red, green, blue / white, black, a gray with distinct channels.
        let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255,
                            255, 255, 255, 0, 0, 0, 12, 34, 56]
        let uncompressed = PNGEncoder.encode(width: 3, height: 2, rgb: rgb, options: .uncompressed)
        let decoded = try Self.decode(uncompressed)
        XCTAssertEqual(decoded.width, 3)
        XCTAssertEqual(decoded.height, 2)
        XCTAssertEqual(decoded.rgb, rgb)
        XCTAssertEqual(decoded.chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(decoded.storedBlockLengths, [2 * (1 + 9)])
        XCTAssertEqual(decoded.filters, [0, 0])
        // Signature + IHDR (25) + IDAT (12 + 2 + 5 + 20 + 4) + IEND (12).
        XCTAssertEqual(uncompressed.count, 8 + 25 + 43 + 12)

        // The default (compressed) encoding of the same pixels, and of 1×1 images.
        let compressed = try Self.decode(PNGEncoder.encode(width: 3, height: 2, rgb: rgb))
        XCTAssertEqual(compressed.rgb, rgb)
        XCTAssertEqual(compressed.chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        for pixel: [UInt8] in [[0, 0, 0], [255, 255, 255], [1, 2, 3]] {
            for options in [PNGEncoder.Options.default, .uncompressed] {
                let single = try Self.decode(PNGEncoder.encode(width: 1, height: 1, rgb: pixel, options: options))
                XCTAssertEqual(single.rgb, pixel)
                XCTAssertEqual(single.width, 1)
            }
        }
    }

    func testStoredBlocksSplitAt65535Bytes() throws {
        // 1456×15 filters to exactly 65535 bytes (one full block); ×30 to exactly two; 300×100 to 1 full + 1 partial.
        for (width, height, blocks) in [(1456, 15, [65535]), (1456, 30, [65535, 65535]), (300, 100, [65535, 90100 - 65535]),
                                        (1, 1, [4])] {
            let rgb = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 / 3) }
            let decoded = try Self.decode(PNGEncoder.encode(width: width, height: height, rgb: rgb, options: .uncompressed))
            XCTAssertEqual(decoded.storedBlockLengths, blocks, "\(width)×\(height)")
            XCTAssertEqual(decoded.rgb, rgb, "\(width)×\(height)")
        }
    }

    func testLargeImageSpansSeveralIDATChunks() throws {
        let width = 700, height = 600
        let rgb = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 / 5) }
        let decoded = try Self.decode(PNGEncoder.encode(width: width, height: height, rgb: rgb, options: .uncompressed))
        XCTAssertEqual(decoded.chunks.filter { $0.type == "IDAT" }.count, 2)
        XCTAssertTrue(decoded.chunks.allSatisfy { $0.body.count <= PNGEncoder.maximumIDATLength })
        XCTAssertEqual(decoded.rgb, rgb)

        // Noise does not compress: the compressed stream also needs two chunks (stored blocks, little overhead).
        let noiseWidth = 640, noiseHeight = 560
        let noise = DeflateTests.randomBytes(noiseWidth * noiseHeight * 3, seed: 21)
        let png = PNGEncoder.encode(width: noiseWidth, height: noiseHeight, rgb: noise, options: PNGEncoder.Options(filter: .fixed(.none)))
        let noisy = try Self.decode(png)
        XCTAssertEqual(noisy.chunks.filter { $0.type == "IDAT" }.count, 2)
        XCTAssertTrue(noisy.rgb == noise)
        XCTAssertLessThan(png.count, noise.count + noiseHeight + noise.count / 500 + 100)
    }

    /// An image with something for every filter: gradients, noise, flat areas, repeated rows, odd sizes.
    static func testPattern(width: Int, height: Int) -> [UInt8] {
        var generator = SeededGenerator(seed: 17)
        var rgb = [UInt8](repeating: 255, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let index = (y * width + x) * 3
                switch y % 6 {
                case 0: rgb[index..<index + 3] = [UInt8(x * 7 & 0xFF), UInt8(x * 3 & 0xFF), 200]  // horizontal gradient
                case 1:  // small random values: many ties in the Paeth predictor
                    for channel in 0..<3 { rgb[index + channel] = UInt8(truncatingIfNeeded: generator.next()) & 3 }
                case 2: for channel in 0..<3 { rgb[index + channel] = UInt8(truncatingIfNeeded: generator.next()) }
                case 3: break  // white
                case 4: rgb[index..<index + 3] = [UInt8((x + y) * 5 & 0xFF), UInt8((x * y) & 0xFF), UInt8(x ^ y)]
                default: rgb[index..<index + 3] = rgb[index - 3 * width..<index - 3 * width + 3]  // the row above
                }
            }
        }
        return rgb
    }

    /// Sum of |byte as Int8| of `row` filtered with `filter` (computed here, independently of the encoder).
    static func filteredSum(_ rgb: [UInt8], width: Int, row: Int, filter: UInt8) -> Int {
        let rowBytes = width * 3
        var sum = 0
        for i in 0..<rowBytes {
            let x = Int(rgb[row * rowBytes + i])
            let a = i >= 3 ? Int(rgb[row * rowBytes + i - 3]) : 0
            let b = row > 0 ? Int(rgb[(row - 1) * rowBytes + i]) : 0
            let c = i >= 3 && row > 0 ? Int(rgb[(row - 1) * rowBytes + i - 3]) : 0
            let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
            let predictor = [0, a, b, (a + b) / 2, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][Int(filter)]
            let value = (x - predictor) & 0xFF
            sum += value < 128 ? value : 256 - value
        }
        return sum
    }

    func testEveryRowFilterRoundTrips() throws {
        for (width, height) in [(37, 23), (1, 7), (5, 1), (1, 1)] {
            let rgb = Self.testPattern(width: width, height: height)
            for filter in PNGEncoder.RowFilter.allCases {
                for deflate in [Deflate.Options.default, .stored] {
                    let options = PNGEncoder.Options(filter: .fixed(filter), deflate: deflate)
                    let decoded = try Self.decode(PNGEncoder.encode(width: width, height: height, rgb: rgb, options: options))
                    XCTAssertEqual(decoded.rgb, rgb, "\(width)×\(height), \(filter)")
                    XCTAssertEqual(decoded.filters, [UInt8](repeating: filter.rawValue, count: height))
                }
            }
            // Adaptive: every row gets a filter with the least sum of absolute differences.
            let adaptive = PNGEncoder.encode(width: width, height: height, rgb: rgb, options: PNGEncoder.Options(filter: .adaptive))
            let decoded = try Self.decode(adaptive)
            XCTAssertEqual(decoded.rgb, rgb, "\(width)×\(height), adaptive")
            for row in 0..<height {
                let sums = (0...4).map { Self.filteredSum(rgb, width: width, row: row, filter: UInt8($0)) }
                XCTAssertEqual(Self.filteredSum(rgb, width: width, row: row, filter: decoded.filters[row]), sums.min(),
                               "\(width)×\(height), row \(row): filter \(decoded.filters[row]) of sums \(sums)")
            }
            if width == 37 { XCTAssertGreaterThanOrEqual(Set(decoded.filters).count, 3, "\(decoded.filters)") }

            // The default keeps the smaller of adaptive and Up (the first on a tie).
            let up = PNGEncoder.encode(width: width, height: height, rgb: rgb, options: PNGEncoder.Options(filter: .fixed(.up)))
            let chosen = PNGEncoder.encode(width: width, height: height, rgb: rgb)
            XCTAssertEqual(chosen, up.count < adaptive.count ? up : adaptive, "\(width)×\(height)")
            XCTAssertEqual(try Self.decode(chosen).rgb, rgb)
            let empty = PNGEncoder.Options(filter: .smallestOf([]))
            XCTAssertEqual(PNGEncoder.encode(width: width, height: height, rgb: rgb, options: empty), adaptive)
        }
        // Digits drawn as scaled blocks (as in the predictions grid) favour Up on every row; the default picks it.
        var digits = Canvas(width: 4 * 28 * 3 + 40, height: 4 * 28 + 20, background: .white)
        var generator = SeededGenerator(seed: 3)
        for cell in 0..<3 {
            let pixels = (0..<784).map { index -> Float in
                let (row, column) = (index / 28, index % 28)
                let stroke = abs(column - 14 + (row - 14) / 3) < 3 + cell && row > 4 && row < 24
                return stroke ? 0.6 + 0.4 * generator.nextUnitFloat() : 0
            }
            digits.drawGrayscaleImage(pixels, x: 10 + cell * (4 * 28 + 10), y: 10, scale: 4)
        }
        let blocky = try Self.decode(digits.pngData())
        XCTAssertEqual(blocky.rgb, digits.rgb)
        XCTAssertEqual(Set(blocky.filters), [2], "Up on every row")
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

    /// A 400×300 picture like the report's: white, frames, filled bars, lines, text.
    static func reportLikeCanvas() -> Canvas {
        var canvas = Canvas(width: 400, height: 300, background: .white)
        canvas.drawText("Training curves: loss and accuracy", x: 10, y: 6, color: .black, scale: 2)
        canvas.strokeRectangle(x: 20, y: 40, width: 170, height: 230, thickness: 1, color: .darkGray)
        canvas.strokeRectangle(x: 210, y: 40, width: 170, height: 230, thickness: 1, color: .darkGray)
        for step in 0..<10 {
            canvas.drawLine(x0: 20 + step * 17, y0: 260 - step * step * 2, x1: 37 + step * 17,
                            y1: 260 - (step + 1) * (step + 1) * 2, color: .blue, thickness: 2)
            canvas.drawLine(x0: 210 + step * 17, y0: 60 + step * 9, x1: 227 + step * 17, y1: 69 + step * 9, color: .red)
            canvas.fillRectangle(x: 30 + step * 16, y: 275, width: 10, height: 12, color: .lightGray)
            canvas.drawText("epoch \(step + 1)", x: 215, y: 120 + step * 14, color: .black)
        }
        canvas.fillRectangle(x: 300, y: 200, width: 60, height: 40, color: .orange)
        return canvas
    }

    func testReportLikeCanvasCompressesTenfold() throws {
        let canvas = Self.reportLikeCanvas()
        let png = canvas.pngData()
        let decoded = try Self.decode(png)
        XCTAssertEqual(decoded.rgb, canvas.rgb)
        XCTAssertTrue(decoded.blocks.allSatisfy { $0.type != 0 }, "\(decoded.blocks)")
        XCTAssertLessThanOrEqual(png.count * 10, canvas.rgb.count, "\(png.count) bytes for \(canvas.rgb.count) of pixels")
        let uncompressed = PNGEncoder.encode(width: canvas.width, height: canvas.height, rgb: canvas.rgb, options: .uncompressed)
        XCTAssertGreaterThan(uncompressed.count, canvas.rgb.count)
        XCTAssertEqual(try Self.decode(uncompressed).rgb, canvas.rgb)
    }

    /// Cross-check with Python's zlib (a real inflater) and a Python unfilter when python3 is available.
    func testPythonZlibDecodesTheImage() throws {
        guard let python = findPython3() else { throw XCTSkip("python3 not found") }
        let directory = try makeTemporaryDirectory(self)
        var cases: [(name: String, width: Int, height: Int, rgb: [UInt8], options: PNGEncoder.Options)] = []
        let mixed = (0..<(400 * 60 * 3)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        cases.append(("mixed-stored", 400, 60, mixed, .uncompressed))
        cases.append(("mixed", 400, 60, mixed, .default))
        let pattern = Self.testPattern(width: 37, height: 23)
        for filter in PNGEncoder.RowFilter.allCases {
            cases.append(("pattern-\(filter)", 37, 23, pattern, PNGEncoder.Options(filter: .fixed(filter))))
        }
        cases.append(("pattern-adaptive", 37, 23, pattern, PNGEncoder.Options(filter: .adaptive)))
        cases.append(("pattern-default", 37, 23, pattern, .default))
        cases.append(("pattern-adaptive-fixed-huffman", 37, 23, pattern,
                      PNGEncoder.Options(filter: .adaptive, deflate: Deflate.Options(blockType: .fixed))))
        cases.append(("tiny", 2, 2, [255, 0, 0, 0, 255, 0, 0, 0, 255, 12, 34, 56], .default))
        let canvas = Self.reportLikeCanvas()
        cases.append(("report-like", canvas.width, canvas.height, canvas.rgb, .default))
        for item in cases {
            try PNGEncoder.encode(width: item.width, height: item.height, rgb: item.rgb, options: item.options)
                .write(to: directory.appendingPathComponent("\(item.name).png"))
        }
        let script = """
            import hashlib, struct, sys, zlib
            for path in sys.argv[1:]:
                data = open(path, 'rb').read()
                assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
                pos, idat = 8, b''
                while pos < len(data):
                    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
                    body = data[pos + 8:pos + 8 + length]
                    (crc,) = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
                    assert crc == zlib.crc32(kind + body) & 0xffffffff, kind
                    if kind == b'IHDR': w, h, depth, color, method, flt, interlace = struct.unpack('>IIBBBBB', body)
                    if kind == b'IDAT': idat += body
                    pos += 12 + length
                assert (depth, color, method, flt, interlace) == (8, 2, 0, 0, 0)
                raw = zlib.decompress(idat)
                stride = 3 * w
                assert len(raw) == h * (stride + 1)
                out, prev = bytearray(), bytearray(stride)
                for r in range(h):
                    f = raw[r * (stride + 1)]
                    line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
                    for i in range(stride):
                        a = line[i - 3] if i >= 3 else 0
                        b = prev[i]
                        c = prev[i - 3] if i >= 3 else 0
                        if f == 0: p = 0
                        elif f == 1: p = a
                        elif f == 2: p = b
                        elif f == 3: p = (a + b) // 2
                        elif f == 4:
                            q = a + b - c
                            pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)
                            p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                        else: raise ValueError('filter %d' % f)
                        line[i] = (line[i] + p) & 0xff
                    out += line
                    prev = line
                print(w, h, hashlib.sha256(bytes(out)).hexdigest())
            """
        let paths = cases.map { directory.appendingPathComponent("\($0.name).png").path }
        let (status, output) = try runPython(python, script, paths)
        XCTAssertEqual(status, 0, output)
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, cases.count, output)
        for (item, line) in zip(cases, lines) {
            XCTAssertEqual(line, "\(item.width) \(item.height) \(try pythonlessSHA256(item.rgb))", item.name)
        }
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
