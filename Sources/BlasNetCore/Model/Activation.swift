import Foundation

/// Element-wise activation of a dense layer. The output layer uses `.identity` (logits): its sigmoid is
/// folded into the loss.
public enum Activation: String, Sendable {
    case relu, sigmoid, identity
}

/// σ(z) that never overflows: exp is only taken of −|z| ≤ 0, so ±1000 gives exactly 0 or 1, never NaN.
@inline(__always)
public func stableSigmoid(_ z: Float) -> Float {
    if z >= 0 {
        return 1 / (1 + expf(-z))
    } else {
        let e = expf(z)
        return e / (1 + e)
    }
}

/// Binary cross-entropy of the logit `z` against `label` ∈ {0, 1}, computed from the logit:
/// max(z, 0) − z·y + log(1 + e^−|z|). Finite for any finite z (z = ±1000 gives 0 or 1000).
@inline(__always)
public func binaryCrossEntropy(logit z: Float, label y: Float) -> Float {
    max(z, 0) - z * y + log1pf(expf(-abs(z)))
}

extension Activation {
    /// values = f(values), in place.
    @inline(__always)
    func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { values[i] = max(values[i], 0) }
        case .sigmoid:
            for i in 0..<count { values[i] = stableSigmoid(values[i]) }
        case .identity:
            break
        }
    }

    /// delta ⊙= f′, with f′ written in terms of the layer's output a = f(z): relu′ = [a > 0], σ′ = a(1 − a).
    @inline(__always)
    func multiplyDerivative(_ delta: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
        switch self {
        case .relu:
            // Eight lanes at a time: written as a scalar select, this loop stayed scalar and branchy.
            // Same rule in both loops: keep delta where a > 0, else 0 (NaN a → 0).
            var i = 0
            while i &+ 8 <= count {
                let a = UnsafeRawPointer(output + i).loadUnaligned(as: SIMD8<Float>.self)
                var d = UnsafeRawPointer(delta + i).loadUnaligned(as: SIMD8<Float>.self)
                d.replace(with: 0, where: .!(a .> 0))
                UnsafeMutableRawPointer(delta + i).storeBytes(of: d, as: SIMD8<Float>.self)
                i &+= 8
            }
            while i < count {
                delta[i] = output[i] > 0 ? delta[i] : 0
                i &+= 1
            }
        case .sigmoid:
            for i in 0..<count { delta[i] *= output[i] * (1 - output[i]) }
        case .identity:
            break
        }
    }
}
