// The losses on a network's logits. The output width chooses one: a single logit is a two-class
// model (sigmoid + binary cross-entropy, the original Keras model); K ≥ 2 logits are K classes
// (softmax + categorical cross-entropy). The network calls the loss once per batch and never
// branches on which it is.
import Foundation

/// Which loss a network's output uses; the name is the one model files record.
public enum LossKind: String, Sendable, CaseIterable {
    case binaryCrossEntropy = "binary_cross_entropy"
    case softmaxCrossEntropy = "softmax_cross_entropy"

    /// The loss for `outputWidth` logits: 1 → binary, ≥ 2 → softmax.
    public init(outputWidth: Int) { self = outputWidth == 1 ? .binaryCrossEntropy : .softmaxCrossEntropy }

    /// The function applied to the logits to get probabilities, as model files record it.
    public var outputActivation: String { self == .binaryCrossEntropy ? "sigmoid" : "softmax" }

    /// The implementation.
    public var loss: any Loss { self == .binaryCrossEntropy ? BinaryCrossEntropy() : SoftmaxCrossEntropy() }
}

/// A loss over rows of logits [batch, width] and class indices.
public protocol Loss: Sendable {
    var kind: LossKind { get }
    /// Writes ∂(mean loss)/∂logits [batch, width] to `delta` and returns the summed loss and the number
    /// of rows whose predicted class is the label. `labels[i]` is row i's class index (as a Float). The
    /// mean is over `meanOver` rows: the whole batch when these rows are one worker's share of it.
    func gradient(logits: UnsafePointer<Float>, labels: UnsafePointer<Float>, batch: Int, width: Int,
                  meanOver: Int, delta: UnsafeMutablePointer<Float>) -> BatchStatistics
    /// Loss of one row of `width` logits against class `label`: bit for bit the value `gradient` adds
    /// for that row (the parallel step re-adds the rows' losses in row order from it).
    func loss(logits: UnsafePointer<Float>, width: Int, label: Int) -> Float
    /// Writes the class probabilities of one row ([classCount], classCount = max(2, width)) and returns
    /// the predicted class.
    func probabilities(logits: UnsafePointer<Float>, width: Int, into probabilities: UnsafeMutablePointer<Float>) -> Int
}

/// Sigmoid + binary cross-entropy on one logit: P(class 1) = σ(z); class 1 is predicted when σ(z) > 0.5.
public struct BinaryCrossEntropy: Loss {
    public init() {}
    public var kind: LossKind { .binaryCrossEntropy }

    public func gradient(logits: UnsafePointer<Float>, labels: UnsafePointer<Float>, batch: Int, width: Int,
                         meanOver: Int, delta: UnsafeMutablePointer<Float>) -> BatchStatistics {
        var lossSum: Double = 0
        var correct = 0
        let scale = 1 / Float(meanOver)
        // dL/dz = (σ(z) − y) / meanOver for the mean binary cross-entropy.
        for i in 0..<batch {
            let z = logits[i], y = labels[i]
            let probability = stableSigmoid(z)
            lossSum += Double(binaryCrossEntropy(logit: z, label: y))
            if (probability > 0.5) == (y > 0.5) { correct += 1 }
            delta[i] = (probability - y) * scale
        }
        return BatchStatistics(lossSum: lossSum, correct: correct)
    }

    public func loss(logits: UnsafePointer<Float>, width: Int, label: Int) -> Float {
        binaryCrossEntropy(logit: logits[0], label: Float(label))
    }

    public func probabilities(logits: UnsafePointer<Float>, width: Int, into probabilities: UnsafeMutablePointer<Float>) -> Int {
        let p = stableSigmoid(logits[0])
        probabilities[0] = 1 - p
        probabilities[1] = p
        return p > 0.5 ? 1 : 0
    }
}

/// Softmax + categorical cross-entropy on K logits: loss = log Σ_j e^(z_j − m) + m − z_y with m = max z,
/// so logits of ±1000 stay finite; the predicted class is the arg max (the first on ties).
public struct SoftmaxCrossEntropy: Loss {
    public init() {}
    public var kind: LossKind { .softmaxCrossEntropy }

    public func gradient(logits: UnsafePointer<Float>, labels: UnsafePointer<Float>, batch: Int, width: Int,
                         meanOver: Int, delta: UnsafeMutablePointer<Float>) -> BatchStatistics {
        var lossSum: Double = 0
        var correct = 0
        let scale = 1 / Float(meanOver)
        for i in 0..<batch {
            let z = logits + i &* width, d = delta + i &* width
            let label = Int(labels[i])
            // d = softmax(z): e^(z − m) / Σ, then dL/dz = (softmax − onehot) / meanOver.
            let (maximum, argmax) = Self.maximum(z, width)
            var sum: Float = 0
            for j in 0..<width {
                let e = expf(z[j] - maximum)
                d[j] = e
                sum += e
            }
            lossSum += Double(logf(sum) + maximum - z[label])
            if argmax == label { correct += 1 }
            let inverse = 1 / sum
            for j in 0..<width { d[j] = d[j] * inverse * scale }
            d[label] -= scale
        }
        return BatchStatistics(lossSum: lossSum, correct: correct)
    }

    public func loss(logits: UnsafePointer<Float>, width: Int, label: Int) -> Float {
        let (maximum, _) = Self.maximum(logits, width)
        var sum: Float = 0
        for j in 0..<width { sum += expf(logits[j] - maximum) }
        return logf(sum) + maximum - logits[label]
    }

    public func probabilities(logits: UnsafePointer<Float>, width: Int, into probabilities: UnsafeMutablePointer<Float>) -> Int {
        let (maximum, argmax) = Self.maximum(logits, width)
        var sum: Float = 0
        for j in 0..<width {
            probabilities[j] = expf(logits[j] - maximum)
            sum += probabilities[j]
        }
        for j in 0..<width { probabilities[j] /= sum }
        return argmax
    }

    /// The largest logit and its first index.
    @inline(__always)
    static func maximum(_ z: UnsafePointer<Float>, _ width: Int) -> (Float, Int) {
        var maximum = z[0], index = 0
        for j in 1..<max(1, width) where z[j] > maximum { maximum = z[j]; index = j }
        return (maximum, index)
    }
}
