// Which OpenBLAS kernel family (its "core") runs the products, and who chose it.
//
// A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU when the library loads, unless the environment
// variable OPENBLAS_CORETYPE names a family. blasnet obeys that variable — it is the user's documented
// override — but says so: a family older than the CPU (the AVX2 "Haswell" kernels on a CPU with
// AVX-512) gives the dense model's products a fraction of what OpenBLAS's own choice gives
// (docs/performance.md has the figures), and a variable set once in a shell profile is easily forgotten.
import COpenBLAS
import Foundation

/// The OpenBLAS kernel family in use and whether the environment forced it.
public struct OpenBLASCore: Sendable, Equatable {
    /// `openblas_get_corename()`, e.g. "Cooperlake", "SkylakeX", "Haswell", "Zen".
    public let name: String
    /// The value of OPENBLAS_CORETYPE when it is set (OpenBLAS then loaded that family, or fell back).
    public let forcedBy: String?

    public init(name: String, forcedBy: String?) {
        self.name = name
        self.forcedBy = forcedBy
    }

    /// e.g. "Cooperlake, chosen by OpenBLAS" or "Haswell, set by OPENBLAS_CORETYPE=Haswell".
    public var description: String {
        forcedBy.map { "\(name), set by OPENBLAS_CORETYPE=\($0)" } ?? "\(name), chosen by OpenBLAS"
    }

    /// The x86_64 families whose single-precision GEMM kernels use AVX-512.
    static let avx512Families: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// A one-line note when OPENBLAS_CORETYPE holds OpenBLAS to a family without AVX-512 kernels on a CPU
    /// that has AVX-512; nil otherwise.
    public func warning(on cpu: CPUFeatures = .current) -> String? {
        guard let forcedBy, cpu.hasAVX512, !Self.avx512Families.contains(name.lowercased()) else { return nil }
        return "note: OPENBLAS_CORETYPE=\(forcedBy) holds OpenBLAS to its \(name) kernels; this CPU has AVX-512, "
            + "whose kernels OpenBLAS picks itself when the variable is unset (faster products)"
    }

    /// The core in use, read once.
    public static let current: OpenBLASCore = {
        let name = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        return OpenBLASCore(name: name, forcedBy: forced)
    }()
}
