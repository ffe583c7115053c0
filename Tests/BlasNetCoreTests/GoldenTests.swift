@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

/// Every tensor of one training step against a PyTorch float32 dump (in the style of llm.c's test_gpt2.c).
///
/// `Golden/golden.safetensors` comes from `scripts/reference/golden_dump.py` (see scripts/reference/README.md):
/// for the dense (ReLU) and sigmoid models at 784 → 64 → 32 → 1 (the default model's code paths at half its
/// hidden widths, which keeps the file near 1.3 MB), the initial weights, one batch of 8 real MNIST rows, the
/// logits, the mean binary cross-entropy, every parameter gradient, and the weights after 3 Keras-Adam
/// steps on that batch. Each engine (OpenBLAS, the Swift AVX2+FMA kernel and the portable one) starts from
/// the dump's initial weights and must reproduce the rest within these max-abs-difference tolerances:
///
/// - logits and loss: 1e-5
/// - gradients: 1e-6
/// - weights after 3 Adam steps: 1e-5 (Adam's m/(√v + ε) amplifies tiny gradient differences)
///
/// The test prints the differences it measured; scripts/reference/README.md records them. A missing golden
/// file fails the test; it never skips.
final class GoldenTests: XCTestCase {
    static let logitTolerance: Float = 1e-5
    static let lossTolerance: Float = 1e-5
    static let gradientTolerance: Float = 1e-6
    static let stepTolerance: Float = 1e-5

    static let goldenURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/golden.safetensors")
    static let layerSizes = [784, 64, 32, 1]
    static let batch = 8
    static let adamSteps = 3
    static let models: [(name: String, activation: Activation)] = [("dense", .relu), ("sigmoid", .sigmoid)]

    static let blas: [(String, @Sendable () -> ComputeEngine)] = [("blas", { OpenBLASEngine(threads: 1) })]
    static let engines: [(String, @Sendable () -> ComputeEngine)] =
        blas + KernelSet.available(on: .current).map { kernels -> (String, @Sendable () -> ComputeEngine) in
            ("swift, \(kernels.name) kernel", { @Sendable in SwiftEngine(threads: 1, kernels: kernels) })
        }

    /// The dump, read once per test process (the error, if any, is reported by every test that needs it).
    private static let golden: Result<SafetensorsFile, any Error> = Result {
        try Safetensors.read(from: goldenURL.path)
    }

    /// The golden file, or a test failure (never a skip) naming how to regenerate it.
    private func loadGolden(file: StaticString = #filePath, line: UInt = #line) throws -> SafetensorsFile {
        switch Self.golden {
        case .success(let golden): return golden
        case .failure(let error):
            XCTFail("cannot read the golden file \(Self.goldenURL.path): \(error). Regenerate it with "
                    + "python3 scripts/reference/golden_dump.py --data-dir data/mnist "
                    + "--out Tests/BlasNetCoreTests/Golden/golden.safetensors", file: file, line: line)
            throw error
        }
    }

    // MARK: Comparison

    /// The largest |actual − expected| and where it is; a NaN, or a count mismatch, counts as infinite.
    struct Comparison {
        var maxAbsDifference: Float
        var index: Int
        func passes(_ tolerance: Float) -> Bool { maxAbsDifference <= tolerance }
    }

    static func compare(_ actual: [Float], _ expected: [Float]) -> Comparison {
        guard actual.count == expected.count else { return Comparison(maxAbsDifference: .infinity, index: -1) }
        var worst = Comparison(maxAbsDifference: 0, index: 0)
        for index in expected.indices {
            let difference = abs(actual[index] - expected[index])
            let value = difference.isNaN ? Float.infinity : difference
            if value > worst.maxAbsDifference { worst = Comparison(maxAbsDifference: value, index: index) }
        }
        return worst
    }

    /// "[o, i]" for a flat row-major index into `shape`.
    static func coordinates(_ index: Int, shape: [Int]) -> String {
        guard index >= 0 else { return "(element counts differ)" }
        var rest = index
        var parts: [Int] = []
        for size in shape.reversed() where size > 0 {
            parts.append(rest % size)
            rest /= size
        }
        return "[" + parts.reversed().map(String.init).joined(separator: ", ") + "]"
    }

    /// Measured max differences, "engine | tensor group" → max, printed at the end of each test.
    private var measured: [String: Float] = [:]

    /// One tensor check: fails naming the tensor, the engine, the max abs difference and its index.
    private func assertClose(_ name: String, _ actual: [Float], golden: SafetensorsFile, tolerance: Float,
                             engine: String, group: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let expected = golden.tensors[name] else {
            XCTFail("golden file has no tensor \(name)", file: file, line: line)
            return
        }
        let result = Self.compare(actual, expected.values)
        let key = "\(engine) | \(group)"
        measured[key] = max(measured[key] ?? 0, result.maxAbsDifference)
        XCTAssert(result.passes(tolerance),
                  "\(name) [\(engine)]: max abs difference \(result.maxAbsDifference) at index \(result.index) "
                  + "\(Self.coordinates(result.index, shape: expected.shape)) exceeds \(tolerance) "
                  + "(got \(result.index >= 0 && result.index < actual.count ? actual[result.index] : .nan), "
                  + "PyTorch \(result.index >= 0 ? expected.values[result.index] : .nan))", file: file, line: line)
    }

