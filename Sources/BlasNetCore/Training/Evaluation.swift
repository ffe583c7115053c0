/// A network's predictions on a labelled set.
public struct Evaluation: Sendable {
    public let count: Int
    public let errors: Int
    /// Mean binary cross-entropy.
    public let meanLoss: Double
    /// σ(logit) per sample: the probability of the second class.
    public let probabilities: [Float]
    /// confusion[actual][predicted], classes 0 and 1.
    public let confusion: [[Int]]
    /// Positions (in the evaluated set) of the misclassified samples.
    public let misclassified: [Int]

    public var accuracy: Double { count == 0 ? 0 : Double(count - errors) / Double(count) }
}

/// Evaluates `network` on `data` in chunks of `workspace.capacity` rows.
public func evaluate(_ network: Network, on data: LabeledImages, engine: ComputeEngine,
                     workspace: NetworkWorkspace) -> Evaluation {
    var probabilities = [Float](repeating: 0, count: data.count)
    var confusion = [[0, 0], [0, 0]]
    var misclassified: [Int] = []
    var lossSum: Double = 0
    let width = network.inputSize
    data.images.withUnsafeBufferPointer { images in
        var start = 0
        while start < data.count {
            let rows = min(workspace.capacity, data.count - start)
            network.forward(input: images.baseAddress! + start * width, batch: rows, workspace: workspace, engine: engine)
            let logits = workspace.outputs[network.layers.count - 1].pointer
            for row in 0..<rows {
                let index = start + row
                let label = data.labels[index]
                let z = logits[row]
                probabilities[index] = stableSigmoid(z)
                lossSum += Double(binaryCrossEntropy(logit: z, label: label))
                let actual = label > 0.5 ? 1 : 0, predicted = probabilities[index] > 0.5 ? 1 : 0
                confusion[actual][predicted] += 1
                if actual != predicted { misclassified.append(index) }
            }
            start += rows
        }
    }
    return Evaluation(count: data.count, errors: misclassified.count,
                      meanLoss: data.count == 0 ? 0 : lossSum / Double(data.count),
                      probabilities: probabilities, confusion: confusion, misclassified: misclassified)
}
