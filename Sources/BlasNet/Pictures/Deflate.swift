import Foundation

/// Deflate (RFC 1951) and zlib (RFC 1950) compression in pure Swift, for the PNG writer.
///
/// LZ77 with hash chains (32 KiB window, matches of 3…258 bytes, a bounded number of candidates per position,
/// one-step lazy matching as zlib does), then Huffman coding. The input is cut into blocks of
/// `Options.symbolsPerBlock` LZ77 symbols; each block is written as whichever of stored, fixed-Huffman or
/// dynamic-Huffman is smallest (or the type `Options.blockType` forces).
public enum Deflate {
    /// The block types of RFC 1951 §3.2.3, or `automatic`: the smallest of the three for every block.
    public enum BlockType: Sendable, Equatable {
        case automatic
        /// Uncompressed (BTYPE 00), no LZ77: blocks of exactly `maximumStoredBlockLength` bytes but the last.
        case stored
        /// Fixed Huffman codes (BTYPE 01).
        case fixed
        /// Dynamic Huffman codes (BTYPE 10).
        case dynamic
    }

    public struct Options: Sendable, Equatable {
        /// Most hash-chain candidates examined per position (zlib level 6: 128).
        public var maximumChainLength: Int
        /// A match at least this long stops the search (zlib level 6: 128).
        public var niceLength: Int
        /// Once a match is this long the next position is not searched for a longer one (zlib level 6: 16).
        public var lazyLength: Int
        /// LZ77 symbols per deflate block (each block gets its own Huffman codes).
        public var symbolsPerBlock: Int
        public var blockType: BlockType

        public init(maximumChainLength: Int = 128, niceLength: Int = 128, lazyLength: Int = 16,
                    symbolsPerBlock: Int = 32_768, blockType: BlockType = .automatic) {
            self.maximumChainLength = maximumChainLength
            self.niceLength = niceLength
            self.lazyLength = lazyLength
            self.symbolsPerBlock = symbolsPerBlock
            self.blockType = blockType
        }

        public static let `default` = Options()
        /// Stored blocks only: no compression at all.
        public static let stored = Options(blockType: .stored)
    }

    /// The most a stored block can hold.
    public static let maximumStoredBlockLength = 65_535
    /// Longest back-reference distance.
    public static let windowSize = 32_768
    public static let minimumMatch = 3
    public static let maximumMatch = 258

    // MARK: zlib

    /// A zlib stream (RFC 1950): header, the deflate stream of `bytes`, Adler-32.
    public static func zlibCompress(_ bytes: [UInt8], options: Options = .default) -> [UInt8] {
        // CMF 0x78: deflate, 32 KiB window. FLG: no dictionary, FLEVEL 0 (stored) or 2 (default), FCHECK so
        // that CMF·256 + FLG is a multiple of 31.
        var stream: [UInt8] = options.blockType == .stored ? [0x78, 0x01] : [0x78, 0x9C]
        stream += compress(bytes, options: options)
        let checksum = adler32(bytes)
        stream += [UInt8(checksum >> 24), UInt8((checksum >> 16) & 0xFF), UInt8((checksum >> 8) & 0xFF),
                   UInt8(checksum & 0xFF)]
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

    // MARK: Deflate

    /// The raw deflate stream (RFC 1951) of `bytes`.
    public static func compress(_ bytes: [UInt8], options: Options = .default) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes.reserveCapacity(options.blockType == .stored ? bytes.count + bytes.count / 65_535 * 5 + 8
                                                                   : bytes.count / 8 + 64)
        bytes.withUnsafeBufferPointer { input in
            if options.blockType == .stored {
                writeStoredBlocks(input, 0..<input.count, isFinal: true, to: &writer)
            } else {
                LZ77.run(input, options: options, writer: &writer)
            }
        }
        writer.flushToByte()
        return writer.bytes
    }

    // MARK: Bit output

