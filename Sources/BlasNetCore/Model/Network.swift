/// A stack of dense layers with all parameters in one flat vector (each layer: W [in, out] row-major,
/// then b [out]). The hidden layers share one activation; the last layer is linear and emits logits,
/// which its `loss` turns into class probabilities: one logit is a two-class model (sigmoid), K ≥ 2
/// logits are K classes (softmax).
/// The network knows shapes and math, not which engine multiplies its matrices: every pass takes the
/// `ComputeEngine` to use.
public final class Network {
    /// Sizes from input to output, e.g. [784, 128, 64, 1] or [784, 128, 64, 10].
    public let layerSizes: [Int]
    public let layers: [DenseLayer]
    /// All weights and biases, laid out as described by `layers`.
    public let parameters: FloatBuffer
    /// The loss on the logits, from the output width.
    public let loss: any Loss

    /// Largest accepted layer width and depth: far beyond MNIST models, small enough that a mistyped
    /// size fails with a message instead of exhausting memory.
    public static let maximumLayerSize = 65_536
    public static let maximumLayerCount = 16

    /// Zero-initialised network with these sizes (input first, output last); hidden layers use
    /// `hiddenActivation`, the last layer is linear. Throws `NetworkError` for sizes out of range.
    public init(layerSizes: [Int], hiddenActivation: Activation) throws {
        guard layerSizes.count >= 2, layerSizes.count - 1 <= Self.maximumLayerCount,
              layerSizes.allSatisfy({ (1...Self.maximumLayerSize).contains($0) }) else {
            throw NetworkError.invalidLayerSizes(layerSizes)
        }
        guard layerSizes.count == 2 || hiddenActivation != .identity else { throw NetworkError.linearHiddenLayers }
        self.layerSizes = layerSizes
        var layers: [DenseLayer] = []
        var offset = 0
        for index in 0..<(layerSizes.count - 1) {
            let isOutput = index == layerSizes.count - 2
            let layer = DenseLayer(inputSize: layerSizes[index], outputSize: layerSizes[index + 1],
                                   activation: isOutput ? .identity : hiddenActivation, weightOffset: offset)
            layers.append(layer)
            offset += layer.parameterCount
        }
        self.layers = layers
        parameters = FloatBuffer(count: offset)
        loss = LossKind(outputWidth: layerSizes[layerSizes.count - 1]).loss
    }

    /// A classifier of `classCount` classes (≥ 2) on `inputSize` features: one logit for two classes,
    /// `classCount` logits for more.
    public convenience init(inputSize: Int, hiddenLayers: [Int], classCount: Int, hiddenActivation: Activation) throws {
        guard classCount >= 2, classCount <= Self.maximumLayerSize else { throw NetworkError.invalidClassCount(classCount) }
        try self.init(layerSizes: [inputSize] + hiddenLayers + [Self.outputWidth(classCount: classCount)],
                      hiddenActivation: hiddenActivation)
    }

    /// The original 784 → 128 → 64 → 1 network of `kind`, zero-initialised.
    public convenience init(kind: ModelKind) {
        // The sizes are constants within every limit above.
        try! self.init(layerSizes: ModelKind.layerSizes, hiddenActivation: kind.hiddenActivation)
    }

    /// Logits a classifier of `classCount` classes emits: 1 for two classes, else one per class.
    public static func outputWidth(classCount: Int) -> Int { classCount == 2 ? 1 : classCount }

    /// Logits per row.
    public var outputWidth: Int { layerSizes[layerSizes.count - 1] }
    /// Classes the network tells apart: 2 for one logit, else one per logit.
    public var classCount: Int { max(2, outputWidth) }
    /// The hidden layers' widths (the sizes between input and output).
    public var hiddenLayers: [Int] { Array(layerSizes.dropFirst().dropLast()) }
    /// The hidden layers' activation (`.identity` when there is no hidden layer).
    public var hiddenActivation: Activation { layers.count > 1 ? layers[0].activation : .identity }

