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

    func testNetworkLossAndGradientsStayFiniteForHugeLogits() {
        // Output bias ±1000 pushes every logit to about ±1000.
        for (bias, label, expectedLoss, expectedDelta): (Float, Float, Double, Float) in
            [(1000, 0, 1000, 1), (-1000, 1, 1000, -1), (100, 1, 0, 0), (-100, 0, 0, 0)] {
            let network = Network(layerSizes: [3, 2, 1], hiddenActivation: .sigmoid)
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
}