    private func report(_ title: String) {
        for key in measured.keys.sorted() { print("golden \(title): \(key): max abs difference \(measured[key]!)") }
    }

    // MARK: Layout

    /// A golden tensor with a checked shape.
    private func tensor(_ name: String, shape: [Int], in golden: SafetensorsFile) throws -> [Float] {
        guard let tensor = golden.tensors[name] else {
            XCTFail("golden file has no tensor \(name)")
            throw SafetensorsError.missing(path: "\(Self.goldenURL.path): \(name)")
        }
        guard tensor.shape == shape else {
            XCTFail("golden tensor \(name) has shape \(tensor.shape), expected \(shape)")
            throw SafetensorsError.missing(path: "\(Self.goldenURL.path): \(name)")
        }
        return tensor.values
    }

    /// The model's parameters from the dump's `{model}.{group}.fcN.*` ([out, in] weights), in blasnet's
    /// flat layout (W [in, out] at weightOffset, then b).
    private func flatParameters(_ model: String, group: String, network: Network,
                                golden: SafetensorsFile) throws -> [Float] {
        var flat = [Float](repeating: 0, count: network.parameterCount)
        for (index, layer) in network.layers.enumerated() {
            let prefix = "\(model).\(group).fc\(index + 1)"
            let weight = try tensor("\(prefix).weight", shape: [layer.outputSize, layer.inputSize], in: golden)
            let bias = try tensor("\(prefix).bias", shape: [layer.outputSize], in: golden)
            for o in 0..<layer.outputSize {
                for i in 0..<layer.inputSize {
                    flat[layer.weightOffset + i * layer.outputSize + o] = weight[o * layer.inputSize + i]
                }
            }
            for o in 0..<layer.outputSize { flat[layer.biasOffset + o] = bias[o] }
        }
        return flat
    }

    /// Layer `index`'s weight ([out, in], PyTorch layout) and bias out of a flat parameter-shaped vector.
    private func layerTensors(_ flat: [Float], layer: DenseLayer) -> (weight: [Float], bias: [Float]) {
        var weight = [Float](repeating: 0, count: layer.weightCount)
        for o in 0..<layer.outputSize {
            for i in 0..<layer.inputSize {
                weight[o * layer.inputSize + i] = flat[layer.weightOffset + i * layer.outputSize + o]
            }
        }
        return (weight, Array(flat[layer.biasOffset..<(layer.biasOffset + layer.outputSize)]))
    }

    /// A network of `model`'s activation holding `parameters`.
    private func makeNetwork(activation: Activation, parameters: [Float]) throws -> Network {
        let network = try Network(layerSizes: Self.layerSizes, hiddenActivation: activation)
        network.parameters.assign(parameters)
        return network
    }