    /// Bits are packed from the least significant bit of each byte up (RFC 1951 §3.1.1).
    struct BitWriter {
        var bytes: [UInt8] = []
        private var buffer: UInt64 = 0
        private var count = 0

        /// Appends the low `bitCount` (≤ 32) bits of `value`, least significant first.
        @inline(__always)
        mutating func write(_ value: UInt32, bits bitCount: Int) {
            buffer |= UInt64(value) << UInt64(count)
            count += bitCount
            if count >= 32 {
                let word = UInt32(truncatingIfNeeded: buffer)
                bytes.append(UInt8(truncatingIfNeeded: word))
                bytes.append(UInt8(truncatingIfNeeded: word >> 8))
                bytes.append(UInt8(truncatingIfNeeded: word >> 16))
                bytes.append(UInt8(truncatingIfNeeded: word >> 24))
                buffer >>= 32
                count -= 32
            }
        }

        /// Pads with zero bits to a byte boundary and moves every whole byte to `bytes`.
        mutating func flushToByte() {
            while count > 0 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                count = max(0, count - 8)
            }
            buffer = 0
        }

        /// Bits written so far.
        var bitCount: Int { bytes.count * 8 + count }
    }

    /// Stored blocks for `input[range]`, at most 65 535 bytes each; `isFinal` marks the last one BFINAL.
    static func writeStoredBlocks(_ input: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, isFinal: Bool,
                                  to writer: inout BitWriter) {
        var start = range.lowerBound
        repeat {
            let length = min(maximumStoredBlockLength, range.upperBound - start)
            let last = start + length == range.upperBound
            writer.write(isFinal && last ? 1 : 0, bits: 3)  // BFINAL, BTYPE 00
            writer.flushToByte()
            let length16 = UInt16(length)
            writer.bytes += [UInt8(length16 & 0xFF), UInt8(length16 >> 8), UInt8(~length16 & 0xFF), UInt8(~length16 >> 8)]
            writer.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<start + length]))
            start += length
        } while start < range.upperBound
    }

    // MARK: Code tables (RFC 1951 §3.2.5)

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
                                    115, 131, 163, 195, 227, 258]
    static let lengthExtraBits: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5,
                                         5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
                                      1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtraBits: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11,
                                           11, 12, 12, 13, 13]
    /// Length code index (0…28, symbol 257 + index) of every match length 0…258 (0…2 unused).
    static let lengthCodeIndex: [UInt8] = {
        var table = [UInt8](repeating: 0, count: maximumMatch + 1)
        for code in 0..<29 {
            let end = code == 28 ? 259 : min(259, lengthBase[code] + (1 << lengthExtraBits[code]))
            for length in lengthBase[code]..<end { table[length] = UInt8(code) }
        }
        table[258] = 28  // 258 has its own code; 227 + 31 = 258 would otherwise be code 27's
        return table
    }()

    /// Distance code (0…29) of a distance 1…32768.
    @inline(__always)
    static func distanceCode(_ distance: Int) -> Int {
        let d = distance - 1
        if d < 4 { return d }
        let log = Int.bitWidth - 1 - d.leadingZeroBitCount  // ≥ 2
        return 2 * log + ((d >> (log - 1)) & 1)
    }

    static let literalLengthSymbols = 286
    static let distanceSymbols = 30
    static let endOfBlock = 256
    /// Order of the code-length code lengths in a dynamic block header.
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Code lengths of the fixed Huffman codes.
    static let fixedLiteralLengths: [UInt8] = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }
    static let fixedDistanceLengths = [UInt8](repeating: 5, count: 30)
    static let fixedLiteralCodes = canonicalCodes(fixedLiteralLengths)
    static let fixedDistanceCodes = canonicalCodes(fixedDistanceLengths)

    // MARK: Huffman codes

    /// Lengths of an optimal prefix code for `frequencies`, none longer than `limit` (package limits by
    /// redistributing the Kraft sum as miniz does, then handing the shortest lengths to the most frequent
    /// symbols). Unused symbols get 0. At least two symbols always get a length (the extra ones with
    /// frequency 0), so that the code is complete, which strict inflaters (zlib) require.
    static func huffmanLengths(_ frequencies: [Int], limit: Int) -> [UInt8] {
        var lengths = [UInt8](repeating: 0, count: frequencies.count)
        var leaves = frequencies.indices.filter { frequencies[$0] > 0 }
        // Complete the code with unused symbols: the lowest-numbered ones.
        var filler = 0
        while leaves.count < 2 && filler < frequencies.count {
            if !leaves.contains(filler) { leaves.append(filler) }
            filler += 1
        }
        guard leaves.count >= 2 else { return lengths }  // an alphabet of one symbol: never happens in deflate
        leaves.sort { (frequencies[$0], $0) < (frequencies[$1], $1) }
        let leafCount = leaves.count

        // Huffman's algorithm with two queues: sorted leaves, and internal nodes in creation order (which
        // is also sorted). Nodes 0..<leafCount are the leaves, the rest internal; parents come later.
        var weight = [Int](repeating: 0, count: 2 * leafCount - 1)
        var parent = [Int](repeating: 0, count: 2 * leafCount - 1)
        for (index, symbol) in leaves.enumerated() { weight[index] = frequencies[symbol] }
        var nextLeaf = 0, nextInternal = leafCount, created = leafCount
        func takeSmallest() -> Int {
            if nextLeaf < leafCount && (nextInternal >= created || weight[nextLeaf] <= weight[nextInternal]) {
                nextLeaf += 1
                return nextLeaf - 1
            }
            nextInternal += 1
            return nextInternal - 1
        }
        for _ in 0..<leafCount - 1 {
            let first = takeSmallest(), second = takeSmallest()
            weight[created] = weight[first] + weight[second]
            parent[first] = created
            parent[second] = created
            created += 1
        }
        var depth = [Int](repeating: 0, count: 2 * leafCount - 1)
        var countOfLength = [Int](repeating: 0, count: max(limit, leafCount) + 1)
        for node in stride(from: 2 * leafCount - 3, through: 0, by: -1) {
            depth[node] = depth[parent[node]] + 1
            if node < leafCount { countOfLength[depth[node]] += 1 }
        }

        // Limit the lengths: move every length above `limit` to `limit`, then, while the code is
        // oversubscribed, drop one code of length `limit` and split a shorter one in two.
        for length in stride(from: countOfLength.count - 1, to: limit, by: -1) {
            countOfLength[limit] += countOfLength[length]
            countOfLength[length] = 0
        }
        var kraft = 0  // in units of 2^-limit
        for length in 1...limit { kraft += countOfLength[length] << (limit - length) }
        while kraft > 1 << limit {
            countOfLength[limit] -= 1
            for length in stride(from: limit - 1, through: 1, by: -1) where countOfLength[length] > 0 {
                countOfLength[length] -= 1
                countOfLength[length + 1] += 2
                break
            }
            kraft -= 1
        }

        // The least frequent leaves get the longest codes.
        var leaf = 0
        for length in stride(from: limit, through: 1, by: -1) {
            for _ in 0..<countOfLength[length] {
                lengths[leaves[leaf]] = UInt8(length)
                leaf += 1
            }
        }
        return lengths
    }

    /// Canonical Huffman codes (RFC 1951 §3.2.2) for `lengths`, bit-reversed so that `BitWriter` (least
    /// significant bit first) sends them most significant bit first.
    static func canonicalCodes(_ lengths: [UInt8]) -> [UInt16] {
        var countOfLength = [Int](repeating: 0, count: 16)
        for length in lengths where length > 0 { countOfLength[Int(length)] += 1 }
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1..<16 {
            code = (code + countOfLength[length - 1]) << 1
            nextCode[length] = code
        }
        return lengths.map { length in
            guard length > 0 else { return 0 }
            let value = nextCode[Int(length)]
            nextCode[Int(length)] += 1
            var reversed = 0
            for bit in 0..<Int(length) where value >> bit & 1 == 1 { reversed |= 1 << (Int(length) - 1 - bit) }
            return UInt16(reversed)
        }
    }

    // MARK: Blocks

    /// One block's LZ77 symbols (a literal is its byte; a match is `distance << 16 | length`) and their
    /// frequencies, end-of-block not included.
    struct Block {
        let symbols: UnsafeBufferPointer<UInt32>
        let literalFrequencies: [Int]
        let distanceFrequencies: [Int]
    }

    /// The dynamic-block header: run-length-coded code lengths and the code-length code.
    private struct DynamicHeader {
        let literalCount: Int  // HLIT + 257
        let distanceCount: Int  // HDIST + 1
        let codeLengthLengths: [UInt8]
        let codeLengthCodes: [UInt16]
        let codeLengthCount: Int  // HCLEN + 4
        /// Code-length symbols (0…18) and their extra-bit values.
        let runs: [(symbol: Int, extra: Int)]

        init(literalLengths: [UInt8], distanceLengths: [UInt8]) {
            var literalCount = 286
            while literalCount > 257 && literalLengths[literalCount - 1] == 0 { literalCount -= 1 }
            var distanceCount = 30
            while distanceCount > 1 && distanceLengths[distanceCount - 1] == 0 { distanceCount -= 1 }
            self.literalCount = literalCount
            self.distanceCount = distanceCount
            // Literal/length and distance lengths form one sequence; runs may cross from one to the other.
            let sequence = Array(literalLengths[0..<literalCount]) + Array(distanceLengths[0..<distanceCount])
            var runs: [(symbol: Int, extra: Int)] = []
            var index = 0
            while index < sequence.count {
                let value = sequence[index]
                var run = 1
                while index + run < sequence.count && sequence[index + run] == value { run += 1 }
                index += run
                if value == 0 {
                    while run >= 11 { let n = min(run, 138); runs.append((18, n - 11)); run -= n }
                    if run >= 3 { runs.append((17, run - 3)); run = 0 }
                } else {
                    runs.append((Int(value), 0))
                    run -= 1
                    while run >= 3 { let n = min(run, 6); runs.append((16, n - 3)); run -= n }
                }
                for _ in 0..<run { runs.append((Int(value), 0)) }
            }
            self.runs = runs
            var frequencies = [Int](repeating: 0, count: 19)
            for run in runs { frequencies[run.symbol] += 1 }
            codeLengthLengths = Deflate.huffmanLengths(frequencies, limit: 7)
            codeLengthCodes = Deflate.canonicalCodes(codeLengthLengths)
            var codeLengthCount = 19
            while codeLengthCount > 4 && codeLengthLengths[Deflate.codeLengthOrder[codeLengthCount - 1]] == 0 {
                codeLengthCount -= 1
            }
            self.codeLengthCount = codeLengthCount
        }

        /// Bits of the header after BFINAL/BTYPE.
        var bitCount: Int {
            var bits = 5 + 5 + 4 + 3 * codeLengthCount
            for run in runs {
                bits += Int(codeLengthLengths[run.symbol])
                bits += run.symbol == 16 ? 2 : run.symbol == 17 ? 3 : run.symbol == 18 ? 7 : 0
            }
            return bits
        }

        func write(to writer: inout BitWriter) {
            writer.write(UInt32(literalCount - 257), bits: 5)
            writer.write(UInt32(distanceCount - 1), bits: 5)
            writer.write(UInt32(codeLengthCount - 4), bits: 4)
            for index in 0..<codeLengthCount {
                writer.write(UInt32(codeLengthLengths[Deflate.codeLengthOrder[index]]), bits: 3)
            }
            for run in runs {
                writer.write(UInt32(codeLengthCodes[run.symbol]), bits: Int(codeLengthLengths[run.symbol]))
                switch run.symbol {
                case 16: writer.write(UInt32(run.extra), bits: 2)
                case 17: writer.write(UInt32(run.extra), bits: 3)
                case 18: writer.write(UInt32(run.extra), bits: 7)
                default: break
                }
            }
        }
    }

    /// Writes `block` (which covers `input[range]`) as the smallest allowed block type.
    static func writeBlock(_ block: Block, input: UnsafeBufferPointer<UInt8>, range: Range<Int>, isFinal: Bool,
                           blockType: BlockType, to writer: inout BitWriter) {
        var literalFrequencies = block.literalFrequencies
        literalFrequencies[endOfBlock] += 1
        precondition(literalFrequencies.count == literalLengthSymbols && block.distanceFrequencies.count == distanceSymbols)
        let distanceFrequencies = block.distanceFrequencies

        // Costs in bits, without the 3-bit block header.
        var extraBits = 0
        for code in 0..<29 { extraBits += literalFrequencies[257 + code] * lengthExtraBits[code] }
        for code in 0..<30 { extraBits += distanceFrequencies[code] * distanceExtraBits[code] }
        func dataBits(_ literalLengths: [UInt8], _ distanceLengths: [UInt8]) -> Int {
            var bits = extraBits
            for symbol in 0..<literalLengthSymbols { bits += literalFrequencies[symbol] * Int(literalLengths[symbol]) }
            for symbol in 0..<distanceSymbols { bits += distanceFrequencies[symbol] * Int(distanceLengths[symbol]) }
            return bits
        }
        let fixedBits = dataBits(fixedLiteralLengths, fixedDistanceLengths)
        let literalLengths = huffmanLengths(literalFrequencies, limit: 15)
        let distanceLengths = huffmanLengths(distanceFrequencies, limit: 15)
        let header = DynamicHeader(literalLengths: literalLengths, distanceLengths: distanceLengths)
        let dynamicBits = header.bitCount + dataBits(literalLengths, distanceLengths)
        let storedBlocks = max(1, (range.count + maximumStoredBlockLength - 1) / maximumStoredBlockLength)
        let storedBits = 8 * range.count + storedBlocks * (32 + 8) + 8  // header, padding, LEN/NLEN

        var chosen = blockType
        if chosen == .automatic {
            chosen = storedBits < min(fixedBits, dynamicBits) ? .stored : fixedBits <= dynamicBits ? .fixed : .dynamic
        }
        switch chosen {
        case .stored, .automatic:
            writeStoredBlocks(input, range, isFinal: isFinal, to: &writer)
        case .fixed:
            writer.write(isFinal ? 0b011 : 0b010, bits: 3)
            writeSymbols(block, literalLengths: fixedLiteralLengths, literalCodes: fixedLiteralCodes,
                         distanceLengths: fixedDistanceLengths, distanceCodes: fixedDistanceCodes, to: &writer)
        case .dynamic:
            writer.write(isFinal ? 0b101 : 0b100, bits: 3)
            header.write(to: &writer)
            writeSymbols(block, literalLengths: literalLengths, literalCodes: canonicalCodes(literalLengths),
                         distanceLengths: distanceLengths, distanceCodes: canonicalCodes(distanceLengths), to: &writer)
        }
    }

    /// The block's symbols and end-of-block in the given codes.
    private static func writeSymbols(_ block: Block, literalLengths: [UInt8], literalCodes: [UInt16],
                                     distanceLengths: [UInt8], distanceCodes: [UInt16], to writer: inout BitWriter) {
        let lengthCodeIndex = Self.lengthCodeIndex, lengthBase = Self.lengthBase, lengthExtraBits = Self.lengthExtraBits
        let distanceBase = Self.distanceBase, distanceExtraBits = Self.distanceExtraBits
        for symbol in block.symbols {
            let distance = Int(symbol >> 16)
            if distance == 0 {
                writer.write(UInt32(literalCodes[Int(symbol)]), bits: Int(literalLengths[Int(symbol)]))
                continue
            }
            let length = Int(symbol & 0xFFFF)
            let lengthCode = Int(lengthCodeIndex[length])
            writer.write(UInt32(literalCodes[257 + lengthCode]), bits: Int(literalLengths[257 + lengthCode]))
            writer.write(UInt32(length - lengthBase[lengthCode]), bits: lengthExtraBits[lengthCode])
            let distanceCode = Self.distanceCode(distance)
            writer.write(UInt32(distanceCodes[distanceCode]), bits: Int(distanceLengths[distanceCode]))
            writer.write(UInt32(distance - distanceBase[distanceCode]), bits: distanceExtraBits[distanceCode])
        }
        writer.write(UInt32(literalCodes[endOfBlock]), bits: Int(literalLengths[endOfBlock]))
    }

    // MARK: LZ77

    enum LZ77 {
        static let hashBits = 15
        /// `previous` is indexed by position modulo 65 536 — twice the window, so a candidate within the
        /// window never finds its slot overwritten by a newer position, and every chain strictly decreases.
        static let previousMask = 0xFFFF

        @inline(__always)
        static func hash(_ input: UnsafePointer<UInt8>, _ position: Int) -> Int {
            let value = UInt32(input[position]) | UInt32(input[position + 1]) << 8 | UInt32(input[position + 2]) << 16
            return Int((value &* 0x9E37_79B1) >> UInt32(32 - hashBits))
        }

        /// Length of the common prefix of `input[a...]` and `input[b...]`, at most `limit`.
        @inline(__always)
        static func commonPrefix(_ input: UnsafePointer<UInt8>, _ a: Int, _ b: Int, limit: Int) -> Int {
            var length = 0
            let raw = UnsafeRawPointer(input)
            while length + 8 <= limit {
                let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: a + length, as: UInt64.self))
                let y = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: b + length, as: UInt64.self))
                if x != y { return length + (x ^ y).trailingZeroBitCount >> 3 }
                length += 8
            }
            while length < limit && input[a + length] == input[b + length] { length += 1 }
            return length
        }

        static func run(_ buffer: UnsafeBufferPointer<UInt8>, options: Options, writer: inout BitWriter) {
            let count = buffer.count
            let capacity = max(1, options.symbolsPerBlock)
            let symbols = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
            let literalFrequencies = UnsafeMutablePointer<Int>.allocate(capacity: literalLengthSymbols)
            let distanceFrequencies = UnsafeMutablePointer<Int>.allocate(capacity: distanceSymbols)
            defer {
                symbols.deallocate()
                literalFrequencies.deallocate()
                distanceFrequencies.deallocate()
            }
            literalFrequencies.initialize(repeating: 0, count: literalLengthSymbols)
            distanceFrequencies.initialize(repeating: 0, count: distanceSymbols)
            let lengthCodeIndex = Deflate.lengthCodeIndex
            var symbolCount = 0
            var blockStart = 0, covered = 0  // the current block covers buffer[blockStart..<covered]

            @inline(__always) func emitLiteral(_ byte: UInt8) {
                symbols[symbolCount] = UInt32(byte)
                symbolCount += 1
                literalFrequencies[Int(byte)] += 1
                covered += 1
            }
            @inline(__always) func emitMatch(length: Int, distance: Int) {
                symbols[symbolCount] = UInt32(distance) << 16 | UInt32(length)
                symbolCount += 1
                literalFrequencies[257 + Int(lengthCodeIndex[length])] += 1
                distanceFrequencies[distanceCode(distance)] += 1
                covered += length
            }
            func flushIfFull(isFinal: Bool) {
                guard isFinal || symbolCount == capacity else { return }
                let block = Block(
                    symbols: UnsafeBufferPointer(start: symbols, count: symbolCount),
                    literalFrequencies: Array(UnsafeBufferPointer(start: literalFrequencies, count: literalLengthSymbols)),
                    distanceFrequencies: Array(UnsafeBufferPointer(start: distanceFrequencies, count: distanceSymbols)))
                writeBlock(block, input: buffer, range: blockStart..<covered, isFinal: isFinal,
                           blockType: options.blockType, to: &writer)
                symbolCount = 0
                blockStart = covered
                literalFrequencies.update(repeating: 0, count: literalLengthSymbols)
                distanceFrequencies.update(repeating: 0, count: distanceSymbols)
            }

            if count >= minimumMatch, let input = buffer.baseAddress {
                let head = UnsafeMutablePointer<Int>.allocate(capacity: 1 << hashBits)
                let previous = UnsafeMutablePointer<Int>.allocate(capacity: previousMask + 1)
                defer {
                    head.deallocate()
                    previous.deallocate()
                }
                head.initialize(repeating: -1, count: 1 << hashBits)
                previous.initialize(repeating: -1, count: previousMask + 1)
                @inline(__always) func insert(_ position: Int) -> Int {
                    let h = hash(input, position)
                    let candidate = head[h]
                    previous[position & previousMask] = candidate
                    head[h] = position
                    return candidate
                }
                let maximumChain = max(1, options.maximumChainLength)
                let niceLength = min(max(options.niceLength, minimumMatch), maximumMatch)
                let lazyLength = options.lazyLength
                let lastHashable = count - minimumMatch  // later positions have no 3-byte string to hash

                // zlib's lazy evaluation: a match found at `position - 1` is emitted only if `position` has
                // no longer one; otherwise `position - 1` becomes a literal.
                var position = 0
                var pendingLength = 0, pendingDistance = 0
                var hasPending = false  // input[position - 1] is not emitted yet
                while position < count {
                    var length = 0, distance = 0
                    if position <= lastHashable {
                        var candidate = insert(position)
                        if !hasPending || pendingLength < lazyLength {
                            let limit = min(maximumMatch, count - position)
                            var best = hasPending ? max(pendingLength, minimumMatch - 1) : minimumMatch - 1
                            var chain = hasPending && pendingLength >= 8 ? max(1, maximumChain >> 2) : maximumChain
                            while candidate >= 0 && position - candidate <= windowSize && chain > 0 && best < limit {
                                // Cheap rejection: the byte that would make this match longer than `best`.
                                if input[candidate + best] == input[position + best] {
                                    let matched = commonPrefix(input, candidate, position, limit: limit)
                                    if matched > best {
                                        best = matched
                                        length = matched
                                        distance = position - candidate
                                        if matched >= niceLength { break }
                                    }
                                }
                                candidate = previous[candidate & previousMask]
                                chain -= 1
                            }
                            // A 3-byte match far away costs about as much as three literals.
                            if length == minimumMatch && distance > 4096 { length = 0 }
                        }
                    }
                    if hasPending && pendingLength >= minimumMatch && length <= pendingLength {
                        // The match at position - 1 wins; its bytes after `position` go into the hash chains.
                        emitMatch(length: pendingLength, distance: pendingDistance)
                        let end = position - 1 + pendingLength
                        var next = position + 1
                        while next < end && next <= lastHashable {
                            _ = insert(next)
                            next += 1
                        }
                        position = end
                        hasPending = false
                        pendingLength = 0
                        flushIfFull(isFinal: false)
                    } else {
                        if hasPending {
                            emitLiteral(input[position - 1])
                            flushIfFull(isFinal: false)
                        }
                        hasPending = true
                        pendingLength = length
                        pendingDistance = distance
                        position += 1
                    }
                }
                // A match pending at count - 1 would be at most 1 byte long: only a literal can be left.
                if hasPending { emitLiteral(input[count - 1]) }
            } else {
                for byte in buffer {
                    emitLiteral(byte)
                    flushIfFull(isFinal: false)
                }
            }
            flushIfFull(isFinal: true)
        }
    }
}
