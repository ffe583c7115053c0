import Foundation
import SwiftKernels
import SwiftKernelsAVX2

/// Adam as Keras implements it: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
/// p ← p − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε). Updates the parameters in place and leaves the gradients
/// zeroed, ready for the next step's backward pass to add into.
public final class AdamOptimizer {
    public let learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    /// Updates applied so far (t).
    public private(set) var step = 0
    private let firstMoment: FloatBuffer
    private let secondMoment: FloatBuffer

    /// Keras defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7.
    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-7) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoment = FloatBuffer(count: parameterCount)
        secondMoment = FloatBuffer(count: parameterCount)
    }

    public func update(parameters: FloatBuffer, gradients: FloatBuffer) {
        precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count,
                     "Adam: parameter/gradient sizes differ from the optimizer's")
        step += 1
        let t = Double(step)
        let correctedRate = Float(Double(learningRate) * (1 - pow(Double(beta2), t)).squareRoot()
                                  / (1 - pow(Double(beta1), t)))
        let update = CPUFeatures.useAVX2FMAKernels ? adamUpdateAVX2 : adamUpdateBaseline
        update(parameters.pointer, gradients.pointer, firstMoment.pointer, secondMoment.pointer, parameters.count, correctedRate,
               beta1, beta2, epsilon)
    }
}

