import COpenBLAS
import Foundation

/// GEMM through OpenBLAS `cblas_sgemm` (pthread build). OpenBLAS's thread count is process-wide, so the
/// engine sets it before each call. Engines with more than one thread must be called from one thread at a
/// time; single-threaded engines may be called from several threads at once (each call then runs on its
/// caller's thread alone — `DataParallelStepTests` checks Debian's pthread build gives the serial results).
public final class OpenBLASEngine: ComputeEngine {
    public let kind = EngineKind.blas
    public let threadCount: Int

    /// 1: OpenBLAS's own workers hold the other cores, spin-waiting for the next product, so a Dispatch
    /// thread woken beside them for half of Adam costs more than it saves (docs/performance.md).
    public let elementwiseThreadCount = 1

    public init(threads: Int) {
        _ = OpenBLASCore.current  // settles the kernel family before the first product
        threadCount = max(1, threads)
        openblas_set_num_threads(Int32(threadCount))
    }

    /// `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public static var configuration: String {
        _ = OpenBLASCore.current  // it names the kernel family: settle that first
        guard let raw = openblas_get_config() else { return "OpenBLAS (unknown configuration)" }
        return String(cString: raw).trimmingCharacters(in: .whitespaces)
    }

    /// The kernel family in use (e.g. "SkylakeX", "Haswell") and who chose it.
    public static var core: OpenBLASCore { OpenBLASCore.current }

    public var details: String { "\(Self.configuration) (core \(Self.core.description))" }

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if openblas_get_num_threads() != Int32(threadCount) { openblas_set_num_threads(Int32(threadCount)) }
        if n == 1 && k > 0 {
            // A product with one column (the output layer's forward pass and weight gradient) is a
            // matrix-vector product. OpenBLAS 0.3.21 runs it through the full GEMM driver with its
            // packing, several times the cost of sgemv for the same product. c[i·ldc] = Σ_p op(A)[i, p]·b_p,
            // where b_p is b[p·ldb] (B is [k, 1]) or b[p] (Bᵀ stored as [1, k]).
            cblas_sgemv(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                        Int32(transposeA ? k : m), Int32(transposeA ? m : k), 1, a, Int32(lda),
                        b, Int32(transposeB ? 1 : ldb), beta, c, Int32(ldc))
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
