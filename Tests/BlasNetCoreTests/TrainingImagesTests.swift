@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import SwiftKernels
import SwiftKernelsAVX2
import SwiftKernelsAVX512
import XCTest

final class TrainingImagesTests: XCTestCase {
    /// `count` images made from pixel bytes, as the MNIST loader makes them (every level 0…255 appears).
    private func byteFormImages(count: Int) -> LabeledImages {
        let bytes = (0..<(count * LabeledImages.mnistPixelCount)).map { UInt8(($0 &* 7919) % 256) }
        return try! LabeledImages(pixelBytes: bytes, width: 784, labels: (0..<count).map { $0 % 2 })
    }

    private func gathered(_ store: TrainingImages, rows: [Int]) -> [Float] {
        var batch = [Float](repeating: .nan, count: rows.count * store.width)
        batch.withUnsafeMutableBufferPointer { store.gather(rows: rows[...], into: $0.baseAddress!) }
        return batch
    }

    private func expectedRows(_ data: LabeledImages, rows: [Int]) -> [Float] {
        rows.flatMap { data.images[($0 * LabeledImages.mnistPixelCount)..<(($0 + 1) * LabeledImages.mnistPixelCount)] }
    }

    func testByteFormImagesAreGatheredFromBytesBitForBit() {
        let data = byteFormImages(count: 5)
        let store = TrainingImages(data)
        XCTAssertTrue(store.gathersBytes)
        // The floats the bytes stand for are the loader's: Float(k) / 255, bit for bit.
        XCTAssertEqual(data.images.map(\.bitPattern), data.pixelBytes!.map { (Float($0) / 255).bitPattern })
        let rows = [3, 0, 4, 4, 1]
        XCTAssertEqual(gathered(store, rows: rows).map(\.bitPattern), expectedRows(data, rows: rows).map(\.bitPattern))
    }

    /// A column range of the rows (the parallel step's share of the first layer's inputs) is exactly those
    /// columns of the whole rows, from bytes and from floats, including empty and one-column ranges.
    func testColumnsOfRowsAreTheWholeRowsColumns() throws {
        let bytes = byteFormImages(count: 5)
        var floatPixels = bytes.images
        floatPixels[7] = 0.5  // not a byte level: gathered from the floats
        let floats = try LabeledImages(images: floatPixels, width: 784, labels: bytes.labels)
        let rows = [3, 0, 4, 4, 1]
        for data in [bytes, floats] {
            let store = TrainingImages(data)
            let whole = gathered(store, rows: rows)
            for columns in [0..<784, 0..<392, 392..<784, 100..<101, 5..<5] {
                var part = [Float](repeating: .nan, count: max(1, rows.count * columns.count))
                part.withUnsafeMutableBufferPointer { store.gather(rows: rows[...], columns: columns, into: $0.baseAddress!) }
                let expected = rows.indices.flatMap { row in whole[(row * 784 + columns.lowerBound)..<(row * 784 + columns.upperBound)] }
                XCTAssertEqual(Array(part.prefix(rows.count * columns.count)).map(\.bitPattern), expected.map(\.bitPattern),
                               "columns \(columns), from \(store.gathersBytes ? "bytes" : "floats")")
            }
        }
    }

    func testRealMNISTIsGatheredFromBytes() throws {
        let (train, _) = try RealData.zeroVersusOne()
        let store = TrainingImages(train)
        XCTAssertTrue(store.gathersBytes, "the loader keeps the pixel bytes")
        let rows = [train.count - 1, 0, 17, 4242]
        XCTAssertEqual(gathered(store, rows: rows).map(\.bitPattern), expectedRows(train, rows: rows).map(\.bitPattern))
    }

    func testImagesGivenAsFloatsAreGatheredAsFloats() throws {
        // Images given as floats (here k/255 but for one pixel, which may be anything) have no bytes.
        for odd: Float in [0.5, -0.0, .nan, 256 / 255, -1 / 255, Float(1) / 255 + .ulpOfOne] {
            var pixels = byteFormImages(count: 3).images
            pixels[1000] = odd
            let data = try LabeledImages(images: pixels, width: 784, labels: [0, 1, 0])
            let store = TrainingImages(data)
            XCTAssertFalse(store.gathersBytes, "pixel \(odd)")
            XCTAssertEqual(gathered(store, rows: [1, 2, 0]).map(\.bitPattern),
                           expectedRows(data, rows: [1, 2, 0]).map(\.bitPattern), "pixel \(odd)")
        }
    }

    func testBothPixelScalingBuildsDivideEveryByteBy255() {
        // Every byte value, at lengths around the 8-lane blocks, in the portable build and (where this CPU
        // runs them) the AVX2 and AVX-512 ones; against Float(k) / 255, the loader's expression.
        var builds = [("portable", scalePixelBytesBaseline)]
        if CPUFeatures.current.hasAVX2FMA { builds.append(("avx2", scalePixelBytesAVX2)) }
        if CPUFeatures.current.hasAVX512 { builds.append(("avx512", scalePixelBytesAVX512)) }
        let bytes = (0..<300).map { UInt8($0 % 256) }
        for (name, scale) in builds {
            for count in Array(0...17) + [23, 256, 299, 300] {
                var output = [Float](repeating: .nan, count: count)
                bytes.withUnsafeBufferPointer { source in
                    output.withUnsafeMutableBufferPointer { scale(source.baseAddress!, $0.baseAddress!, count) }
                }
                XCTAssertEqual(output.map(\.bitPattern), bytes.prefix(count).map { (Float($0) / 255).bitPattern },
                               "\(name), count \(count)")
            }
        }
    }
}
