import Foundation
/// Which implementation of the matrix products a network runs on.
public enum EngineKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// OpenBLAS `cblas_sgemm`.
    case blas
    /// Pure Swift: packed, register-blocked SIMD GEMM, no C.
    case swift

    public var description: String { rawValue }
}

/// The one operation the network needs from an engine: a row-major single-precision GEMM,
///   C[m×n] = op(A)[m×k] · op(B)[k×n] + beta · C,
/// with op(X) = Xᵀ when `transposeX` is true (then A is stored k×m, B is stored n×k).
/// Leading dimensions are the row strides of the matrices *as stored*. `beta` is 0 (overwrite) or 1
/// (accumulate). Everything else (bias, activations, loss, Adam) is shared Swift code, so the two
/// engines differ only here.
public protocol ComputeEngine: AnyObject {
    var kind: EngineKind { get }
    /// Threads this engine uses for one GEMM (already capped at the core count).
    var threadCount: Int { get }
    /// Threads the element-wise work between the products (the Adam update) should use: the engine
    /// knows whether waking extra threads for it pays (1 … `threadCount`).
    var elementwiseThreadCount: Int { get }
    /// One line describing the implementation, e.g. the OpenBLAS build string.
    var details: String { get }

    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
}

/// Thread counts the engines accept: at least 1, at most the online cores (more threads than cores only
/// slow sgemm down: they take turns on the cores between the small products of a step).
public enum ThreadPolicy {
    /// Cores online now.
    public static var onlineCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// `requested` capped to `onlineCores`; `wasCapped` tells the caller to say so.
    public static func resolve(requested: Int) -> (threads: Int, wasCapped: Bool) {
        let cores = onlineCores
        let threads = max(1, requested)
        return threads > cores ? (cores, true) : (threads, false)
    }

    /// The thread count to train with when none is asked for: two where the machine has them (more is
    /// untested) — from `ColumnSplit.batchLimit` rows on, and below it where two give the one-thread
    /// weights bit for bit (`ColumnSplit`), so that the default run keeps the original model's numbers.
    /// Otherwise one: below that batch size the step's other split changes the last bits.
    /// `layerSizes`: the network's, input first.
    public static func defaultThreads(layerSizes: [Int], engine: EngineKind, batchSize: Int) -> Int {
        let two = min(2, onlineCores)
        guard two > 1 else { return 1 }
        if batchSize >= ColumnSplit.batchLimit { return two }
        return ColumnSplit.keepsOneThreadNumbers(layerSizes: layerSizes, kind: engine, tasks: two, batchSize: batchSize)
            ? two : 1
    }
}

/// Builds an engine of `kind` with `threads` threads (call `ThreadPolicy.resolve` first).
public func makeEngine(_ kind: EngineKind, threads: Int) -> ComputeEngine {
    switch kind {
    case .blas: return OpenBLASEngine(threads: threads)
    case .swift: return SwiftEngine(threads: threads)
    }
}
