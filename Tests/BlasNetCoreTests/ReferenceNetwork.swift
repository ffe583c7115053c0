import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import Foundation

/// A deliberately plain Float64 implementation of the network's mean loss, written independently of the
/// library (loops, no engines), for finite-difference checks.
struct ReferenceNetwork {
    let layerSizes: [Int]
    let hidden: Activation

    /// Mean loss over `batch` rows of `input` with the flat `parameters` (per layer: W [in, out]
    /// row-major, then b [out]): binary cross-entropy on one logit, softmax cross-entropy on K ≥ 2
    /// (`labels` hold class indices).
    func meanLoss(parameters: [Double], input: [Double], labels: [Double], batch: Int) -> Double {
        var total = 0.0
        for row in 0..<batch {
            var activations = Array(input[(row * layerSizes[0])..<((row + 1) * layerSizes[0])])
            var offset = 0
            for layer in 0..<(layerSizes.count - 1) {
                let inputs = layerSizes[layer], outputs = layerSizes[layer + 1]
                var next = [Double](repeating: 0, count: outputs)
                for j in 0..<outputs {
                    var z = parameters[offset + inputs * outputs + j]
                    for i in 0..<inputs { z += parameters[offset + i * outputs + j] * activations[i] }
                    let isOutput = layer == layerSizes.count - 2
                    switch (isOutput, hidden) {
                    case (true, _): next[j] = z
                    case (false, .relu): next[j] = max(z, 0)
                    case (false, .sigmoid): next[j] = 1 / (1 + exp(-z))
                    case (false, .identity): next[j] = z
                    }
                }
                offset += inputs * outputs + outputs
                activations = next
            }
            if activations.count == 1 {
                let z = activations[0], y = labels[row]
                total += max(z, 0) - z * y + log(1 + exp(-abs(z)))
            } else {
                // −log softmax(z)[y], written directly: log Σ e^z_j − z_y (shifted by the max for range).
                let m = activations.max()!
                total += log(activations.reduce(0) { $0 + exp($1 - m) }) + m - activations[Int(labels[row])]
            }
        }
        return total / Double(batch)
    }

    /// Central differences of `meanLoss` for every parameter.
    func numericalGradient(parameters: [Double], input: [Double], labels: [Double], batch: Int,
                           step: Double = 1e-6) -> [Double] {
        var perturbed = parameters
        return parameters.indices.map { index in
            perturbed[index] = parameters[index] + step
            let plus = meanLoss(parameters: perturbed, input: input, labels: labels, batch: batch)
            perturbed[index] = parameters[index] - step
            let minus = meanLoss(parameters: perturbed, input: input, labels: labels, batch: batch)
            perturbed[index] = parameters[index]
            return (plus - minus) / (2 * step)
        }
    }
}
