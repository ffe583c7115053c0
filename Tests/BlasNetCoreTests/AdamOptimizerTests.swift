@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

final class AdamOptimizerTests: XCTestCase {
    func testThreeStepsMatchTheKerasFormulaInDoublePrecision() {
        var generator = SeededGenerator(seed: 11)
        let start = randomValues(37, generator: &generator)
        let gradientSteps = (0..<3).map { _ in randomValues(37, scale: 0.1, generator: &generator) }
        let parameters = FloatBuffer(start), gradients = FloatBuffer(count: 37)
        let optimizer = AdamOptimizer(parameterCount: 37, learningRate: 0.01)
        var p = start.map(Double.init), m = [Double](repeating: 0, count: 37), v = m
        for (t, g) in gradientSteps.enumerated() {
            for i in 0..<37 { gradients[i] = g[i] }
            optimizer.update(parameters: parameters, gradients: gradients)
            let step = Double(t + 1)
            let rate = 0.01 * (1 - pow(0.999, step)).squareRoot() / (1 - pow(0.9, step))
            for i in 0..<37 {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                p[i] -= rate * m[i] / (v[i].squareRoot() + 1e-7)
            }
            XCTAssertTrue(gradients.array.allSatisfy { $0 == 0 }, "step \(t + 1) leaves the gradients zeroed")
        }
        for i in 0..<37 { XCTAssertEqual(Double(parameters[i]), p[i], accuracy: 1e-6 * max(1, abs(p[i])), "[\(i)]") }
        XCTAssertEqual(optimizer.step, 3)
    }

    func testThreadCountDoesNotChangeABit() {
        // An odd count, so the slices end mid-line and the last one is ragged.
        let count = 100_003
        var generator = SeededGenerator(seed: 12)
        let start = randomValues(count, generator: &generator)
        let gradientSteps = (0..<3).map { _ in randomValues(count, scale: 0.1, generator: &generator) }
        func run(threads: Int) -> [Float] {
            let parameters = FloatBuffer(start), gradients = FloatBuffer(count: count)
            let optimizer = AdamOptimizer(parameterCount: count, threads: threads)
            for g in gradientSteps {
                g.withUnsafeBufferPointer { gradients.pointer.update(from: $0.baseAddress!, count: count) }
                optimizer.update(parameters: parameters, gradients: gradients)
                XCTAssertTrue(gradients.array.allSatisfy { $0 == 0 }, "\(threads) threads leave the gradients zeroed")
            }
            return parameters.array
        }
        let single = run(threads: 1)
        XCTAssertNotEqual(single, start, "the updates must move the parameters")
        for threads in [2, 3, 4] {
            XCTAssertEqual(run(threads: threads).map(\.bitPattern), single.map(\.bitPattern), "\(threads) threads")
        }
    }

    func testBufferStorageStartsOnACacheLine() {
        // Adam's slices start at multiples of 16 floats; only on 64-byte-aligned storage is that a line boundary.
        for count in [1, 37, 108_801] {
            XCTAssertEqual(UInt(bitPattern: FloatBuffer(count: count).pointer) % 64, 0, "count \(count)")
        }
    }
}