    public var inputSize: Int { layerSizes[0] }
    public var parameterCount: Int { parameters.count }

    /// Glorot-uniform weights (limit √(6 / (fan_in + fan_out))) and zero biases, as Keras initialises
    /// `Dense`. The numbers are drawn layer by layer in [out, in] row-major order (output unit by output
    /// unit), and each lands at W[i, o] of the [in, out] matrix: a seed gives the same network as when
    /// W was stored [out, in], only transposed in memory.
    public func initializeGlorotUniform(using generator: inout SeededGenerator) {
        for layer in layers {
            let limit = Float((6.0 / Double(layer.inputSize + layer.outputSize)).squareRoot())
            let weights = parameters.pointer + layer.weightOffset
            for o in 0..<layer.outputSize {
                for i in 0..<layer.inputSize {
                    weights[i &* layer.outputSize &+ o] = generator.nextFloat(symmetric: limit)
                }
            }
            (parameters.pointer + layer.biasOffset).update(repeating: 0, count: layer.outputSize)
        }
    }

    /// Forward pass over `batch` rows of `input` ([batch, inputSize]); afterwards
    /// `workspace.outputs[l]` holds layer l's activations [batch, out_l] and the last one the logits,
    /// from row `rowOffset` on (a worker handed rows of a shared workspace passes where its rows start).
    public func forward(input: UnsafePointer<Float>, batch: Int, workspace: NetworkWorkspace, rowOffset: Int = 0,
                        engine: ComputeEngine) {
        forward(from: 0, input: input, batch: batch, workspace: workspace, rowOffset: rowOffset, engine: engine)
    }

    /// The forward pass from layer `first` on; `input` is layer `first`'s input for the rows.
    private func forward(from first: Int, input: UnsafePointer<Float>, batch: Int, workspace: NetworkWorkspace,
                         rowOffset: Int, engine: ComputeEngine) {
        precondition(batch > 0 && rowOffset >= 0 && rowOffset + batch <= workspace.capacity,
                     "rows \(rowOffset)..<\(rowOffset + batch) exceed workspace capacity \(workspace.capacity)")
        var layerInput = input
        for (index, layer) in layers.enumerated() where index >= first {
            let output = workspace.outputs[index].pointer + rowOffset &* layer.outputSize
            // Z[batch, out] = b (broadcast to every row) + X[batch, in] · W[in, out]; then A = f(Z) in place.
            let bias = parameters.pointer + layer.biasOffset
            for row in 0..<batch { (output + row &* layer.outputSize).update(from: bias, count: layer.outputSize) }
            engine.gemm(transposeA: false, transposeB: false, m: batch, n: layer.outputSize, k: layer.inputSize,
                        a: layerInput, lda: layer.inputSize,
                        b: parameters.pointer + layer.weightOffset, ldb: layer.outputSize,
                        beta: 1, c: output, ldc: layer.outputSize)
            layer.activation.apply(output, count: batch * layer.outputSize)
            layerInput = UnsafePointer(output)
        }
    }

