// ColumnSplit: when a step split among threads can give the one-thread weights bit for bit.
//
// The parallel step (`DataParallelStep`) can cut a batch's work so that every sum runs as on one thread:
// the first layer by its output columns — each task forms Z_0[:, N_t] = b_0[N_t] + X · W_0[:, N_t] over the
// whole batch, and later dW_0[:, N_t] += Xᵀ · ∂L/∂Z_0[:, N_t] — the later layers' forward and backward
// products by the tasks' rows of the batch, and their weight gradients by rows of W. Every element of
// every slice is then the very sum the whole product forms — if the engine's kernel forms each element the
// same way whatever slice it is in. Nothing promises that. OpenBLAS's AVX-512 kernels (SkylakeX,
// Cooperlake) keep the bits for the even slices of these shapes, its Haswell and Zen kernels change them,
// and odd slices change them everywhere (scripts/gemm_split_invariance.c). So the step checks, before it
// trains: each product of the split, on random values, whole and in its slices, on the engine that will
// run it. Only when all agree does it split by columns; otherwise it splits the first layer by its
// inputs, whose parts sum in another order (`DataParallelStep`), and the thread count changes the last bits.
//
// From `batchLimit` rows on the input split is kept regardless. The column split costs a little at small
// batches and more at large ones — each task gathers and packs the whole batch input, and no later layer's
// gradient is formed in row parts — and below the limit the alternative for keeping the default run's
// numbers is one thread (docs/performance.md has the measurements).

/// Whether and how a step's first layer is split by output columns (see the file's header).
public enum ColumnSplit {
    /// Batches of at least this many rows always use the input split.
    public static let batchLimit = 128

    /// Task `task`'s share of `count` (rows of a batch, or columns of a layer): contiguous, sizes
    /// differing by at most one. The step shares its rows and columns by this rule too.
    static func share(_ task: Int, of count: Int, tasks: Int) -> Range<Int> {
        (count * task / tasks)..<(count * (task + 1) / tasks)
    }

    /// Whether a step of `tasks` tasks on single-threaded `kind` engines, for a network of `layerSizes`
    /// (input first) at batches of `batchSize` rows, splits by columns and so gives the one-thread weights
    /// bit for bit. False for one task, from `batchLimit` on, and for sizes a network cannot have.
    public static func keepsOneThreadNumbers(layerSizes: [Int], kind: EngineKind, tasks: Int, batchSize: Int) -> Bool {
        guard tasks > 1, batchSize >= tasks, batchSize < batchLimit,
              let network = try? Network(layerSizes: layerSizes, hiddenActivation: .relu) else { return false }
        return keepsOneThreadNumbers(network.layers, engine: makeEngine(kind, threads: 1), tasks: tasks,
                                     batchSize: batchSize)
    }

    /// The check itself, on `engine` (single-threaded): every product of the column split, whole and sliced.
    static func keepsOneThreadNumbers(_ layers: [DenseLayer], engine: ComputeEngine, tasks: Int, batchSize: Int) -> Bool {
        guard tasks > 1, batchSize >= tasks, batchSize < batchLimit, let first = layers.first else { return false }
        var generator = SeededGenerator(seed: 0x5EED)
        let rows = (0..<tasks).map { share($0, of: batchSize, tasks: tasks) }
        let columns = (0..<tasks).map { share($0, of: first.outputSize, tasks: tasks) }
        // Z_0 = b_0 + X · W_0 with W_0's columns from a task's own contiguous block, and dW_0 += Xᵀ · ∂L/∂Z_0
        // into such a block (`ColumnBlock`), by output columns.
        var checks: [(product: Product, slices: [Range<Int>], byRows: Bool, packed: PackedOperand?)] = [
            (Product(transposeA: false, transposeB: false, m: batchSize, n: first.outputSize, k: first.inputSize,
                     beta: 1), columns, false, .b),
            (Product(transposeA: true, transposeB: false, m: first.inputSize, n: first.outputSize, k: batchSize,
                     beta: 1), columns, false, .c),
        ]
        let plan = DataParallelStep.plan(layers, tasks: tasks, firstLayerByColumns: true)
        for (index, layer) in layers.enumerated() where index >= 1 {
            // Forward Z = b + A · W and backward ∂L/∂A = ∂L/∂Z · Wᵀ by the tasks' rows of the batch.
            checks.append((Product(transposeA: false, transposeB: false, m: batchSize, n: layer.outputSize,
                                   k: layer.inputSize, beta: 1), rows, true, nil))
            checks.append((Product(transposeA: false, transposeB: true, m: batchSize, n: layer.inputSize,
                                   k: layer.outputSize, beta: 0), rows, true, nil))
            // dW += Aᵀ · ∂L/∂Z by the plan's rows of W.
            let blocks = plan.joined().filter { $0.layer == index }.map(\.inputRows)
            if blocks.count > 1 {
                checks.append((Product(transposeA: true, transposeB: false, m: layer.inputSize, n: layer.outputSize,
                                       k: batchSize, beta: 1), blocks, true, nil))
            }
        }
        return checks.allSatisfy {
            slicesAgree($0.product, slices: $0.slices, byRows: $0.byRows, packed: $0.packed, engine: engine,
                        generator: &generator)
        }
    }

