@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

final class ActivationTests: XCTestCase {
    /// Outputs that hit every case of the ReLU rule: positive, zero, −0, negative, NaN, tiny, huge.
    private let outputs: [Float] = [1, 0, -0.0, -2, .nan, .leastNonzeroMagnitude, 3e38, -.leastNonzeroMagnitude,
                                    0.5, -0.5, 7, .infinity, -.infinity, 0, 2, -3, 4, 1e-30, -1e-30]

    func testReLUDerivativeKeepsDeltaExactlyWhereTheOutputIsPositive() {
        // Every length from 0 to 19 covers the 8-lane loop, its tail, and both together.
        for count in 0...outputs.count {
            var delta = (0..<count).map { Float($0) + 0.25 }
            let expected = (0..<count).map { outputs[$0] > 0 ? delta[$0] : 0 }
            outputs.withUnsafeBufferPointer { output in
                delta.withUnsafeMutableBufferPointer {
                    Activation.relu.multiplyDerivative($0.baseAddress!, output: output.baseAddress!, count: count)
                }
            }
            XCTAssertEqual(delta.map(\.bitPattern), expected.map(\.bitPattern), "count \(count)")
        }
    }

    func testSigmoidDerivativeIsOutputTimesOneMinusOutput() {
        let output: [Float] = [0, 0.25, 0.5, 0.9, 1]
        var delta: [Float] = [1, 2, 3, 4, 5]
        output.withUnsafeBufferPointer { o in
            delta.withUnsafeMutableBufferPointer { Activation.sigmoid.multiplyDerivative($0.baseAddress!, output: o.baseAddress!, count: 5) }
        }
        let expected: [Float] = zip(delta.indices, output).map { index, a in Float(index + 1) * (a * (1 - a)) }
        XCTAssertEqual(delta, expected)
        XCTAssertEqual(delta[2], 0.75)  // 3 · 0.5 · 0.5
    }
}
