@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import SwiftKernels
import XCTest

final class FloatingPointModeTests: XCTestCase {
    /// Half the smallest normal float: a subnormal result under IEEE arithmetic, zero when flushed.
    /// Read from memory so that the compiler cannot fold it.
    private func halfOfSmallestNormal() -> Float {
        let buffer = FloatBuffer([Float.leastNormalMagnitude])
        return buffer.pointer[0] * 0.5
    }

    private func requireFlushing() throws {
        try XCTSkipUnless(FloatingPointMode.canFlushSubnormals, "this platform keeps IEEE subnormals")
    }

    func testPerformFlushesInsideAndRestoresTheCallersMode() throws {
        try requireFlushing()
        XCTAssertEqual(FloatingPointMode.current, .ieee, "threads start with IEEE arithmetic")
        XCTAssertEqual(halfOfSmallestNormal(), Float.leastNormalMagnitude / 2)
        FloatingPointMode.flushSubnormals.perform {
            XCTAssertEqual(FloatingPointMode.current, .flushSubnormals)
            XCTAssertEqual(halfOfSmallestNormal(), 0, "subnormal results flush to zero (FTZ)")
            let subnormal = FloatBuffer([Float.leastNonzeroMagnitude])
            XCTAssertEqual(subnormal.pointer[0] * 2, 0, "subnormal inputs read as zero (DAZ)")
            FloatingPointMode.ieee.perform {
                XCTAssertEqual(halfOfSmallestNormal(), Float.leastNormalMagnitude / 2, "a nested IEEE scope")
            }
            XCTAssertEqual(halfOfSmallestNormal(), 0, "the outer scope's mode is back")
        }
        XCTAssertEqual(FloatingPointMode.current, .ieee)
        XCTAssertEqual(halfOfSmallestNormal(), Float.leastNormalMagnitude / 2)
    }

    func testModeIsRestoredWhenTheBodyThrows() throws {
        try requireFlushing()
        struct Failure: Error {}
        XCTAssertThrowsError(try FloatingPointMode.flushSubnormals.perform { throw Failure() })
        XCTAssertEqual(FloatingPointMode.current, .ieee)
    }

    /// Adam's first moment becomes 0.1 × 1e-37 = 1e-38, a subnormal: flushed, it moves no parameter; kept,
    /// it moves every parameter of 1e-30 by ~3e-35 (about 300 of their last bits). Enough parameters for
    /// four slices, so worker threads run some of them: they must compute in the caller's mode.
    func testAdamSlicesOnOtherThreadsUseTheCallersMode() throws {
        try requireFlushing()
        let count = 70_001
        func parametersAfterOneStep(threads: Int) -> [Float] {
            let parameters = FloatBuffer([Float](repeating: 1e-30, count: count))
            let gradients = FloatBuffer([Float](repeating: 1e-37, count: count))
            AdamOptimizer(parameterCount: count, threads: threads).update(parameters: parameters, gradients: gradients)
            return parameters.array
        }
        for threads in [1, 2, 4] {
            let flushed = FloatingPointMode.flushSubnormals.perform { parametersAfterOneStep(threads: threads) }
            XCTAssertEqual(flushed.filter { $0 != 1e-30 }.count, 0, "\(threads) threads, flushed")
            let kept = parametersAfterOneStep(threads: threads)
            XCTAssertEqual(kept.filter { $0 == 1e-30 }.count, 0, "\(threads) threads, IEEE")
        }
    }

    /// Every product 1e-20 × 1e-20 is subnormal: flushed, C is all zeros; kept, none of it is.
    func testSwiftGemmOnOtherThreadsUsesTheCallersMode() throws {
        try requireFlushing()
        let m = 96, n = 64, k = 16
        let a = FloatBuffer([Float](repeating: 1e-20, count: m * k))
        let b = FloatBuffer([Float](repeating: 1e-20, count: k * n))
        func product(threads: Int) -> [Float] {
            let c = FloatBuffer(count: m * n)
            SwiftEngine(threads: threads).gemm(transposeA: false, transposeB: false, m: m, n: n, k: k,
                                               a: a.pointer, lda: k, b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
            return c.array
        }
        XCTAssertGreaterThanOrEqual(m * n * k, gemmParallelThreshold, "the product must be large enough to split")
        for threads in [1, 2] {
            let flushed = FloatingPointMode.flushSubnormals.perform { product(threads: threads) }
            XCTAssertEqual(flushed.filter { $0 != 0 }.count, 0, "\(threads) threads, flushed")
            XCTAssertEqual(product(threads: threads).filter { $0 == 0 }.count, 0, "\(threads) threads, IEEE")
        }
    }

    func testTrainerRunsInTheConfiguredModeAndLeavesTheCallersAlone() throws {
        try requireFlushing()
        var generator = SeededGenerator(seed: 3)
        let images = (0..<(16 * 784)).map { _ in generator.nextUnitFloat() }
        let data = try LabeledImages(images: images, width: 784, labels: (0..<16).map { $0 % 2 })
        for flushes in [true, false] {
            let configuration = TrainingConfiguration(epochs: 1, batchSize: 8, flushesSubnormals: flushes)
            let trainer = try Trainer(configuration: configuration, engine: OpenBLASEngine(threads: 1))
            var modes: [FloatingPointMode] = []
            _ = try trainer.train(on: data, test: data, onStep: { _ in modes.append(FloatingPointMode.current) })
            XCTAssertEqual(modes, Array(repeating: FloatingPointMode(flushesSubnormals: flushes), count: 2),
                           "flushes \(flushes): both steps")
            XCTAssertEqual(FloatingPointMode.current, .ieee, "training leaves the caller's mode as it was")
        }
        XCTAssertTrue(TrainingConfiguration().flushesSubnormals, "flushing is the default")
    }
}
