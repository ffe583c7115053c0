// Evaluation: a network's predictions on a labelled set, with the confusion matrix and the per-class
// precision and recall; and predictions on plain rows of features, for library users.

/// A network's predictions on a labelled set.
public struct Evaluation: Sendable {
    public let count: Int
    public let errors: Int
    /// Mean loss (binary or categorical cross-entropy, as the network's loss).
    public let meanLoss: Double
    public let classCount: Int
    /// Predicted class index of each sample.
    public let predictions: [Int]
    /// [count, classCount] row-major: each sample's class probabilities.
    public let probabilities: [Float]
    /// confusion[actual][predicted], classCount × classCount.
    public let confusion: [[Int]]
    /// Positions (in the evaluated set) of the misclassified samples.
    public let misclassified: [Int]

    public var accuracy: Double { count == 0 ? 0 : Double(count - errors) / Double(count) }

    /// P(class `classIndex`) for sample `sample`.
    public func probability(sample: Int, class classIndex: Int) -> Float {
        probabilities[sample * classCount + classIndex]
    }

    /// Probability of each sample's predicted class.
    public var confidences: [Float] { predictions.indices.map { probability(sample: $0, class: predictions[$0]) } }

    /// Of the samples predicted as `classIndex`, the share that are it; nil when none was predicted.
    public func precision(of classIndex: Int) -> Double? {
        let predicted = confusion.reduce(0) { $0 + $1[classIndex] }
        return predicted == 0 ? nil : Double(confusion[classIndex][classIndex]) / Double(predicted)
    }

    /// Of the samples of `classIndex`, the share predicted as it; nil when the set has none.
    public func recall(of classIndex: Int) -> Double? {
        let actual = confusion[classIndex].reduce(0, +)
        return actual == 0 ? nil : Double(confusion[classIndex][classIndex]) / Double(actual)
    }
}

/// Evaluates `network` on `data` in chunks of `workspace.capacity` rows.
public func evaluate(_ network: Network, on data: LabeledImages, engine: ComputeEngine,
                     workspace: NetworkWorkspace) -> Evaluation {
    precondition(data.width == network.inputSize && data.classCount == network.classCount,
                 "the data's width and classes must match the network's (checked by callers)")
    let classCount = network.classCount, width = network.outputWidth
    var probabilities = [Float](repeating: 0, count: data.count * classCount)
    var predictions = [Int](repeating: 0, count: data.count)
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
    var misclassified: [Int] = []
    var lossSum: Double = 0
    let loss = network.loss
    data.images.withUnsafeBufferPointer { images in
        probabilities.withUnsafeMutableBufferPointer { probabilities in
            var start = 0
            while start < data.count {
                let rows = min(workspace.capacity, data.count - start)
                network.forward(input: images.baseAddress! + start * data.width, batch: rows, workspace: workspace,
                                engine: engine)
                let logits = workspace.outputs[network.layers.count - 1].pointer
                for row in 0..<rows {
                    let index = start + row
                    let actual = data.labels[index]
                    let z = logits + row * width
                    let predicted = loss.probabilities(logits: z, width: width,
                                                       into: probabilities.baseAddress! + index * classCount)
                    lossSum += Double(loss.loss(logits: z, width: width, label: actual))
                    predictions[index] = predicted
                    confusion[actual][predicted] += 1
                    if actual != predicted { misclassified.append(index) }
                }
                start += rows
            }
        }
    }
    return Evaluation(count: data.count, errors: misclassified.count,
                      meanLoss: data.count == 0 ? 0 : lossSum / Double(data.count), classCount: classCount,
                      predictions: predictions, probabilities: probabilities, confusion: confusion,
                      misclassified: misclassified)
}

/// A network's answers for rows of features.
public struct Predictions: Sendable {
    public let classCount: Int
    /// Predicted class index of each row.
    public let classes: [Int]
    /// [rows, classCount] row-major class probabilities.
    public let probabilities: [Float]
}

/// What is wrong with the features given to `Network.predict`.
public enum PredictionError: Error, Equatable, CustomStringConvertible {
    case widthMismatch(values: Int, inputSize: Int)

    public var description: String {
        switch self {
        case let .widthMismatch(values, inputSize):
            return "\(values) feature values are not whole rows of the network's \(inputSize) inputs"
        }
    }
}

extension Network {
    /// Predicts the class of each row of `features` ([rows, inputSize] row-major).
    public func predict(_ features: [Float], engine: ComputeEngine) throws -> Predictions {
        guard features.count % inputSize == 0 else {
            throw PredictionError.widthMismatch(values: features.count, inputSize: inputSize)
        }
        let rows = features.count / inputSize
        let workspace = NetworkWorkspace(network: self, capacity: NetworkWorkspace.evaluationCapacity)
        var classes = [Int](repeating: 0, count: rows)
        var probabilities = [Float](repeating: 0, count: rows * classCount)
        features.withUnsafeBufferPointer { input in
            probabilities.withUnsafeMutableBufferPointer { probabilities in
                var start = 0
                while start < rows {
                    let count = min(workspace.capacity, rows - start)
                    forward(input: input.baseAddress! + start * inputSize, batch: count, workspace: workspace, engine: engine)
                    let logits = workspace.outputs[layers.count - 1].pointer
                    for row in 0..<count {
                        classes[start + row] = loss.probabilities(
                            logits: logits + row * outputWidth, width: outputWidth,
                            into: probabilities.baseAddress! + (start + row) * classCount)
                    }
                    start += count
                }
            }
        }
        return Predictions(classCount: classCount, classes: classes, probabilities: probabilities)
    }
}
