// Which OpenBLAS kernel family (its "core") runs the products, and who chose it.
//
// A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU when the library loads, unless the environment
// variable OPENBLAS_CORETYPE names a family. blasnet obeys that variable — it is the user's documented
// override — but says so: a family older than the CPU (the AVX2 "Haswell" kernels on a CPU with
// AVX-512) gives the dense model's products a fraction of what OpenBLAS's own choice gives
// (docs/performance.md has the figures), and a variable set once in a shell profile is easily forgotten.
//
// Without the variable, OpenBLAS's own choice is kept unless it is the fallback of an OpenBLAS older than
// 0.3.25 (Debian 12 ships 0.3.21) for an Intel model it does not know: the SSE3 "Prescott" kernels, on a
// CPU with AVX2 or AVX-512. Then blasnet picks the family by the CPU's features, as OpenBLAS 0.3.25 does
// (OpenBLAS#4268), once and before the first product.
import COpenBLAS
import Foundation

/// The OpenBLAS kernel family in use and whether the environment forced it.
public struct OpenBLASCore: Sendable, Equatable {
    /// `openblas_get_corename()`, e.g. "Cooperlake", "SkylakeX", "Haswell", "Zen".
    public let name: String
    /// The value of OPENBLAS_CORETYPE when it is set (OpenBLAS then loaded that family, or fell back).
    public let forcedBy: String?
    /// The family OpenBLAS picked itself when blasnet replaced it (`replacement(for:on:)`), else nil.
    public let replaced: String?

    public init(name: String, forcedBy: String?, replaced: String? = nil) {
        self.name = name
        self.forcedBy = forcedBy
        self.replaced = replaced
    }

    /// e.g. "Cooperlake, chosen by OpenBLAS", "Haswell, set by OPENBLAS_CORETYPE=Haswell" or
    /// "Cooperlake, chosen by blasnet from the CPU's features; OpenBLAS picked Prescott".
    public var description: String {
        if let forcedBy { return "\(name), set by OPENBLAS_CORETYPE=\(forcedBy)" }
        if let replaced { return "\(name), chosen by blasnet from the CPU's features; OpenBLAS picked \(replaced)" }
        return "\(name), chosen by OpenBLAS"
    }

    /// The x86_64 families whose single-precision GEMM kernels use AVX-512.
    static let avx512Families: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// A one-line note when OPENBLAS_CORETYPE holds OpenBLAS to a family without AVX-512 kernels on a CPU
    /// that has AVX-512; nil otherwise.
    public func warning(on cpu: CPUFeatures = .current) -> String? {
        guard let forcedBy, cpu.hasAVX512, !Self.avx512Families.contains(name.lowercased()) else { return nil }
        return "note: OPENBLAS_CORETYPE=\(forcedBy) holds OpenBLAS to its \(name) kernels; this CPU has AVX-512, "
            + "whose kernels run when the variable is unset (faster products)"
    }

    /// The x86_64 families whose kernels use neither AVX2 nor FMA: what OpenBLAS before 0.3.25 falls back
    /// to on an Intel model it does not know (Prescott), and the older Intel families it may match instead.
    static let preAVX2Families: Set<String> = [
        "prescott", "katmai", "coppermine", "northwood", "banias", "atom", "core2", "penryn", "dunnington",
        "nehalem", "sandybridge",
    ]

    /// The family to load instead of OpenBLAS's own choice `name`, or nil to keep it: on a CPU with AVX2 and
    /// FMA, a family without them is replaced by the one OpenBLAS 0.3.25 picks from the same features —
    /// Cooperlake with AVX-512 BF16, SkylakeX with AVX-512, else Haswell.
    public static func replacement(for name: String, on cpu: CPUFeatures) -> String? {
        guard cpu.hasAVX2FMA, preAVX2Families.contains(name.lowercased()) else { return nil }
        return cpu.hasAVX512BF16 ? "Cooperlake" : cpu.hasAVX512 ? "SkylakeX" : "Haswell"
    }

    private static func loadedName() -> String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// The core in use, settled once: the first `OpenBLASEngine` reads it before its first product, and so
    /// does anything else in blasnet that calls OpenBLAS.
    public static let current: OpenBLASCore = {
        // An empty variable is no choice: OpenBLAS then picks by itself, as without it.
        let variable = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        let picked = loadedName()
        if variable == nil, let family = replacement(for: picked, on: .current),
           blasnet_openblas_reselect_core(family) == 1 {
            let name = loadedName()
            // OpenBLAS falls back to Prescott itself when a build lacks the family asked for.
            if name.lowercased() != picked.lowercased() { return OpenBLASCore(name: name, forcedBy: nil, replaced: picked) }
        }
        return OpenBLASCore(name: picked, forcedBy: variable)
    }()
}