    /// Forward, loss and backward for one batch. `labels[i]` is row i's class index (as a Float).
    /// *Adds* ∂(mean loss)/∂parameters to `workspace.gradients` (zero them before, as
    /// `AdamOptimizer.update` does after each step) and returns the summed loss and the number of
    /// correct predictions.
    @discardableResult
    public func computeGradients(input: UnsafePointer<Float>, labels: UnsafePointer<Float>, batch: Int,
                                 workspace: NetworkWorkspace, engine: ComputeEngine) -> BatchStatistics {
        let statistics = computeDeltas(input: input, labels: labels, batch: batch, meanOver: batch,
                                       workspace: workspace, rowOffset: 0, engine: engine)
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            let layerInput = index == 0 ? input : UnsafePointer(workspace.outputs[index - 1].pointer)
            addWeightGradient(index, inputRows: 0..<layers[index].inputSize, withBias: true, input: layerInput,
                              batch: batch, workspace: workspace, engine: engine)
        }
        return statistics
    }

    /// The summed loss of rows 0..<batch from the logits the last forward pass left in `workspace`
    /// ([batch, outputWidth]), added in row order as `Loss.gradient` adds them over a whole batch: where
    /// tasks computed the loss of separate shares of the rows, this gives the one-thread sum, bit for bit,
    /// instead of a sum of the shares' sums.
    func lossSumInRowOrder(labels: UnsafePointer<Float>, batch: Int, workspace: NetworkWorkspace) -> Double {
        let logits = UnsafePointer(workspace.outputs[layers.count - 1].pointer)
        var sum: Double = 0
        for row in 0..<batch {
            sum += Double(loss.loss(logits: logits + row &* outputWidth, width: outputWidth, label: Int(labels[row])))
        }
        return sum
    }

    /// Forward, loss and the backward pass of ∂L/∂Z for rows `rowOffset..<rowOffset + batch` of
    /// `workspace` (`input` and `labels` point at those rows' own): afterwards `workspace.deltas[l]` holds
    /// ∂L/∂Z_l for them. The loss is the mean over `meanOver` rows: a worker handed part of a batch passes
    /// the whole batch's size. No parameter gradient is formed (see `addWeightGradient`).
    ///
    /// `firstLayerDone`: the first layer's activations for the rows are already in `workspace.outputs[0]`
    /// (the parallel step sums them from its tasks' parts); `input` is then not read.
    func computeDeltas(input: UnsafePointer<Float>, labels: UnsafePointer<Float>, batch: Int, meanOver: Int,
                       workspace: NetworkWorkspace, rowOffset: Int, firstLayerDone: Bool = false,
                       engine: ComputeEngine) -> BatchStatistics {
        if !firstLayerDone {
            forward(input: input, batch: batch, workspace: workspace, rowOffset: rowOffset, engine: engine)
        } else if layers.count > 1 {
            forward(from: 1, input: UnsafePointer(workspace.outputs[0].pointer + rowOffset &* layers[0].outputSize),
                    batch: batch, workspace: workspace, rowOffset: rowOffset, engine: engine)
        }
        let last = layers.count - 1
        let statistics = loss.gradient(logits: workspace.outputs[last].pointer + rowOffset &* outputWidth,
                                       labels: labels, batch: batch, width: outputWidth, meanOver: meanOver,
                                       delta: workspace.deltas[last].pointer + rowOffset &* outputWidth)
        for index in stride(from: layers.count - 1, through: 1, by: -1) {  // no gradient for the input pixels
            let layer = layers[index], previous = layers[index - 1]
            let delta = workspace.deltas[index].pointer + rowOffset &* layer.outputSize
            let previousDelta = workspace.deltas[index - 1].pointer + rowOffset &* previous.outputSize
            // dX[batch, in] = dZ[batch, out] · Wᵀ (W is [in, out]), then through the previous layer's activation.
            engine.gemm(transposeA: false, transposeB: true, m: batch, n: layer.inputSize, k: layer.outputSize,
                        a: delta, lda: layer.outputSize, b: parameters.pointer + layer.weightOffset, ldb: layer.outputSize,
                        beta: 0, c: previousDelta, ldc: layer.inputSize)
            previous.activation.multiplyDerivative(
                previousDelta, output: workspace.outputs[index - 1].pointer + rowOffset &* previous.outputSize,
                count: batch * previous.outputSize)
        }
        return statistics
    }

    /// The first layer's product over its inputs `inputs` only: part[batch, out] = X[:, inputs] ·
    /// W[inputs, :], where `input` holds X[:, inputs] as [batch, inputs.count]. The parts of disjoint
    /// input ranges that cover all inputs sum, with the bias, to the first layer's Z (`finishFirstLayer`).
    func firstLayerPart(inputs: Range<Int>, input: UnsafePointer<Float>, batch: Int,
                        into part: UnsafeMutablePointer<Float>, engine: ComputeEngine) {
        let layer = layers[0]
        guard batch > 0 else { return }
        engine.gemm(transposeA: false, transposeB: false, m: batch, n: layer.outputSize, k: inputs.count,
                    a: input, lda: inputs.count, b: parameters.pointer + layer.weightOffset + inputs.lowerBound &* layer.outputSize,
                    ldb: layer.outputSize, beta: 0, c: part, ldc: layer.outputSize)
    }

    /// The first layer's activations for rows `rowOffset..<rowOffset + batch` from its whole Z (`z`,
    /// [capacity, out], the bias included): a copy, then the activation, into `workspace.outputs[0]`.
    func activateFirstLayer(from z: UnsafePointer<Float>, batch: Int, rowOffset: Int, workspace: NetworkWorkspace) {
        let layer = layers[0], count = batch &* layer.outputSize
        let output = workspace.outputs[0].pointer + rowOffset &* layer.outputSize
        output.update(from: z + rowOffset &* layer.outputSize, count: count)
        layer.activation.apply(output, count: count)
    }

    /// The first layer's activations for rows `rowOffset..<rowOffset + batch`: Z = b + Σ parts (in the
    /// order given, so the sum is the same every time), then the activation, into `workspace.outputs[0]`.
    /// Each part is [capacity, out], as `firstLayerPart` wrote it for the whole batch.
    func finishFirstLayer(parts: [UnsafePointer<Float>], batch: Int, rowOffset: Int, workspace: NetworkWorkspace) {
        let layer = layers[0], width = layer.outputSize
        let bias = parameters.pointer + layer.biasOffset
        for row in rowOffset..<(rowOffset + batch) {
            let output = workspace.outputs[0].pointer + row &* width
            output.update(from: bias, count: width)
            for part in parts {
                let line = part + row &* width
                for j in 0..<width { output[j] += line[j] }
            }
            layer.activation.apply(output, count: width)
        }
    }

    /// Layer `index`'s whole gradient over the batch rows `rows` only, *written* (not added) to `part`,
    /// laid out like the layer's parameters: dW[in, out] = X[rows]ᵀ · dZ[rows], then db[out] = Σ_rows dZ.
    /// The layer's input X is `workspace.outputs[index - 1]` (so `index` ≥ 1). Parts over disjoint rows
    /// that cover the batch sum to the layer's gradient.
    func weightGradientPart(_ index: Int, rows: Range<Int>, workspace: NetworkWorkspace,
                            into part: UnsafeMutablePointer<Float>, engine: ComputeEngine) {
        precondition(index >= 1 && !rows.isEmpty, "a later layer's part over some rows")
        let layer = layers[index]
        let input = workspace.outputs[index - 1].pointer + rows.lowerBound &* layer.inputSize
        let delta = workspace.deltas[index].pointer + rows.lowerBound &* layer.outputSize
        engine.gemm(transposeA: true, transposeB: false, m: layer.inputSize, n: layer.outputSize, k: rows.count,
                    a: input, lda: layer.inputSize, b: delta, ldb: layer.outputSize,
                    beta: 0, c: part, ldc: layer.outputSize)
        let biasPart = part + layer.inputSize &* layer.outputSize
        biasPart.update(from: delta, count: layer.outputSize)
        for row in 1..<rows.count {
            let line = delta + row &* layer.outputSize
            for j in 0..<layer.outputSize { biasPart[j] += line[j] }
        }
    }

    /// Adds layer `index`'s weight gradient for the input rows `inputRows` of W (and, `withBias`, its
    /// bias gradient) to `workspace.gradients`, over the first `batch` rows of `workspace.deltas[index]`;
    /// `input` is the layer's input [batch, in]. Rows of W are contiguous in `parameters`, so workers
    /// that take disjoint `inputRows` write disjoint gradients. With `inputHoldsOnlyTheseRows`, `input` is
    /// only X[:, inputRows], [batch, inputRows.count].
    func addWeightGradient(_ index: Int, inputRows: Range<Int>, withBias: Bool, input: UnsafePointer<Float>,
                           batch: Int, workspace: NetworkWorkspace, inputHoldsOnlyTheseRows: Bool = false,
                           engine: ComputeEngine) {
        let layer = layers[index]
        let gradients = workspace.gradients.pointer
        let delta = workspace.deltas[index].pointer
        // dW[in, out] += Xᵀ · dZ  (X is [batch, in], dZ is [batch, out]), rows inputRows of dW. Accumulating
        // (beta 1) also spares OpenBLAS a pass that zeroes C: the optimizer zeroes the gradients as it
        // consumes them.
        if !inputRows.isEmpty {
            engine.gemm(transposeA: true, transposeB: false, m: inputRows.count, n: layer.outputSize, k: batch,
                        a: inputHoldsOnlyTheseRows ? input : input + inputRows.lowerBound,
                        lda: inputHoldsOnlyTheseRows ? inputRows.count : layer.inputSize, b: delta, ldb: layer.outputSize,
                        beta: 1, c: gradients + layer.weightOffset + inputRows.lowerBound &* layer.outputSize,
                        ldc: layer.outputSize)
        }
        guard withBias else { return }
        // db[out] += Σ_rows dZ
        let biasGradient = gradients + layer.biasOffset
        for row in 0..<batch {
            let line = delta + row &* layer.outputSize
            for j in 0..<layer.outputSize { biasGradient[j] += line[j] }
        }
    }
}

