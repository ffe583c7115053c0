import Foundation
import SwiftKernels
import SwiftKernelsAVX2
import SwiftKernelsAVX512

/// The build of the pure-Swift kernels (GEMM, Adam, pixel scaling) this process runs, chosen once: the
/// widest build the CPU runs (`CPUFeatures`), unless `BLASNET_KERNEL` names a narrower one. Every caller
/// takes its kernels from here, so the choice is made in one place.
///
/// All three builds compile the same source: each element of C sums its products in the same order with
/// the same roundings (FMA in both wide builds), so the AVX2 + FMA and AVX-512 builds give the same
/// numbers bit for bit (`KernelSetTests`); only the portable one (no FMA) rounds differently.
public struct KernelSet: Sendable {
    /// "AVX-512", "AVX2+FMA" or "portable": also what `BLASNET_KERNEL` accepts, case-insensitively.
    public let name: String
    /// Whether the micro-kernel uses fused multiply-add (the AVX2 + FMA and AVX-512 builds).
    public let usesFMA: Bool
    let gemm: @Sendable (GemmProblem, [GemmWorkspace]) -> Void
    let adamUpdate: @Sendable (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                               UnsafeMutablePointer<Float>, Int, Float, Float, Float, Float) -> Void
    /// destination[i] = Float(source[i]) / 255 for i < count.
    let scalePixelBytes: @Sendable (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>, Int) -> Void

    /// The set for this process.
    public static var current: KernelSet { choice.set }

    /// Why `BLASNET_KERNEL` was not followed, when it was set and could not be (for the tool to print).
    public static var requestNote: String? { choice.note }

    /// The choice for this process, made once.
    private static let choice = choose(request: ProcessInfo.processInfo.environment["BLASNET_KERNEL"], cpu: .current)

    /// The builds `cpu` runs, widest first.
    public static func available(on cpu: CPUFeatures) -> [KernelSet] {
        (cpu.hasAVX512 && cpu.hasAVX2FMA ? [avx512] : []) + (cpu.hasAVX2FMA ? [avx2FMA] : []) + [portable]
    }

    /// The widest build `cpu` runs, or the one `request` names if `cpu` runs it; with a note when
    /// `request` is not a build's name or `cpu` cannot run it.
    static func choose(request: String?, cpu: CPUFeatures) -> (set: KernelSet, note: String?) {
        let builds = available(on: cpu)
        guard let request, !request.isEmpty else { return (builds[0], nil) }
        if let asked = builds.first(where: { $0.name.lowercased() == request.lowercased() }) { return (asked, nil) }
        let known = [avx512, avx2FMA, portable].map(\.name)
        let why = known.contains(where: { $0.lowercased() == request.lowercased() })
            ? "this CPU does not run it" : "it is not one of \(known.joined(separator: ", "))"
        return (builds[0], "note: BLASNET_KERNEL=\(request) ignored: \(why); using the \(builds[0].name) kernels")
    }

    /// The baseline build (SSE2 on x86_64): runs on every CPU.
    public static let portable = KernelSet(
        name: "portable", usesFMA: false,
        gemm: { gemmBaseline($0, workspaces: $1) },
        adamUpdate: { adamUpdateBaseline(parameters: $0, gradients: $1, firstMoment: $2, secondMoment: $3, count: $4,
                                         rate: $5, beta1: $6, beta2: $7, epsilon: $8) },
        scalePixelBytes: { scalePixelBytesBaseline($0, into: $1, count: $2) })

    /// The build for AVX2 + FMA; its instructions fault on a CPU without them.
    static let avx2FMA = KernelSet(
        name: "AVX2+FMA", usesFMA: true,
        gemm: { gemmAVX2($0, workspaces: $1) },
        adamUpdate: { adamUpdateAVX2(parameters: $0, gradients: $1, firstMoment: $2, secondMoment: $3, count: $4,
                                     rate: $5, beta1: $6, beta2: $7, epsilon: $8) },
        scalePixelBytes: { scalePixelBytesAVX2($0, into: $1, count: $2) })

    /// The build for AVX-512 (F, CD, BW, DQ, VL) + FMA; its instructions fault on a CPU without them.
    static let avx512 = KernelSet(
        name: "AVX-512", usesFMA: true,
        gemm: { gemmAVX512($0, workspaces: $1) },
        adamUpdate: { adamUpdateAVX512(parameters: $0, gradients: $1, firstMoment: $2, secondMoment: $3, count: $4,
                                       rate: $5, beta1: $6, beta2: $7, epsilon: $8) },
        scalePixelBytes: { scalePixelBytesAVX512($0, into: $1, count: $2) })
}
