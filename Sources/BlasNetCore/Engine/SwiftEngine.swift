import Foundation
import SwiftKernels

/// GEMM in pure Swift (SwiftKernels): packed panels, a 6×16 SIMD16 register-blocked micro-kernel, and
/// `threadCount` threads splitting C. It runs the copy of the kernel compiled for the widest vectors the
/// CPU has (AVX-512, else AVX2 + FMA, else the portable copy): `KernelSet`.
public final class SwiftEngine: ComputeEngine {
    public let kind = EngineKind.swift
    public let threadCount: Int
    /// All of them: the GEMM keeps Dispatch's workers busy, so splitting Adam wakes no cold thread.
    public var elementwiseThreadCount: Int { threadCount }
    /// The build of the kernels in use.
    public let kernels: KernelSet
    private let workspaces: [GemmWorkspace]

    /// - Parameter kernels: the build to run (tests); by default `KernelSet.current`, which the environment
    ///   variable `BLASNET_KERNEL` (portable, AVX2+FMA, AVX-512) can narrow, to measure what another CPU gets.
    public init(threads: Int, kernels: KernelSet = .current) {
        threadCount = max(1, threads)
        workspaces = (0..<threadCount).map { _ in GemmWorkspace() }
        self.kernels = kernels
    }

    public var details: String {
        "pure Swift GEMM, \(kernels.name) kernel" + (kernels.usesFMA ? "" : " (no FMA)")
    }

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let problem = GemmProblem(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        kernels.gemm(problem, workspaces)
    }
}

/// What the CPU can run, read once from /proc/cpuinfo (Linux x86_64). Elsewhere nothing is claimed,
/// so the portable kernel is used.
public struct CPUFeatures: Sendable {
    public let modelName: String
    public let hasAVX2FMA: Bool
    /// AVX-512 F, CD, BW, DQ and VL: the set OpenBLAS's SkylakeX kernels need.
    public let hasAVX512: Bool
    /// AVX-512 BF16 as well (OpenBLAS's Cooperlake kernels).
    public let hasAVX512BF16: Bool

    public static let current: CPUFeatures = {
        #if arch(x86_64) && os(Linux)
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return CPUFeatures(cpuinfo: text)
        #else
        return CPUFeatures(modelName: "unknown", hasAVX2FMA: false, hasAVX512: false, hasAVX512BF16: false)
        #endif
    }()

    init(modelName: String, hasAVX2FMA: Bool, hasAVX512: Bool, hasAVX512BF16: Bool) {
        self.modelName = modelName
        self.hasAVX2FMA = hasAVX2FMA
        self.hasAVX512 = hasAVX512
        self.hasAVX512BF16 = hasAVX512 && hasAVX512BF16
    }

    /// Parses the first processor's "model name" and "flags" lines.
    init(cpuinfo: String) {
        func value(_ key: String) -> String? {
            for line in cpuinfo.split(separator: "\n") where line.hasPrefix(key) {
                if let colon = line.firstIndex(of: ":") {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
        let flags = Set((value("flags") ?? "").split(separator: " ").map(String.init))
        let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        self.init(modelName: value("model name") ?? "unknown",
                  hasAVX2FMA: flags.contains("avx2") && flags.contains("fma"),
                  hasAVX512: avx512, hasAVX512BF16: flags.contains("avx512_bf16"))
    }
}
