// ColumnBlock: one task's own copy of its columns of the first layer while the column split trains
// (`DataParallelStep`, `ColumnSplit`).

/// One task's columns N of the first layer, contiguous: [in + 1, |N|] — W_0[:, N] row by row, then b_0[N]
/// as the last row — with the same layout for their gradient and Adam's two moments. Element for element
/// the arithmetic is the network's own (`Network.forward`, `addWeightGradient`, Adam), so where the
/// engine's products do not depend on the slice or its leading dimension (`ColumnSplit`), the bits are
/// those of the whole layer.
final class ColumnBlock {
    let columns: Range<Int>
    /// in_0: rows of W_0 (the bias row follows them).
    let inputs: Int
    let weights, gradients, firstMoment, secondMoment: FloatBuffer

    init(columns: Range<Int>, inputs: Int) {
        self.columns = columns
        self.inputs = inputs
        let count = (inputs + 1) * columns.count
        weights = FloatBuffer(count: count)
        gradients = FloatBuffer(count: count)
        firstMoment = FloatBuffer(count: count)
        secondMoment = FloatBuffer(count: count)
    }

    /// This block's elements of `source` (laid out like the network's parameters) into `block`.
    func copy(from source: UnsafePointer<Float>, layer: DenseLayer, into block: UnsafeMutablePointer<Float>) {
        let width = columns.count
        for row in 0..<inputs {
            (block + row &* width).update(from: source + layer.weightOffset + row &* layer.outputSize + columns.lowerBound,
                                          count: width)
        }
        (block + inputs &* width).update(from: source + layer.biasOffset + columns.lowerBound, count: width)
    }

    /// `block`'s elements back into `destination` (laid out like the network's parameters).
    func copy(_ block: UnsafePointer<Float>, layer: DenseLayer, to destination: UnsafeMutablePointer<Float>) {
        let width = columns.count
        for row in 0..<inputs {
            (destination + layer.weightOffset + row &* layer.outputSize + columns.lowerBound)
                .update(from: block + row &* width, count: width)
        }
        (destination + layer.biasOffset + columns.lowerBound).update(from: block + inputs &* width, count: width)
    }

    /// Z_0[:, N] = b_0[N] + X · W_0[:, N] into those columns of `z` ([batch, width]), X [batch, in_0]: the
    /// bias, then the product added with beta 1, as `Network.forward` forms Z_0.
    func formZ(input: UnsafePointer<Float>, batch: Int, into z: UnsafeMutablePointer<Float>, width: Int,
               engine: ComputeEngine) {
        let count = columns.count
        let bias = UnsafePointer(weights.pointer + inputs &* count)
        for row in 0..<batch { (z + row &* width + columns.lowerBound).update(from: bias, count: count) }
        engine.gemm(transposeA: false, transposeB: false, m: batch, n: count, k: inputs, a: input, lda: inputs,
                    b: weights.pointer, ldb: count, beta: 1, c: z + columns.lowerBound, ldc: width)
    }

    /// dW_0[:, N] += Xᵀ · ∂L/∂Z_0[:, N] and db_0[N] += Σ_rows ∂L/∂Z_0[:, N] into `gradients`, over `batch`
    /// rows of X [batch, in_0] and `delta` [batch, width], as `Network.addWeightGradient` adds them.
    func addGradient(input: UnsafePointer<Float>, delta: UnsafePointer<Float>, batch: Int, width: Int,
                     engine: ComputeEngine) {
        let count = columns.count
        engine.gemm(transposeA: true, transposeB: false, m: inputs, n: count, k: batch, a: input, lda: inputs,
                    b: delta + columns.lowerBound, ldb: width, beta: 1, c: gradients.pointer, ldc: count)
        let biasGradient = gradients.pointer + inputs &* count
        for row in 0..<batch {
            let line = delta + row &* width + columns.lowerBound
            for j in 0..<count { biasGradient[j] += line[j] }
        }
    }
}
