@testable import BlasNetCore
import SwiftKernels
import XCTest

/// Which build of the Swift kernels runs, and that the two FMA builds compute the same bits.
final class KernelSetTests: XCTestCase {
    private func cpu(avx2: Bool, avx512: Bool) -> CPUFeatures {
        CPUFeatures(modelName: "test", hasAVX2FMA: avx2, hasAVX512: avx512, hasAVX512BF16: false)
    }

    func testTheWidestBuildTheCPURunsUnlessANarrowerOneIsAsked() {
        let zen5 = cpu(avx2: true, avx512: true), zen3 = cpu(avx2: true, avx512: false)
        XCTAssertEqual(KernelSet.available(on: zen5).map(\.name), ["AVX-512", "AVX2+FMA", "portable"])
        XCTAssertEqual(KernelSet.available(on: zen3).map(\.name), ["AVX2+FMA", "portable"])
        XCTAssertEqual(KernelSet.available(on: cpu(avx2: false, avx512: false)).map(\.name), ["portable"])

        XCTAssertEqual(KernelSet.choose(request: nil, cpu: zen5).set.name, "AVX-512")
        XCTAssertEqual(KernelSet.choose(request: "", cpu: zen3).set.name, "AVX2+FMA")
        let narrowed = KernelSet.choose(request: "avx2+fma", cpu: zen5)
        XCTAssertEqual(narrowed.set.name, "AVX2+FMA")
        XCTAssertNil(narrowed.note)
        XCTAssertEqual(KernelSet.choose(request: "PORTABLE", cpu: zen5).set.name, "portable")

        let unsupported = KernelSet.choose(request: "AVX-512", cpu: zen3)
        XCTAssertEqual(unsupported.set.name, "AVX2+FMA")
        XCTAssertEqual(unsupported.note, "note: BLASNET_KERNEL=AVX-512 ignored: this CPU does not run it; using the AVX2+FMA kernels")
        let unknown = KernelSet.choose(request: "sse9", cpu: zen3)
        XCTAssertEqual(unknown.set.name, "AVX2+FMA")
        XCTAssertEqual(unknown.note, "note: BLASNET_KERNEL=sse9 ignored: it is not one of AVX-512, AVX2+FMA, portable; "
                       + "using the AVX2+FMA kernels")
    }

    /// Every FMA build this CPU runs gives the same bits as the AVX2 one, for products with ragged edges,
    /// more than one depth block (k > 256), both transpositions and both betas.
    func testTheFMABuildsComputeTheSameBits() throws {
        let builds = KernelSet.available(on: .current).filter(\.usesFMA)
        guard builds.count > 1 else { throw XCTSkip("this CPU runs \(builds.count) FMA build(s) of the kernels") }
        var generator = SeededGenerator(seed: 7)
        for (m, n, k) in [(1, 1, 1), (6, 16, 256), (7, 17, 300), (97, 130, 33), (256, 128, 784), (32, 1, 64)] {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta: Float in [0, 1] {
                    let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &generator) }
                    let b = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &generator) }
                    let c = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &generator) }
                    let results = builds.map { kernels -> [UInt32] in
                        var output = c
                        let engine = SwiftEngine(threads: 1, kernels: kernels)
                        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
                            output.withUnsafeMutableBufferPointer { out in
                                engine.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                            a: a.baseAddress!, lda: transposeA ? m : k,
                                            b: b.baseAddress!, ldb: transposeB ? k : n,
                                            beta: beta, c: out.baseAddress!, ldc: n)
                            }
                        } }
                        return output.map(\.bitPattern)
                    }
                    for (kernels, result) in zip(builds.dropFirst(), results.dropFirst()) {
                        XCTAssertEqual(result, results[0], "\(kernels.name) vs \(builds[0].name): \(m)×\(n)×\(k), "
                                       + "transposes \(transposeA) \(transposeB), beta \(beta)")
                    }
                }
            }
        }
    }
}
