@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

/// Every parameter's analytic gradient against central finite differences of a Float64 reference.
final class GradientTests: XCTestCase {
    /// Analytic Float32 gradients vs Float64 central differences: |analytic − numeric| ≤ 1e-3·|numeric| + 2e-5.
    /// Float32 accumulation over these small layers (≤ 9 terms per product) errs by ~1e-6 relative,
    /// so a wrong formula (a missing term, a transposed index) fails by orders of magnitude more.
    /// `outputs` logits: 1 is the two-class sigmoid model, K ≥ 2 softmax over K classes.
    private func checkGradients(hidden: Activation, engine: ComputeEngine, outputs: Int = 1,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let sizes = [9, 7, 5, outputs]
        let batch = 4
        var generator = SeededGenerator(seed: 7)
        let network = try Network(layerSizes: sizes, hiddenActivation: hidden)
        network.initializeGlorotUniform(using: &generator)
        // Non-zero biases, so their gradients and the activations' offsets are exercised too.
        for layer in network.layers {
            for j in 0..<layer.outputSize { network.parameters[layer.biasOffset + j] = generator.nextFloat(symmetric: 0.3) }
        }
        let input = randomValues(batch * sizes[0], generator: &generator)
        // Class indices; with K classes every row a different class where possible, the last class included.
        let labels: [Float] = outputs == 1 ? [0, 1, 1, 0] : [0, Float(outputs - 1), 1, Float(outputs / 2)]
        let workspace = NetworkWorkspace(network: network, capacity: batch)
        let statistics = input.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                network.computeGradients(input: x.baseAddress!, labels: y.baseAddress!, batch: batch,
                                         workspace: workspace, engine: engine)
            }
        }
        let reference = ReferenceNetwork(layerSizes: sizes, hidden: hidden)
        let parameters = network.parameters.array.map(Double.init)
        let x = input.map(Double.init), y = labels.map(Double.init)
        let referenceLoss = reference.meanLoss(parameters: parameters, input: x, labels: y, batch: batch)
        XCTAssertEqual(statistics.lossSum / Double(batch), referenceLoss, accuracy: 1e-5, "loss", file: file, line: line)

        let numeric = reference.numericalGradient(parameters: parameters, input: x, labels: y, batch: batch)
        let analytic = workspace.gradients.array
        XCTAssertEqual(analytic.count, numeric.count)
        var worst = 0.0
        for index in numeric.indices {
            let error = abs(Double(analytic[index]) - numeric[index])
            worst = max(worst, error / (abs(numeric[index]) + 1e-6))
            XCTAssertLessThanOrEqual(error, 1e-3 * abs(numeric[index]) + 2e-5,
                                     "parameter \(index): analytic \(analytic[index]) vs numeric \(numeric[index])",
                                     file: file, line: line)
        }
        XCTAssertTrue(numeric.contains { abs($0) > 1e-3 }, "the check needs gradients that are not all ~0",
                      file: file, line: line)
    }

    func testDenseNetworkOnOpenBLAS() throws { try checkGradients(hidden: .relu, engine: OpenBLASEngine(threads: 1)) }
    func testSigmoidNetworkOnOpenBLAS() throws { try checkGradients(hidden: .sigmoid, engine: OpenBLASEngine(threads: 1)) }
    func testDenseNetworkOnSwift() throws { try checkGradients(hidden: .relu, engine: SwiftEngine(threads: 1)) }
    func testSigmoidNetworkOnSwift() throws { try checkGradients(hidden: .sigmoid, engine: SwiftEngine(threads: 1)) }
    func testSigmoidNetworkOnPortableSwiftKernel() throws {
        try checkGradients(hidden: .sigmoid, engine: SwiftEngine(threads: 1, kernels: .portable))
    }

    /// Softmax cross-entropy, K = 3 and 10, both activations, both engines.
    func testSoftmaxNetworksOnBothEngines() throws {
        for outputs in [3, 10] {
            for hidden in [Activation.relu, .sigmoid] {
                try checkGradients(hidden: hidden, engine: OpenBLASEngine(threads: 1), outputs: outputs)
                try checkGradients(hidden: hidden, engine: SwiftEngine(threads: 1), outputs: outputs)
            }
        }
    }

    func testBackwardAccumulatesIntoGradients() throws {
        // The optimizer zeroes gradients as it consumes them; backward adds. Two passes = twice one pass.
        var generator = SeededGenerator(seed: 3)
        let network = try Network(layerSizes: [6, 4, 1], hiddenActivation: .relu)
        network.initializeGlorotUniform(using: &generator)
        let input = randomValues(12, generator: &generator), labels: [Float] = [1, 0]
        let workspace = NetworkWorkspace(network: network, capacity: 2)
        let engine = OpenBLASEngine(threads: 1)
        func pass() {
            input.withUnsafeBufferPointer { x in labels.withUnsafeBufferPointer { y in
                _ = network.computeGradients(input: x.baseAddress!, labels: y.baseAddress!, batch: 2,
                                             workspace: workspace, engine: engine)
            } }
        }
        pass()
        let once = workspace.gradients.array
        pass()
        for (twice, single) in zip(workspace.gradients.array, once) { XCTAssertEqual(twice, 2 * single, accuracy: 1e-6) }
        let optimizer = AdamOptimizer(parameterCount: network.parameterCount)
        optimizer.update(parameters: network.parameters, gradients: workspace.gradients)
        XCTAssertTrue(workspace.gradients.array.allSatisfy { $0 == 0 }, "Adam leaves the gradients zeroed")
    }
}