    @discardableResult
    private func computeGradients(_ network: Network, x: [Float], y: [Float], workspace: NetworkWorkspace,
                                  engine: ComputeEngine) -> BatchStatistics {
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                network.computeGradients(input: xp.baseAddress!, labels: yp.baseAddress!, batch: Self.batch,
                                         workspace: workspace, engine: engine)
            }
        }
    }

    private func logits(_ network: Network, x: [Float], engine: ComputeEngine) -> [Float] {
        let workspace = NetworkWorkspace(network: network, capacity: Self.batch)
        x.withUnsafeBufferPointer { network.forward(input: $0.baseAddress!, batch: Self.batch, workspace: workspace, engine: engine) }
        return Array(workspace.outputs.last!.array.prefix(Self.batch))
    }

    /// Runs `body` for every model × engine on a fresh network holding the dump's initial weights, with a
    /// workspace for the batch and the batch itself (x [8, 784], y [8]).
    private func forEachModelAndEngine(
        _ golden: SafetensorsFile,
        _ body: (_ model: String, _ name: String, _ network: Network, _ workspace: NetworkWorkspace,
                 _ engine: ComputeEngine, _ x: [Float], _ y: [Float]) throws -> Void
    ) throws {
        let x = try tensor("batch.x", shape: [Self.batch, Self.layerSizes[0]], in: golden)
        let y = try tensor("batch.y", shape: [Self.batch], in: golden)
        for (model, activation) in Self.models {
            let probe = try Network(layerSizes: Self.layerSizes, hiddenActivation: activation)
            let initial = try flatParameters(model, group: "init", network: probe, golden: golden)
            for (engineName, makeEngine) in Self.engines {
                let network = try makeNetwork(activation: activation, parameters: initial)
                try body(model, "\(engineName), \(model)", network, NetworkWorkspace(network: network, capacity: Self.batch),
                         makeEngine(), x, y)
            }
        }
    }

    // MARK: Tests

    func testForwardLossAndGradientsMatchPyTorch() throws {
        let golden = try loadGolden()
        try forEachModelAndEngine(golden) { model, name, network, workspace, engine, x, y in
                let statistics = computeGradients(network, x: x, y: y, workspace: workspace, engine: engine)

                assertClose("\(model).logits", Array(workspace.outputs.last!.array.prefix(Self.batch)), golden: golden,
                            tolerance: Self.logitTolerance, engine: name, group: "logits")
                assertClose("\(model).loss", [Float(statistics.lossSum / Double(Self.batch))], golden: golden,
                            tolerance: Self.lossTolerance, engine: name, group: "loss")
                assertLayersClose("\(model).grad", workspace.gradients.array, network: network, golden: golden,
                                  tolerance: Self.gradientTolerance, engine: name, group: "gradients")
        }
        report("forward/backward")
    }

    func testThreeAdamStepsMatchPyTorch() throws {
        let golden = try loadGolden()
        try forEachModelAndEngine(golden) { model, name, network, workspace, engine, x, y in
                let optimizer = AdamOptimizer(parameterCount: network.parameterCount, learningRate: 1e-3, beta1: 0.9,
                                              beta2: 0.999, epsilon: 1e-7, threads: 1)
                for _ in 0..<Self.adamSteps {
                    computeGradients(network, x: x, y: y, workspace: workspace, engine: engine)
                    optimizer.update(parameters: network.parameters, gradients: workspace.gradients)
                }
                XCTAssertEqual(optimizer.step, Self.adamSteps)
                assertLayersClose("\(model).step3", network.parameters.array, network: network, golden: golden,
                                  tolerance: Self.stepTolerance, engine: name, group: "step3 weights")
        }
        report("Adam")
    }

    /// Every layer's weight [out, in] and bias of `values` (laid out like `network.parameters`) against
    /// the dump's `prefix.fcN.weight` / `prefix.fcN.bias`.
    private func assertLayersClose(_ prefix: String, _ values: [Float], network: Network, golden: SafetensorsFile,
                                   tolerance: Float, engine: String, group: String) {
        for (index, layer) in network.layers.enumerated() {
            let (weight, bias) = layerTensors(values, layer: layer)
            assertClose("\(prefix).fc\(index + 1).weight", weight, golden: golden, tolerance: tolerance, engine: engine, group: group)
            assertClose("\(prefix).fc\(index + 1).bias", bias, golden: golden, tolerance: tolerance, engine: engine, group: group)
        }
    }

    /// The comparison is not vacuous: one init weight off by 1e-2 moves the logits far past the tolerance,
    /// and a NaN or a wrong element count never passes.
    func testComparisonDetectsAPerturbedWeight() throws {
        let golden = try loadGolden()
        let x = try tensor("batch.x", shape: [Self.batch, Self.layerSizes[0]], in: golden)
        let expected = try tensor("sigmoid.logits", shape: [Self.batch], in: golden)
        let probe = try Network(layerSizes: Self.layerSizes, hiddenActivation: .sigmoid)
        var parameters = try flatParameters("sigmoid", group: "init", network: probe, golden: golden)
        let engine = OpenBLASEngine(threads: 1)

        let unperturbed = Self.compare(logits(try makeNetwork(activation: .sigmoid, parameters: parameters), x: x, engine: engine),
                                       expected)
        XCTAssertTrue(unperturbed.passes(Self.logitTolerance), "unperturbed logits differ by \(unperturbed.maxAbsDifference)")

        // fc3.weight[0, 0]: every logit moves by 1e-2 · σ(hidden unit 0) ≈ 5e-3 (σ > 0 for every row).
        parameters[probe.layers[2].weightOffset] += 1e-2
        let perturbed = Self.compare(logits(try makeNetwork(activation: .sigmoid, parameters: parameters), x: x, engine: engine),
                                     expected)
        XCTAssertFalse(perturbed.passes(Self.logitTolerance),
                       "a 1e-2 change of sigmoid fc3.weight[0, 0] went unnoticed (max abs difference \(perturbed.maxAbsDifference))")
        XCTAssertGreaterThan(perturbed.maxAbsDifference, 100 * Self.logitTolerance)

        XCTAssertFalse(Self.compare([.nan], [0]).passes(Self.logitTolerance), "NaN must not pass")
        XCTAssertFalse(Self.compare([0, 0], [0]).passes(Self.logitTolerance), "a count mismatch must not pass")
    }

    /// The dump says what made it, so a regenerated file can be traced.
    func testGoldenFileRecordsItsOrigin() throws {
        let golden = try loadGolden()
        XCTAssertEqual(golden.metadata["script"], "scripts/reference/golden_dump.py")
        XCTAssertNotNil(golden.metadata["torch_version"])
        XCTAssertNotNil(golden.metadata["adam"])
    }
}
