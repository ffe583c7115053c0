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
    /// Threads that share each update (contiguous slices of the parameters; element-wise, so the
    /// result does not depend on the count).
    public let threadCount: Int
    /// Updates applied so far (t).
    public private(set) var step = 0
    private let firstMoment: FloatBuffer
    private let secondMoment: FloatBuffer

    /// Keras defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7. `threads`: the engine's
    /// `elementwiseThreadCount` — the update streams the parameters, gradients and both moments once per
    /// step, a memory-bound pass whose share of a step grows as the batch shrinks.
    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-7, threads: Int = 1) {
        threadCount = max(1, threads)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoment = FloatBuffer(count: parameterCount)
        secondMoment = FloatBuffer(count: parameterCount)
    }

    /// m and v, laid out like the parameters: a parallel step that keeps its own copy of some parameters
    /// between epochs keeps their moments with them and writes both back (`DataParallelStep`).
    package var moments: (first: FloatBuffer, second: FloatBuffer) { (firstMoment, secondMoment) }

    /// Counts one step and returns its update, for callers that apply it in slices themselves (each
    /// slice once, e.g. on a worker pool); `update(parameters:gradients:)` does both.
    package func beginStep(parameters: FloatBuffer, gradients: FloatBuffer) -> AdamSlices {
        precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count,
                     "Adam: parameter/gradient sizes differ from the optimizer's")
        step += 1
        let t = Double(step)
        let correctedRate = Float(Double(learningRate) * (1 - pow(Double(beta2), t)).squareRoot()
                                  / (1 - pow(Double(beta1), t)))
        return AdamSlices(parameters: parameters.pointer, gradients: gradients.pointer,
                          firstMoment: firstMoment.pointer, secondMoment: secondMoment.pointer,
                          count: parameters.count, rate: correctedRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public func update(parameters: FloatBuffer, gradients: FloatBuffer) {
        let slices = beginStep(parameters: parameters, gradients: gradients)
        let parts = min(threadCount, parameters.count / AdamSlices.minimumSlice)
        if parts <= 1 {
            slices.update(0..<parameters.count)
        } else {
            let mode = FloatingPointMode.current  // worker threads compute as the caller does
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                mode.perform { slices.update(slices.range(part: part, of: parts)) }
            }
        }
    }
}

/// One Adam update's buffers, split into slices that threads update independently.
package struct AdamSlices: @unchecked Sendable {  // raw pointers into buffers the optimizer owns
    /// Below this many parameters per thread, waking a thread costs more than it saves.
    static let minimumSlice = 16_384
    let parameters, gradients, firstMoment, secondMoment: UnsafeMutablePointer<Float>
    let count: Int
    let rate, beta1, beta2, epsilon: Float

    /// Slice `part` of `parts`, starting at a multiple of 16 floats: a 64-byte boundary, as `FloatBuffer`
    /// storage is cache-line aligned, so no two threads write the same line.
    package func range(part: Int, of parts: Int) -> Range<Int> {
        let lines = (count + 15) / 16
        return min(count, lines * part / parts * 16)..<min(count, lines * (part + 1) / parts * 16)
    }

    /// The same step's update (rate, betas, epsilon) for other buffers of equal size: a copy of some of the
    /// parameters with their gradient and moments, as the parallel step's column blocks hold them.
    package func on(parameters: FloatBuffer, gradients: FloatBuffer, firstMoment: FloatBuffer,
                    secondMoment: FloatBuffer) -> AdamSlices {
        precondition(gradients.count == parameters.count && firstMoment.count == parameters.count
                     && secondMoment.count == parameters.count, "Adam: buffer sizes differ")
        return AdamSlices(parameters: parameters.pointer, gradients: gradients.pointer, firstMoment: firstMoment.pointer,
                          secondMoment: secondMoment.pointer, count: parameters.count, rate: rate, beta1: beta1,
                          beta2: beta2, epsilon: epsilon)
    }

    package func update(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let kernel = KernelSet.current.adamUpdate
        let start = range.lowerBound
        kernel(parameters + start, gradients + start, firstMoment + start, secondMoment + start, range.count,
               rate, beta1, beta2, epsilon)
    }
}

