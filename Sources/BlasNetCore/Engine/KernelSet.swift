import SwiftKernels
import SwiftKernelsAVX2

/// The build of the pure-Swift kernels (GEMM, Adam, pixel scaling) this process runs, chosen once: the
/// AVX2 + FMA build where the CPU has both (`CPUFeatures.useAVX2FMAKernels`), else the portable one.
/// Every caller takes its kernels from here, so the choice is made in one place.
public struct KernelSet: Sendable {
    /// "AVX2+FMA" or "portable".
    public let name: String
    public let usesAVX2FMA: Bool
    let gemm: @Sendable (GemmProblem, [GemmWorkspace]) -> Void
    let adamUpdate: @Sendable (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, Int, Float, Float, Float, Float) -> Void
    /// destination[i] = Float(source[i]) / 255 for i < count.
    let scalePixelBytes: @Sendable (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>, Int) -> Void

    /// The set for this CPU.
    public static let current: KernelSet = CPUFeatures.useAVX2FMAKernels ? avx2FMA : portable

    /// The baseline build (SSE2 on x86_64): runs on every CPU.
    public static let portable = KernelSet(
        name: "portable", usesAVX2FMA: false,
        gemm: { gemmBaseline($0, workspaces: $1) },
        adamUpdate: { adamUpdateBaseline(parameters: $0, gradients: $1, firstMoment: $2, secondMoment: $3, count: $4,
                                         rate: $5, beta1: $6, beta2: $7, epsilon: $8) },
        scalePixelBytes: { scalePixelBytesBaseline($0, into: $1, count: $2) })

    /// The build for AVX2 + FMA; its instructions fault on a CPU without them.
    static let avx2FMA = KernelSet(
        name: "AVX2+FMA", usesAVX2FMA: true,
        gemm: { gemmAVX2($0, workspaces: $1) },
        adamUpdate: { adamUpdateAVX2(parameters: $0, gradients: $1, firstMoment: $2, secondMoment: $3, count: $4,
                                     rate: $5, beta1: $6, beta2: $7, epsilon: $8) },
        scalePixelBytes: { scalePixelBytesAVX2($0, into: $1, count: $2) })
}