    /// C[m, n] = op(A) · op(B) + beta · C, row-major with A, B and C packed (op(A) is [m, k], op(B) [k, n]).
    struct Product {
        let transposeA, transposeB: Bool
        let m, n, k: Int
        let beta: Float
    }

    /// For column slices: which operand a slice has in a contiguous buffer of its own (leading dimension
    /// the slice's width), as a `ColumnBlock` holds it.
    enum PackedOperand { case b, c }

    /// Whether `engine` gives every element of `product` the same bits computed in `slices` of C's rows
    /// (`byRows`) or columns as computed whole, on random values. `packed`: with column slices, B's or C's
    /// columns of each slice are copied to a contiguous buffer first (and C's back after).
    static func slicesAgree(_ product: Product, slices: [Range<Int>], byRows: Bool, packed: PackedOperand?,
                            engine: ComputeEngine, generator: inout SeededGenerator) -> Bool {
        precondition(packed == nil || (!byRows && !product.transposeB), "packed slices are of B's columns")
        let (m, n, k) = (product.m, product.n, product.k)
        let lda = product.transposeA ? m : k, ldb = product.transposeB ? k : n
        let a = (0..<(m * k)).map { _ in generator.nextFloat(symmetric: 1) }
        let b = (0..<(k * n)).map { _ in generator.nextFloat(symmetric: 1) }
        var whole = (0..<(m * n)).map { _ in generator.nextFloat(symmetric: 1) }
        var sliced = whole
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let a = a.baseAddress!, b = b.baseAddress!
                whole.withUnsafeMutableBufferPointer { c in
                    engine.gemm(transposeA: product.transposeA, transposeB: product.transposeB, m: m, n: n, k: k,
                                a: a, lda: lda, b: b, ldb: ldb, beta: product.beta, c: c.baseAddress!, ldc: n)
                }
                sliced.withUnsafeMutableBufferPointer { c in
                    let c = c.baseAddress!
                    for slice in slices where !slice.isEmpty {
                        if byRows {  // rows of C: rows of op(A)
                            engine.gemm(transposeA: product.transposeA, transposeB: product.transposeB,
                                        m: slice.count, n: n, k: k,
                                        a: product.transposeA ? a + slice.lowerBound : a + slice.lowerBound * lda, lda: lda,
                                        b: b, ldb: ldb, beta: product.beta, c: c + slice.lowerBound * n, ldc: n)
                        } else if let packed {  // columns of C from or into a contiguous [·, slice.count]
                            let width = slice.count
                            var own = [Float](repeating: 0, count: (packed == .b ? k : m) * width)
                            let (rowsOfSource, source) = packed == .b ? (k, b) : (m, UnsafePointer(c))
                            for row in 0..<rowsOfSource {
                                for j in 0..<width { own[row * width + j] = source[row * (packed == .b ? ldb : n) + slice.lowerBound + j] }
                            }
                            own.withUnsafeMutableBufferPointer { own in
                                let own = own.baseAddress!
                                if packed == .b {
                                    engine.gemm(transposeA: product.transposeA, transposeB: false, m: m, n: width, k: k,
                                                a: a, lda: lda, b: own, ldb: width, beta: product.beta,
                                                c: c + slice.lowerBound, ldc: n)
                                } else {
                                    engine.gemm(transposeA: product.transposeA, transposeB: false, m: m, n: width, k: k,
                                                a: a, lda: lda, b: b + slice.lowerBound, ldb: ldb, beta: product.beta,
                                                c: own, ldc: width)
                                    for row in 0..<m {
                                        for j in 0..<width { c[row * n + slice.lowerBound + j] = own[row * width + j] }
                                    }
                                }
                            }
                        } else {  // columns of C: columns of op(B)
                            engine.gemm(transposeA: product.transposeA, transposeB: product.transposeB,
                                        m: m, n: slice.count, k: k, a: a, lda: lda,
                                        b: product.transposeB ? b + slice.lowerBound * ldb : b + slice.lowerBound, ldb: ldb,
                                        beta: product.beta, c: c + slice.lowerBound, ldc: n)
                        }
                    }
                }
            }
        }
        return zip(whole, sliced).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}
