/// The Adam update over `count` parameters:
///   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  p ← p − rate · m / (√v + ε),  g ← 0,
/// with `rate` the bias-corrected learning rate. Zeroing g as it is consumed lets the next backward pass
/// accumulate into it without a separate clearing pass. `@inlinable @inline(__always)` so that the AVX2 module
/// compiles its own copy. `abs(v).squareRoot()`: on Linux `squareRoot()` is a libm call that may set
/// errno for negative input, which stops vectorisation; on a value known to be ≥ 0 LLVM emits sqrtps.
/// v ≥ 0 always, so abs changes no result.
@inlinable @inline(__always)
public func adamUpdate(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafeMutablePointer<Float>,
                       firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
                       count: Int, rate: Float, beta1: Float, beta2: Float, epsilon: Float) {
    let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
    for i in 0..<count {
        let gradient = g[i]
        let mi = beta1 * m[i] + oneMinusBeta1 * gradient
        let vi = beta2 * v[i] + oneMinusBeta2 * gradient * gradient
        m[i] = mi
        v[i] = vi
        p[i] -= rate * mi / (abs(vi).squareRoot() + epsilon)
        g[i] = 0
    }
}

/// The portable build of `adamUpdate`.
public func adamUpdateBaseline(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                               firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>,
                               count: Int, rate: Float, beta1: Float, beta2: Float, epsilon: Float) {
    adamUpdate(parameters: parameters, gradients: gradients, firstMoment: firstMoment, secondMoment: secondMoment,
               count: count, rate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon)
}
