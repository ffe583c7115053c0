@testable import BlasNet
import Foundation
import XCTest

// MARK: An independent inflater (RFC 1951) and zlib reader (RFC 1950)

struct InflateFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A deliberately simple inflater written from RFC 1951 (decoding in the manner of zlib's puff.c), sharing
/// no code with `Deflate`. It is strict: Huffman codes must be complete (never oversubscribed or
/// incomplete), code counts within the RFC's limits, every distance within the output so far, and the
/// stream must end exactly where the data says.
struct TestInflater {
    struct Block: Equatable {
        /// BTYPE: 0 stored, 1 fixed, 2 dynamic.
        let type: Int
        /// Bytes this block produced.
        let outputLength: Int
    }

    struct Result {
        var output: [UInt8] = []
        var blocks: [Block] = []
        var longestDistance = 0
        var longestLength = 0
        var matchCount = 0
        /// Literals decoded in Huffman blocks (stored bytes not counted).
        var literalCount = 0
    }

    private let input: [UInt8]
    private var position = 0  // next byte of `input`
    private var bitBuffer = 0
    private var bitsInBuffer = 0

    private init(_ input: [UInt8], start: Int) {
        self.input = input
        position = start
    }

    private mutating func bits(_ count: Int) throws -> Int {
        var value = 0
        for index in 0..<count {
            if bitsInBuffer == 0 {
                guard position < input.count else { throw InflateFailure("ran out of input") }
                bitBuffer = Int(input[position])
                position += 1
                bitsInBuffer = 8
            }
            value |= (bitBuffer & 1) << index
            bitBuffer >>= 1
            bitsInBuffer -= 1
        }
        return value
    }

    /// A canonical Huffman code: how many codes of each length, symbols in canonical order.
    private struct Code {
        var countOfLength = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: [Int]) throws {
            for length in lengths {
                guard (0...15).contains(length) else { throw InflateFailure("code length \(length)") }
                countOfLength[length] += 1
            }
            var left = 1
            for length in 1...15 {
                left = left * 2 - countOfLength[length]
                if left < 0 { throw InflateFailure("oversubscribed code \(lengths)") }
            }
            if left > 0 { throw InflateFailure("incomplete code \(lengths)") }
            for length in 1...15 {
                for (symbol, symbolLength) in lengths.enumerated() where symbolLength == length { symbols.append(symbol) }
            }
        }
    }

    private mutating func decode(_ code: Code) throws -> Int {
        var value = 0, first = 0, index = 0
        for length in 1...15 {
            value |= try bits(1)
            let count = code.countOfLength[length]
            if value - first < count { return code.symbols[index + value - first] }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        throw InflateFailure("no code matches")
    }

    private static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
                                      115, 131, 163, 195, 227, 258]
    private static let lengthExtras = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                        1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtras = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
                                         12, 12, 13, 13]

    private mutating func codes(literal: Code, distance: Code, into result: inout Result) throws {
        while true {
            let symbol = try decode(literal)
            if symbol < 256 {
                result.output.append(UInt8(symbol))
                result.literalCount += 1
            } else if symbol == 256 {
                return
            } else {
                guard symbol <= 285 else { throw InflateFailure("length symbol \(symbol)") }
                let length = Self.lengthBases[symbol - 257] + (try bits(Self.lengthExtras[symbol - 257]))
                let distanceSymbol = try decode(distance)
                guard distanceSymbol < 30 else { throw InflateFailure("distance symbol \(distanceSymbol)") }
                let distance = Self.distanceBases[distanceSymbol] + (try bits(Self.distanceExtras[distanceSymbol]))
                guard distance <= result.output.count else {
                    throw InflateFailure("distance \(distance) with \(result.output.count) bytes out")
                }
                for _ in 0..<length { result.output.append(result.output[result.output.count - distance]) }
                result.longestDistance = max(result.longestDistance, distance)
                result.longestLength = max(result.longestLength, length)
                result.matchCount += 1
            }
        }
    }

    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private mutating func dynamicCodes() throws -> (Code, Code) {
        let literalCount = try bits(5) + 257, distanceCount = try bits(5) + 1, codeLengthCount = try bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw InflateFailure("HLIT/HDIST too large") }
        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeLengthCount { codeLengthLengths[Self.codeLengthOrder[index]] = try bits(3) }
        let codeLengthCode = try Code(lengths: codeLengthLengths)
        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try decode(codeLengthCode)
            switch symbol {
            case 0...15: lengths.append(symbol)
            case 16:
                guard let last = lengths.last else { throw InflateFailure("repeat with no previous length") }
                lengths += Array(repeating: last, count: 3 + (try bits(2)))
            case 17: lengths += Array(repeating: 0, count: 3 + (try bits(3)))
            default: lengths += Array(repeating: 0, count: 11 + (try bits(7)))
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw InflateFailure("code lengths overrun") }
        guard lengths[256] > 0 else { throw InflateFailure("no end-of-block code") }
        return (try Code(lengths: Array(lengths[0..<literalCount])), try Code(lengths: Array(lengths[literalCount...])))
    }

    /// Inflates the raw deflate stream starting at `input[start]`; returns the result and the index of the
    /// first byte after the stream.
    static func inflate(_ input: [UInt8], start: Int = 0) throws -> (Result, end: Int) {
        var inflater = TestInflater(input, start: start)
        var result = Result()
        var isFinal = false
        while !isFinal {
            isFinal = try inflater.bits(1) == 1
            let type = try inflater.bits(2)
            let before = result.output.count
            switch type {
            case 0:
                inflater.bitsInBuffer = 0  // skip to the byte boundary
                guard inflater.position + 4 <= input.count else { throw InflateFailure("truncated stored header") }
                let length = Int(input[inflater.position]) | Int(input[inflater.position + 1]) << 8
                let complement = Int(input[inflater.position + 2]) | Int(input[inflater.position + 3]) << 8
                guard length ^ complement == 0xFFFF else { throw InflateFailure("LEN/NLEN mismatch") }
                inflater.position += 4
                guard inflater.position + length <= input.count else { throw InflateFailure("stored block past the end") }
                result.output += input[inflater.position..<inflater.position + length]
                inflater.position += length
            case 1:
                let literal = try Code(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })
                let distance = try Code(lengths: Array(repeating: 5, count: 32))
                try inflater.codes(literal: literal, distance: distance, into: &result)
            case 2:
                let (literal, distance) = try inflater.dynamicCodes()
                try inflater.codes(literal: literal, distance: distance, into: &result)
            default:
                throw InflateFailure("block type 3")
            }
            result.blocks.append(Block(type: type, outputLength: result.output.count - before))
        }
        guard inflater.bitBuffer == 0 else { throw InflateFailure("nonzero padding after the last block") }
        return (result, inflater.position)
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

    /// Inflates a whole zlib stream: header, deflate data, Adler-32, nothing after.
    static func inflateZlib(_ stream: [UInt8]) throws -> Result {
        guard stream.count >= 6, stream[0] & 0x0F == 8, stream[0] >> 4 <= 7,
              (Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0 else { throw InflateFailure("bad zlib header") }
        guard stream[1] & 0x20 == 0 else { throw InflateFailure("preset dictionary") }
        let (result, end) = try inflate(stream, start: 2)
        guard end + 4 == stream.count else { throw InflateFailure("\(stream.count - end) bytes after the deflate data") }
        let adler = stream[end..<end + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard adler == naiveAdler32(result.output) else { throw InflateFailure("Adler-32 mismatch") }
        return result
    }
}

// MARK: Running python3

// MARK: Tests

final class DeflateTests: XCTestCase {
    /// Random bytes from a seeded generator.
    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            let word = generator.next()
            for shift in stride(from: 0, to: 64, by: 8) where bytes.count < count {
                bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return bytes
    }

    /// English-like text: words from a small vocabulary in a seeded order, with punctuation.
    static func textLike(_ count: Int, seed: UInt64) -> [UInt8] {
        let words = ["the", "network", "gradient", "of", "a", "loss", "with", "respect", "to", "weights", "is",
                     "computed", "by", "backpropagation", "and", "matrix", "multiplication", "in", "BLAS", "epoch",
                     "accuracy", "sigmoid", "dense", "layer", "batch", "Swift", "pure", "kernel", "0.9931", "1024"]
        var generator = SeededGenerator(seed: seed)
        var text: [UInt8] = []
        while text.count < count {
            text += Array(words[generator.nextIndex(below: words.count)].utf8)
            let punctuation = generator.nextIndex(below: 12)
            text += punctuation == 0 ? Array(".\n".utf8) : punctuation == 1 ? Array(", ".utf8) : [0x20]
        }
        return Array(text.prefix(count))
    }

    /// Data whose only long repeat is a 258-byte copy from exactly 32 768 bytes back.
    static func maximumDistanceData() -> [UInt8] {
        let random = randomBytes(40_000, seed: 11)
        return random + random[40_000 - 32_768..<40_000 - 32_768 + 258] + randomBytes(1000, seed: 12)
    }

    /// Compresses with `options`, inflates with `TestInflater`, checks the bytes; returns both.
    @discardableResult
    func roundTrip(_ bytes: [UInt8], _ options: Deflate.Options = .default, _ label: String,
                   file: StaticString = #filePath, line: UInt = #line) throws -> (stream: [UInt8], result: TestInflater.Result) {
        let stream = Deflate.zlibCompress(bytes, options: options)
        let result: TestInflater.Result
        do {
            result = try TestInflater.inflateZlib(stream)
        } catch {
            XCTFail("\(label): \(error)", file: file, line: line)
            throw error
        }
        XCTAssertEqual(result.output.count, bytes.count, label, file: file, line: line)
        XCTAssertTrue(result.output == bytes, "\(label): inflated bytes differ", file: file, line: line)
        XCTAssertEqual(result.blocks.reduce(0) { $0 + $1.outputLength }, bytes.count, label, file: file, line: line)
        // The raw deflate stream is the zlib stream without its 2-byte header and 4-byte trailer.
        XCTAssertEqual(Array(stream[2..<stream.count - 4]), Deflate.compress(bytes, options: options), label,
                       file: file, line: line)
        return (stream, result)
    }

    /// The inputs of the round-trip tests, by name.
    static func corpus() -> [(String, [UInt8])] {
        [("empty", []), ("one byte", [42]), ("two bytes", [7, 7]), ("three bytes", [1, 2, 3]),
         ("three equal bytes", [9, 9, 9]), ("four equal bytes", [9, 9, 9, 9]),
         ("100k zeros", [UInt8](repeating: 0, count: 100_000)),
         ("random 70k", randomBytes(70_000, seed: 1)),
         ("text 60k", textLike(60_000, seed: 2)),
         ("max distance", maximumDistanceData()),
         ("all byte values", (0..<2048).map { UInt8(truncatingIfNeeded: $0) }),
         ("runs of every length", (1...300).flatMap { [UInt8](repeating: UInt8($0 % 251), count: $0) }),
         ("65535 random", randomBytes(65_535, seed: 3)), ("65536 random", randomBytes(65_536, seed: 4)),
         ("131071 mixed", textLike(65_000, seed: 5) + randomBytes(66_071, seed: 6))]
    }

    func testRoundTripsEveryInputAndBlockType() throws {
        let blockTypes: [Deflate.BlockType] = [.automatic, .stored, .fixed, .dynamic]
        for (name, bytes) in Self.corpus() {
            for blockType in blockTypes {
                let options = Deflate.Options(blockType: blockType)
                let (_, result) = try roundTrip(bytes, options, "\(name), \(blockType)")
                if blockType != .automatic {
                    let expected = blockType == .stored ? 0 : blockType == .fixed ? 1 : 2
                    XCTAssertEqual(Set(result.blocks.map(\.type)), [expected], "\(name), \(blockType)")
                }
                if blockType == .stored {
                    // Stored: no LZ77; full 65 535-byte blocks, then the rest (one empty block for no input).
                    let full = bytes.count / 65_535, rest = bytes.count % 65_535
                    let expected = [Int](repeating: 65_535, count: full) + (rest > 0 || full == 0 ? [rest] : [])
                    XCTAssertEqual(result.blocks.map(\.outputLength), expected, name)
                }
            }
        }
    }

    func testSmallBlocksAndSearchSettings() throws {
        // Many blocks of few symbols: boundaries fall inside pending lazy matches and between literals.
        for (symbols, size) in [(1, 1500), (2, 1500), (3, 3000), (100, 20_000), (4096, 20_000)] {
            let text = Self.textLike(size, seed: 7)
            for blockType: Deflate.BlockType in [.automatic, .fixed, .dynamic] {
                let options = Deflate.Options(symbolsPerBlock: symbols, blockType: blockType)
                let (_, result) = try roundTrip(text, options, "\(symbols) symbols per block, \(blockType)")
                guard blockType != .automatic else { continue }
                // Full blocks of `symbols`, then the rest with end-of-block (perhaps nothing else).
                let symbolCount = result.literalCount + result.matchCount
                XCTAssertTrue([(symbolCount + symbols - 1) / symbols, symbolCount / symbols + 1].contains(result.blocks.count),
                              "\(result.blocks.count) blocks for \(symbolCount) symbols, \(symbols) per block, \(blockType)")
            }
        }
        let text = Self.textLike(6000, seed: 8)
        let runs = (1...300).flatMap { [UInt8](repeating: UInt8($0 % 7), count: $0) }
        for (chain, nice, lazy) in [(1, 3, 0), (1, 258, 258), (4, 8, 4), (4096, 258, 258), (0, 0, 0)] {
            let options = Deflate.Options(maximumChainLength: chain, niceLength: nice, lazyLength: lazy)
            for (name, bytes) in [("text", text), ("max distance", Self.maximumDistanceData()), ("runs", runs)] {
                try roundTrip(bytes, options, "\(name), chain \(chain), nice \(nice), lazy \(lazy)")
            }
        }
    }

    func testCompressionFindsLongAndDistantMatches() throws {
        // 100k zeros: one literal, then matches of 258 at distance 1.
        let (zerosStream, zeros) = try roundTrip([UInt8](repeating: 0, count: 100_000), .default, "zeros")
        XCTAssertEqual(zeros.longestLength, 258)
        XCTAssertEqual(zeros.longestDistance, 1)
        XCTAssertLessThan(zerosStream.count, 200, "100k zeros compress to a few hundred bits")

        // The only repeat is 258 bytes from exactly 32 768 back: it must be found, at the window's edge.
        let (_, distant) = try roundTrip(Self.maximumDistanceData(), .default, "max distance")
        XCTAssertEqual(distant.longestDistance, 32_768)
        XCTAssertEqual(distant.longestLength, 258)
        // One byte further than the window: no such match is possible.
        let random = Self.randomBytes(40_000, seed: 11)
        let tooFar = random + random[40_000 - 32_769..<40_000 - 32_769 + 258]
        let (_, far) = try roundTrip(tooFar, Deflate.Options(blockType: .fixed), "32 769 back")
        XCTAssertLessThan(far.longestLength, 258)
        XCTAssertLessThanOrEqual(far.longestDistance, 32_768)

        // Text compresses well with dynamic codes; random data falls back to stored blocks with little overhead.
        let text = Self.textLike(60_000, seed: 2)
        let (textStream, textResult) = try roundTrip(text, .default, "text")
        XCTAssertLessThan(textStream.count, text.count / 3)
        XCTAssertTrue(textResult.blocks.contains { $0.type == 2 })
        let noise = Self.randomBytes(70_000, seed: 1)
        let (noiseStream, noiseResult) = try roundTrip(noise, .default, "random")
        XCTAssertLessThanOrEqual(noiseStream.count, noise.count + noise.count / 1000 + 32)
        XCTAssertEqual(Set(noiseResult.blocks.map(\.type)), [0])
    }

    func testHuffmanLengthsAreCompleteAndLimited() {
        // Fibonacci frequencies would need codes ~30 bits long without the limit.
        var fibonacci = [1, 1]
        while fibonacci.count < 30 { fibonacci.append(fibonacci[fibonacci.count - 1] + fibonacci[fibonacci.count - 2]) }
        let cases: [([Int], Int)] = [(fibonacci, 15), (fibonacci, 7), (Array(fibonacci.prefix(19)), 7), ([5, 0], 15), ([0, 0, 3], 15),
                                     ([0, 0, 0], 15), ([1, 1], 1), ([3, 1, 1, 1], 2), (Array(repeating: 1, count: 286), 15),
                                     ((0..<286).map { $0 * $0 % 97 }, 15)]
        for (frequencies, limit) in cases {
            let lengths = Deflate.huffmanLengths(frequencies, limit: limit)
            XCTAssertEqual(lengths.count, frequencies.count)
            XCTAssertLessThanOrEqual(Int(lengths.max() ?? 0), limit, "\(frequencies)")
            for (symbol, frequency) in frequencies.enumerated() where frequency > 0 {
                XCTAssertGreaterThan(lengths[symbol], 0, "used symbol \(symbol) has no code")
            }
            // Complete: Kraft sum exactly 1, with at least two codes.
            let kraft = lengths.filter { $0 > 0 }.reduce(0.0) { $0 + pow(2.0, -Double($1)) }
            XCTAssertEqual(kraft, 1.0, "\(frequencies) → \(lengths)")
            XCTAssertGreaterThanOrEqual(lengths.filter { $0 > 0 }.count, 2)
        }
        // Unlimited, the lengths are Huffman's: the known optimum for a small case.
        XCTAssertEqual(Deflate.huffmanLengths([10, 1, 1, 2, 5], limit: 15), [1, 4, 4, 3, 2])
        // Canonical codes of RFC 1951 §3.2.2's example (bit-reversed for LSB-first output).
        let codes = Deflate.canonicalCodes([3, 3, 3, 3, 3, 2, 4, 4])
        let expected = [0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111]
        let reversed = zip(expected, [3, 3, 3, 3, 3, 2, 4, 4]).map { code, length in
            (0..<length).reduce(0) { $0 | (code >> $1 & 1) << (length - 1 - $1) }
        }
        XCTAssertEqual(codes.map(Int.init), reversed)
    }

    func testDistanceAndLengthCodesMatchTheRFCTables() {
        for distance in 1...32_768 {
            let code = Deflate.distanceCode(distance)
            XCTAssertTrue((0..<30).contains(code))
            let base = Deflate.distanceBase[code]
            XCTAssertTrue(base <= distance && distance < base + (1 << Deflate.distanceExtraBits[code]), "distance \(distance)")
        }
        for length in 3...258 {
            let code = Int(Deflate.lengthCodeIndex[length])
            let base = Deflate.lengthBase[code]
            XCTAssertTrue(base <= length && length < base + (1 << Deflate.lengthExtraBits[code]), "length \(length)")
            if length == 258 { XCTAssertEqual(code, 28) }
        }
        XCTAssertEqual(Deflate.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
    }

    /// Python's zlib inflates every stream; and our test inflater decodes what Python's zlib compresses, which
    /// checks the checker against a reference encoder.
    func testPythonZlibAgrees() throws {
        guard let python = findPython3() else { throw XCTSkip("python3 not found") }
        let directory = try makeTemporaryDirectory(self)
        let corpus = Self.corpus()
        var index = 0
        for (_, bytes) in corpus {
            for options in [Deflate.Options.default, Deflate.Options(blockType: .fixed), Deflate.Options(blockType: .dynamic),
                            Deflate.Options(symbolsPerBlock: 500)] {
                try Data(bytes).write(to: directory.appendingPathComponent("\(index).raw"))
                try Data(Deflate.zlibCompress(bytes, options: options)).write(to: directory.appendingPathComponent("\(index).z"))
                index += 1
            }
        }
        let script = """
            import os, sys, zlib
            d, n = sys.argv[1], int(sys.argv[2])
            for i in range(n):
                raw = open(os.path.join(d, '%d.raw' % i), 'rb').read()
                z = open(os.path.join(d, '%d.z' % i), 'rb').read()
                assert zlib.decompress(z) == raw, i
                # The raw deflate stream too, with the strict streaming decompressor.
                o = zlib.decompressobj(-15)
                assert o.decompress(z[2:-4]) + o.flush() == raw and o.eof and o.unused_data == b'', i
                for level in (1, 6, 9):
                    open(os.path.join(d, '%d.py%d' % (i, level)), 'wb').write(zlib.compress(raw, level))
            print('ok', n)
            """
        let (status, output) = try runPython(python, script, [directory.path, String(index)])
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "ok \(index)")
        for file in 0..<index where file % 4 == 0 {
            let raw = try [UInt8](Data(contentsOf: directory.appendingPathComponent("\(file).raw")))
            for level in [1, 6, 9] {
                let stream = try [UInt8](Data(contentsOf: directory.appendingPathComponent("\(file).py\(level)")))
                XCTAssertTrue(try TestInflater.inflateZlib(stream).output == raw, "python level \(level), file \(file)")
            }
        }
    }

    func testInflaterRejectsCorruptStreams() throws {
        let text = Self.textLike(5000, seed: 9)
        let stream = Deflate.zlibCompress(text)
        XCTAssertNoThrow(try TestInflater.inflateZlib(stream))
        var badAdler = stream
        badAdler[badAdler.count - 1] ^= 1
        XCTAssertThrowsError(try TestInflater.inflateZlib(badAdler))
        XCTAssertThrowsError(try TestInflater.inflateZlib(Array(stream.dropLast())))
        XCTAssertThrowsError(try TestInflater.inflateZlib(stream + [0]))
        var badHeader = stream
        badHeader[1] ^= 1
        XCTAssertThrowsError(try TestInflater.inflateZlib(badHeader))
        // Flipping bits inside the data: caught by the decoder or by Adler-32, never silently accepted.
        for offset in stride(from: 3, to: stream.count - 4, by: max(1, stream.count / 40)) {
            var corrupt = stream
            corrupt[offset] ^= 0x10
            XCTAssertThrowsError(try TestInflater.inflateZlib(corrupt), "offset \(offset)")
        }
    }
}
