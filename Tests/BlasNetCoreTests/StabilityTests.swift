@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

final class StabilityTests: XCTestCase {
    func testSigmoidSaturatesWithoutOverflow() {
        XCTAssertEqual(stableSigmoid(100), 1)
        XCTAssertEqual(stableSigmoid(1000), 1)
        XCTAssertEqual(stableSigmoid(-1000), 0)
        XCTAssertGreaterThanOrEqual(stableSigmoid(-100), 0)  // e^-100 ≈ 3.7e-44: a Float subnormal or 0
        XCTAssertLessThan(stableSigmoid(-100), Float.leastNormalMagnitude)
        XCTAssertEqual(stableSigmoid(0), 0.5)
        XCTAssertEqual(stableSigmoid(-2), 1 / (1 + expf(2)), accuracy: 1e-7)
        for z: Float in [-1000, -100, 100, 1000, .greatestFiniteMagnitude, -.greatestFiniteMagnitude] {
            XCTAssertTrue(stableSigmoid(z).isFinite, "σ(\(z))")
        }
    }

    func testCrossEntropyFromLogitsAtExtremeLogits() {
        // Right side: ~0 loss. Wrong side: loss = |z|, exactly, not inf.
        XCTAssertEqual(binaryCrossEntropy(logit: 100, label: 1), 0, accuracy: 1e-30)
        XCTAssertEqual(binaryCrossEntropy(logit: -1000, label: 0), 0)
        XCTAssertEqual(binaryCrossEntropy(logit: 100, label: 0), 100, accuracy: 1e-4)
        XCTAssertEqual(binaryCrossEntropy(logit: 1000, label: 0), 1000)
        XCTAssertEqual(binaryCrossEntropy(logit: -1000, label: 1), 1000)
        XCTAssertEqual(binaryCrossEntropy(logit: 0, label: 1), log(2), accuracy: 1e-7)
    }

    func testNetworkLossAndGradientsStayFiniteForHugeLogits() throws {
        // Output bias ±1000 pushes every logit to about ±1000.
        for (bias, label, expectedLoss, expectedDelta): (Float, Float, Double, Float) in
            [(1000, 0, 1000, 1), (-1000, 1, 1000, -1), (100, 1, 0, 0), (-100, 0, 0, 0)] {
            let network = try Network(layerSizes: [3, 2, 1], hiddenActivation: .sigmoid)
            let output = network.layers[1]
            network.parameters[output.biasOffset] = bias
            let workspace = NetworkWorkspace(network: network, capacity: 2)
            let input: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], labels: [Float] = [label, label]
            let statistics = input.withUnsafeBufferPointer { x in labels.withUnsafeBufferPointer { y in
                network.computeGradients(input: x.baseAddress!, labels: y.baseAddress!, batch: 2,
                                         workspace: workspace, engine: OpenBLASEngine(threads: 1))
            } }
            XCTAssertEqual(statistics.lossSum / 2, expectedLoss, accuracy: 1e-3, "bias \(bias), label \(label)")
            XCTAssertTrue(workspace.gradients.array.allSatisfy(\.isFinite), "bias \(bias)")
            // ∂L/∂b_out = mean(σ(z) − y).
            XCTAssertEqual(workspace.gradients[output.biasOffset], expectedDelta, accuracy: 1e-6, "bias \(bias)")
        }
    }

    /// Softmax cross-entropy at logits of ±1000: loss and gradients finite and exact in the limit.
    func testSoftmaxLossAndGradientsStayFiniteForHugeLogits() throws {
        let loss = SoftmaxCrossEntropy()
        // Logits (1000, -1000, 0): the right class costs 0, the wrong one 1000 (or 2000).
        let logits: [Float] = [1000, -1000, 0]
        for (label, expected) in [(0, Float(0)), (2, 1000), (1, 2000)] {
            XCTAssertEqual(logits.withUnsafeBufferPointer { loss.loss(logits: $0.baseAddress!, width: 3, label: label) },
                           expected, accuracy: 1e-3, "label \(label)")
        }
        var delta = [Float](repeating: .nan, count: 6)
        let batchLogits: [Float] = [1000, -1000, 0, -1000, -1000, 1000], labels: [Float] = [1, 2]
        let statistics = batchLogits.withUnsafeBufferPointer { z in labels.withUnsafeBufferPointer { y in
            delta.withUnsafeMutableBufferPointer {
                loss.gradient(logits: z.baseAddress!, labels: y.baseAddress!, batch: 2, width: 3, meanOver: 2,
                              delta: $0.baseAddress!)
            }
        } }
        XCTAssertEqual(statistics.lossSum, 2000, accuracy: 1e-2)
        XCTAssertEqual(statistics.correct, 1)
        XCTAssertTrue(delta.allSatisfy(\.isFinite))
        // (softmax − onehot) / batch: row 0 is (1, 0, 0) − (0, 1, 0), row 1 is (0, 0, 1) − (0, 0, 1).
        XCTAssertEqual(delta, [0.5, -0.5, 0, 0, 0, 0])
        var probabilities = [Float](repeating: 0, count: 3)
        let predicted = logits.withUnsafeBufferPointer { z in
            probabilities.withUnsafeMutableBufferPointer { loss.probabilities(logits: z.baseAddress!, width: 3, into: $0.baseAddress!) }
        }
        XCTAssertEqual(predicted, 0)
        XCTAssertEqual(probabilities, [1, 0, 0])
    }
}
