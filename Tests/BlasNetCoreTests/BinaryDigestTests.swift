@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

/// Two-class training must stay bit for bit what it was before the network became general (any sizes,
/// 2–10 classes): the digests below were computed on `main` at 83c501d, before that change, with the
/// same seed, engine and one thread. A changed digest means the default model trains differently.
/// The Swift engine's digests hold on every x86_64 CPU with AVX2 + FMA (the AVX-512 build of the kernels
/// computes the same numbers bit for bit); OpenBLAS picks its kernels per CPU family, so its digests are checked on
/// the family they were recorded on ("Zen") and reported, not checked, elsewhere.
final class BinaryDigestTests: XCTestCase {
    private static let recordedOpenBLASCore = "Zen"

    private func checkOpenBLAS(_ digest: String, _ expected: String, _ what: String) {
        if OpenBLASEngine.core.name == Self.recordedOpenBLASCore {
            XCTAssertEqual(digest, expected, what)
        } else {
            print("\(what): OpenBLAS core \(OpenBLASEngine.core.name), digests were recorded on "
                  + "\(Self.recordedOpenBLASCore): got \(digest), not compared")
        }
    }

    private func checkSwift(_ digest: String, _ expected: String, _ what: String) throws {
        guard KernelSet.current.usesFMA else {
            throw XCTSkip("\(what): digests were recorded with the AVX2 + FMA kernels; this CPU runs \(KernelSet.current.name)")
        }
        XCTAssertEqual(digest, expected, what)
    }

    /// FNV-1a 64 over the parameters' bit patterns, in order.
    private func digest(_ values: [Float]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in values {
            var bits = value.bitPattern
            for _ in 0..<4 {
                hash = (hash ^ UInt64(bits & 0xFF)) &* 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        return String(hash, radix: 16)
    }

    private func synthetic(count: Int) -> LabeledImages {
        var generator = SeededGenerator(seed: 3)
        var images: [Float] = [], labels: [Int] = []
        for index in 0..<count {
            labels.append(index % 2)
            for pixel in 0..<784 {
                let bright = (pixel % 28 < 14) == (index % 2 == 1)
                images.append(min(1, (bright ? 0.6 : 0.1) + generator.nextUnitFloat() * 0.3))
            }
        }
        return try! LabeledImages(images: images, width: 784, labels: labels)
    }

    private func trainedDigest(_ kind: ModelKind, _ engine: ComputeEngine, train: LabeledImages, test: LabeledImages,
                               epochs: Int) throws -> String {
        let trainer = try Trainer(configuration: TrainingConfiguration(model: kind, epochs: epochs, batchSize: 32),
                                  engine: engine)
        _ = try trainer.train(on: train, test: test)
        return digest(trainer.network.parameters.array)
    }

    func testSyntheticTwoClassTrainingIsUnchanged() throws {
        let data = synthetic(count: 200)
        let dense = try trainedDigest(.dense, OpenBLASEngine(threads: 1), train: data, test: data, epochs: 2)
        let sigmoid = try trainedDigest(.sigmoid, SwiftEngine(threads: 1), train: data, test: data, epochs: 2)
        checkOpenBLAS(dense, "3578198ddfe8fe07", "synthetic dense on OpenBLAS")
        try checkSwift(sigmoid, "22220aaab1e12767", "synthetic sigmoid on Swift")
    }

    func testRealZeroVersusOneAfterOneEpochIsUnchanged() throws {
        let (train, test) = try RealData.zeroVersusOne()
        let dense = try trainedDigest(.dense, OpenBLASEngine(threads: 1), train: train, test: test, epochs: 1)
        let sigmoid = try trainedDigest(.sigmoid, SwiftEngine(threads: 1), train: train, test: test, epochs: 1)
        checkOpenBLAS(dense, "fa2b774c4ad214", "0 vs 1 dense on OpenBLAS")
        try checkSwift(sigmoid, "2a0e4ad9821777df", "0 vs 1 sigmoid on Swift")
    }
}