/// What is wrong with the sizes given to `Network`.
public enum NetworkError: Error, Equatable, CustomStringConvertible {
    case invalidLayerSizes([Int])
    case invalidClassCount(Int)
    case linearHiddenLayers

    public var description: String {
        switch self {
        case let .invalidLayerSizes(sizes):
            return "layer sizes \(sizes) must be 2 to \(Network.maximumLayerCount + 1) sizes within 1…\(Network.maximumLayerSize)"
        case let .invalidClassCount(count): return "a classifier needs at least 2 classes (got \(count))"
        case .linearHiddenLayers: return "hidden layers need a non-linear activation (relu or sigmoid)"
        }
    }
}

/// Summed loss and correct predictions over one batch.
public struct BatchStatistics: Sendable {
    public var lossSum: Double
    public var correct: Int
}

/// Every buffer one batch needs, sized for up to `capacity` rows and allocated once.
public final class NetworkWorkspace {
    /// Rows per forward pass when evaluating. Every command uses this one value, so a saved model
    /// evaluates exactly as it did at the end of training.
    public static let evaluationCapacity = 512

    public let capacity: Int
    /// Per layer: activations [capacity, out] (the last layer's are logits).
    public let outputs: [FloatBuffer]
    /// Per layer: ∂L/∂Z [capacity, out].
    public let deltas: [FloatBuffer]
    /// ∂L/∂parameters, laid out like `Network.parameters`; backward passes add to it.
    public let gradients: FloatBuffer

    public init(network: Network, capacity: Int) {
        precondition(capacity > 0, "workspace capacity must be positive")
        self.capacity = capacity
        outputs = network.layers.map { FloatBuffer(count: capacity * $0.outputSize) }
        deltas = network.layers.map { FloatBuffer(count: capacity * $0.outputSize) }
        gradients = FloatBuffer(count: network.parameterCount)
    }
}

extension Network {
    /// FLOPs one training sample costs: forward 2·Σ in·out, backward 2·Σ in·out for the weight gradients
    /// plus 2·in·out for every layer but the first (no gradient for the input pixels), e.g. 450,944 for
    /// 784 → 128 → 64 → 1. Bias, activation, loss and Adam work is not counted.
    public var flopsPerSample: Int {
        let products = layers.map { 2 * $0.inputSize * $0.outputSize }
        return 2 * products.reduce(0, +) + products.dropFirst().reduce(0, +)
    }
}
