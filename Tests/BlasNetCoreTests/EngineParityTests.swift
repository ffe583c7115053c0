@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

/// The pure-Swift engine against OpenBLAS and against a Float64 triple loop, for every transpose pair,
/// ragged sizes (not multiples of the 6×16 tile), depths past the 256 block, batch 1 and the real layers.
final class EngineParityTests: XCTestCase {
    /// (m, n, k) shapes. Sizes stay small enough for debug builds.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 128, 784), (3, 64, 128), (7, 13, 5), (6, 16, 256), (13, 33, 300), (97, 17, 9),
        (100, 1030, 3), (32, 1, 64), (128, 37, 32), (5, 49, 517),
    ]

    /// Every build of the Swift kernels this CPU runs, one and two threads of the default, and OpenBLAS.
    static let engines: [(String, @Sendable () -> ComputeEngine)] =
        KernelSet.available(on: .current).map { kernels -> (String, @Sendable () -> ComputeEngine) in
            ("swift, \(kernels.name) kernel", { @Sendable in SwiftEngine(threads: 1, kernels: kernels) })
        } + others

    private static let others: [(String, @Sendable () -> ComputeEngine)] = [
        ("swift, 2 threads", { SwiftEngine(threads: 2) }),
        ("blas", { OpenBLASEngine(threads: 1) }),
    ]

    /// op(A)·op(B) + beta·C in Float64, row-major, with the stored layouts the engines use.
    private func referenceProduct(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                  a: [Float], b: [Float], beta: Float, c: [Float]) -> [Double] {
        var result = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * m + i] : a[i * k + p]
                    let bValue = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += Double(aValue) * Double(bValue)
                }
                result[i * n + j] = sum + (beta == 0 ? 0 : Double(beta) * Double(c[i * n + j]))
            }
        }
        return result
    }

    func testGemmMatchesReferenceForAllTransposesShapesAndEngines() {
        var generator = SeededGenerator(seed: 11)
        for (m, n, k) in Self.shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for beta: Float in [0, 1] {
                        let a = randomValues(m * k, generator: &generator)
                        let b = randomValues(k * n, generator: &generator)
                        // beta 0 must overwrite whatever C held, even NaN.
                        let initial = beta == 0 ? [Float](repeating: .nan, count: m * n)
                                                : randomValues(m * n, generator: &generator)
                        let expected = referenceProduct(transposeA: transposeA, transposeB: transposeB, m: m, n: n,
                                                        k: k, a: a, b: b, beta: beta, c: initial)
                        for (name, make) in Self.engines {
                            var c = initial
                            let engine = make()
                            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                                c.withUnsafeMutableBufferPointer { cp in
                                    engine.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                                a: ap.baseAddress!, lda: transposeA ? m : k,
                                                b: bp.baseAddress!, ldb: transposeB ? k : n,
                                                beta: beta, c: cp.baseAddress!, ldc: n)
                                }
                            } }
                            // |error| ≤ 1e-5·(k + 1) + 1e-4·|expected|: Float32 sums of k products of values in [-1, 1].
                            let tolerance = 1e-5 * Double(k + 1)
                            let worst = zip(c, expected).map { abs(Double($0) - $1) - 1e-4 * abs($1) }.max() ?? 0
                            XCTAssertLessThanOrEqual(worst, tolerance,
                                                     "\(name): m \(m) n \(n) k \(k) transA \(transposeA) transB \(transposeB) beta \(beta)")
                        }
                    }
                }
            }
        }
    }

    func testGemmRespectsLeadingDimensions() {
        // A 3×4 block inside a 5×9 matrix, and C written inside a wider buffer whose other cells stay put.
        var generator = SeededGenerator(seed: 5)
        let a = randomValues(5 * 9, generator: &generator), b = randomValues(4 * 6, generator: &generator)
        for (name, make) in Self.engines {
            var c = [Float](repeating: 42, count: 3 * 10)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                make().gemm(transposeA: false, transposeB: false, m: 3, n: 6, k: 4, a: ap.baseAddress! + 1, lda: 9,
                            b: bp.baseAddress!, ldb: 6, beta: 0, c: cp.baseAddress!, ldc: 10)
            } } }
            for i in 0..<3 {
                for j in 0..<10 {
                    if j >= 6 { XCTAssertEqual(c[i * 10 + j], 42, "\(name): padding column \(j) touched"); continue }
                    var expected: Float = 0
                    for p in 0..<4 { expected += a[i * 9 + 1 + p] * b[p * 6 + j] }
                    XCTAssertEqual(c[i * 10 + j], expected, accuracy: 1e-5, "\(name) (\(i), \(j))")
                }
            }
        }
    }

    /// Forward outputs, loss and every gradient of both real-size models agree across engines.
    /// A narrow C (the Swift kernels then read A in place, not packed) with A inside a wider matrix, both
    /// ways round: 17 rows (whole row strips and a ragged one) and a depth of 300 (two depth blocks).
    func testGemmReadsANarrowProductsAInPlaceWithItsLeadingDimension() {
        let m = 17, n = 20, k = 300
        var generator = SeededGenerator(seed: 8)
        let b = randomValues(k * n, generator: &generator)
        for transposeA in [false, true] {
            let lda = transposeA ? m + 5 : k + 3
            let stored = randomValues((transposeA ? k : m) * lda, generator: &generator)
            // The same op(A) packed tightly, for the reference.
            let tight = transposeA ? (0..<(k * m)).map { stored[($0 / m) * lda + $0 % m] }
                                   : (0..<(m * k)).map { stored[($0 / k) * lda + $0 % k] }
            let expected = referenceProduct(transposeA: transposeA, transposeB: false, m: m, n: n, k: k,
                                            a: tight, b: b, beta: 0, c: [])
            for (name, make) in Self.engines {
                var c = [Float](repeating: .nan, count: m * n)
                stored.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    make().gemm(transposeA: transposeA, transposeB: false, m: m, n: n, k: k, a: ap.baseAddress!, lda: lda,
                                b: bp.baseAddress!, ldb: n, beta: 0, c: cp.baseAddress!, ldc: n)
                } } }
                let worst = zip(c, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
                XCTAssertLessThan(worst, 1e-4, "\(name), transposeA \(transposeA)")
            }
        }
    }

    func testForwardLossAndGradientsAgreeAcrossEnginesForBothModels() {
        for kind in ModelKind.allCases {
            for batch in [1, 5] {
                var generator = SeededGenerator(seed: 21)
                let network = Network(kind: kind)
                network.initializeGlorotUniform(using: &generator)
                let input = (0..<(batch * 784)).map { _ in generator.nextUnitFloat() }
                let labels = (0..<batch).map { Float($0 % 2) }
                var results: [(name: String, loss: Double, logits: [Float], gradients: [Float])] = []
                for (name, make) in Self.engines {
                    let workspace = NetworkWorkspace(network: network, capacity: batch)
                    let statistics = input.withUnsafeBufferPointer { x in labels.withUnsafeBufferPointer { y in
                        network.computeGradients(input: x.baseAddress!, labels: y.baseAddress!, batch: batch,
                                                 workspace: workspace, engine: make())
                    } }
                    results.append((name, statistics.lossSum, Array(workspace.outputs[2].array.prefix(batch)),
                                    workspace.gradients.array))
                }
                let reference = results.last!  // blas
                for result in results.dropLast() {
                    let context = "\(kind), batch \(batch), \(result.name) vs blas"
                    XCTAssertEqual(result.loss, reference.loss, accuracy: 1e-5 + 1e-4 * abs(reference.loss), context)
                    assertClose(result.logits, reference.logits, context + " logits")
                    assertClose(result.gradients, reference.gradients, context + " gradients")
                }
            }
        }
    }

    /// rtol 1e-3 plus atol 1e-6: Float32 sums of up to 784 terms in a different order.
    private func assertClose(_ actual: [Float], _ expected: [Float], _ context: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, context, file: file, line: line)
        var failures = 0
        for (index, (x, y)) in zip(actual, expected).enumerated() where abs(x - y) > 1e-6 + 1e-3 * abs(y) {
            failures += 1
            if failures <= 3 { XCTFail("\(context): [\(index)] \(x) vs \(y)", file: file, line: line) }
        }
        XCTAssertEqual(failures, 0, "\(context): \(failures) values differ", file: file, line: line)
    }
}
