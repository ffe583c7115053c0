// A pure-Swift single-precision GEMM for row-major matrices, in the BLIS style:
//   C[m×n] = op(A)[m×k] · op(B)[k×n] + beta · C
// op(B) is packed in kc×16 strips, op(A) in kc×6 strips, and a 6×16 register-blocked SIMD micro-kernel
// multiplies them. Work is split across threads by columns (or rows) of C, each thread packing into its
// own workspace, so the numbers do not depend on scheduling.
//
// The kernel is `@inlinable @inline(__always)`: a module that calls `gemmSerial` gets the whole kernel
// compiled with *its* code-generation flags. SwiftKernelsAVX2 uses that to build the same code for
// AVX2 + FMA; `gemmBaseline` below is the portable build.

import Dispatch

/// One GEMM call. Row-major: element (i, j) of a stored matrix X sits at `x[i * ldx + j]`.
/// With `transposeA`, op(A) = Aᵀ, so A is stored k×m; likewise B is stored n×k when `transposeB`.
public struct GemmProblem: @unchecked Sendable {
    public var transposeA: Bool
    public var transposeB: Bool
    public var m: Int
    public var n: Int
    public var k: Int
    public var a: UnsafePointer<Float>
    public var lda: Int
    public var b: UnsafePointer<Float>
    public var ldb: Int
    /// 0 overwrites C (its old contents may be anything, even NaN); 1 accumulates into C.
    public var beta: Float
    public var c: UnsafeMutablePointer<Float>
    public var ldc: Int

    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        self.transposeA = transposeA; self.transposeB = transposeB
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda; self.b = b; self.ldb = ldb
        self.beta = beta; self.c = c; self.ldc = ldc
    }

    /// The sub-problem computing columns `columns` of C.
    func columns(_ columns: Range<Int>) -> GemmProblem {
        var part = self
        part.n = columns.count
        part.b = transposeB ? b + columns.lowerBound &* ldb : b + columns.lowerBound
        part.c = c + columns.lowerBound
        return part
    }

    /// The sub-problem computing rows `rows` of C.
    func rows(_ rows: Range<Int>) -> GemmProblem {
        var part = self
        part.m = rows.count
        part.a = transposeA ? a + rows.lowerBound : a + rows.lowerBound &* lda
        part.c = c + rows.lowerBound &* ldc
        return part
    }
}

/// Block sizes. MR×NR is the register tile (6 rows × one SIMD16 = 12 AVX registers of accumulators);
/// a kc×NR strip of B (16 KiB) stays in L1 while the mc×kc block of A (96 KiB) streams from L2.
public enum GemmBlocking {
    public static let microRows = 6
    public static let microColumns = 16
    public static let depthBlock = 256
    public static let rowBlock = 96
    public static let columnBlock = 1024
}

/// Packing buffers for one thread, allocated once and reused by every call.
public final class GemmWorkspace: @unchecked Sendable {
    /// mc×kc block of op(A), as kc×6 strips.
    public let packedA: UnsafeMutablePointer<Float>
    /// kc×nc block of op(B), as kc×16 strips.
    public let packedB: UnsafeMutablePointer<Float>
    /// One 6×16 tile for the ragged edges of C.
    public let edgeTile: UnsafeMutablePointer<Float>

    public init() {
        packedA = .allocate(capacity: GemmBlocking.rowBlock * GemmBlocking.depthBlock)
        packedB = .allocate(capacity: GemmBlocking.depthBlock * GemmBlocking.columnBlock)
        edgeTile = .allocate(capacity: GemmBlocking.microRows * GemmBlocking.microColumns)
        packedA.initialize(repeating: 0, count: GemmBlocking.rowBlock * GemmBlocking.depthBlock)
        packedB.initialize(repeating: 0, count: GemmBlocking.depthBlock * GemmBlocking.columnBlock)
        edgeTile.initialize(repeating: 0, count: GemmBlocking.microRows * GemmBlocking.microColumns)
    }

    deinit {
        packedA.deallocate()
        packedB.deallocate()
        edgeTile.deallocate()
    }
}

/// Problems below this many multiply-adds run on one thread: waking a second costs more than it saves.
public let gemmParallelThreshold = 32 * 1024

/// Runs `problem` on `workspaces.count` threads (one workspace each), handing each thread's share of C to
/// `serial`. The caller's closure decides which build of `gemmSerial` runs: a closure written in the AVX2
/// module is compiled for AVX2 + FMA, one written here is not.
public func gemmParallel(_ problem: GemmProblem, workspaces: [GemmWorkspace],
                         serial: @Sendable (GemmProblem, GemmWorkspace) -> Void) {
    let threads = workspaces.count
    let columnTiles = (problem.n + GemmBlocking.microColumns - 1) / GemmBlocking.microColumns
    let rowTiles = (problem.m + GemmBlocking.microRows - 1) / GemmBlocking.microRows
    if threads <= 1 || problem.m * problem.n * problem.k < gemmParallelThreshold || max(columnTiles, rowTiles) < 2 {
        serial(problem, workspaces[0])
        return
    }
    // Split along the dimension with more register tiles, on tile boundaries.
    let splitColumns = columnTiles >= rowTiles
    let tiles = splitColumns ? columnTiles : rowTiles
    let tileSize = splitColumns ? GemmBlocking.microColumns : GemmBlocking.microRows
    let extent = splitColumns ? problem.n : problem.m
    let parts = min(threads, tiles)
    let mode = FloatingPointMode.current  // worker threads compute as the caller does
    DispatchQueue.concurrentPerform(iterations: parts) { part in
        let lower = min(extent, (tiles * part / parts) * tileSize)
        let upper = min(extent, (tiles * (part + 1) / parts) * tileSize)
        guard lower < upper else { return }
        mode.perform {
            serial(splitColumns ? problem.columns(lower..<upper) : problem.rows(lower..<upper), workspaces[part])
        }
    }
}

/// The portable build (no FMA): what runs on CPUs without AVX2, and on arm64.
public func gemmBaseline(_ problem: GemmProblem, workspaces: [GemmWorkspace]) {
    gemmParallel(problem, workspaces: workspaces) { gemmSerial($0, fused: false, workspace: $1) }
}

/// One thread's GEMM. `fused` selects fused multiply-add in the micro-kernel: pass true only from a
/// module compiled for a CPU with FMA (elsewhere `addProduct` becomes a libm call, far slower than the plain loop).
@inlinable @inline(__always)
public func gemmSerial(_ problem: GemmProblem, fused: Bool, workspace: GemmWorkspace) {
    let m = problem.m, n = problem.n, k = problem.k, c = problem.c, ldc = problem.ldc
    if m == 0 || n == 0 { return }
    if problem.beta == 0 {
        for i in 0..<m { (c + i &* ldc).update(repeating: 0, count: n) }
    } else if problem.beta != 1 {
        for i in 0..<m {
            let row = c + i &* ldc
            for j in 0..<n { row[j] *= problem.beta }
        }
    }
    var j0 = 0
    while j0 < n {
        let nc = min(GemmBlocking.columnBlock, n &- j0)
        var p0 = 0
        while p0 < k {
            let kc = min(GemmBlocking.depthBlock, k &- p0)
            packB(problem, rows: p0, depth: kc, columns: j0, count: nc, into: workspace.packedB)
            var i0 = 0
            while i0 < m {
                let mc = min(GemmBlocking.rowBlock, m &- i0)
                packA(problem, rows: i0, count: mc, depth: p0, depthCount: kc, into: workspace.packedA)
                var strip = 0
                while strip &* GemmBlocking.microColumns < nc {
                    let column = strip &* GemmBlocking.microColumns
                    let bStrip = workspace.packedB + strip &* kc &* GemmBlocking.microColumns
                    var rowStrip = 0
                    while rowStrip &* GemmBlocking.microRows < mc {
                        let row = rowStrip &* GemmBlocking.microRows
                        microKernel(
                            fused: fused, depth: kc,
                            a: workspace.packedA + rowStrip &* kc &* GemmBlocking.microRows, b: bStrip,
                            c: c + ((i0 &+ row) &* ldc &+ j0 &+ column), ldc: ldc,
                            rows: min(GemmBlocking.microRows, mc &- row),
                            columns: min(GemmBlocking.microColumns, nc &- column),
                            edgeTile: workspace.edgeTile)
                        rowStrip &+= 1
                    }
                    strip &+= 1
                }
                i0 &+= mc
            }
            p0 &+= kc
        }
        j0 &+= nc
    }
}

/// Packs op(B)[p0..<p0+kc, j0..<j0+nc] as strips of 16 columns: strip s holds kc rows of 16 floats,
/// zero-padded past column nc.
@inlinable @inline(__always)
func packB(_ problem: GemmProblem, rows p0: Int, depth kc: Int, columns j0: Int, count nc: Int,
           into packed: UnsafeMutablePointer<Float>) {
    let width = GemmBlocking.microColumns
    let b = problem.b, ldb = problem.ldb
    var strip = 0
    while strip &* width < nc {
        let first = j0 &+ strip &* width
        let valid = min(width, nc &- strip &* width)
        let destination = packed + strip &* kc &* width
        if problem.transposeB {
            // op(B)(p, j) = B[j, p]: walk each stored row of B contiguously.
            for jj in 0..<width {
                if jj < valid {
                    let source = b + ((first &+ jj) &* ldb &+ p0)
                    for p in 0..<kc { destination[p &* width &+ jj] = source[p] }
                } else {
                    for p in 0..<kc { destination[p &* width &+ jj] = 0 }
                }
            }
        } else {
            for p in 0..<kc {
                let source = b + ((p0 &+ p) &* ldb &+ first)
                let row = destination + p &* width
                for jj in 0..<valid { row[jj] = source[jj] }
                for jj in valid..<width { row[jj] = 0 }
            }
        }
        strip &+= 1
    }
}

/// Packs op(A)[i0..<i0+mc, p0..<p0+kc] as strips of 6 rows: strip r holds kc columns of 6 floats,
/// zero-padded past row mc.
@inlinable @inline(__always)
func packA(_ problem: GemmProblem, rows i0: Int, count mc: Int, depth p0: Int, depthCount kc: Int,
           into packed: UnsafeMutablePointer<Float>) {
    let height = GemmBlocking.microRows
    let a = problem.a, lda = problem.lda
    var strip = 0
    while strip &* height < mc {
        let first = i0 &+ strip &* height
        let valid = min(height, mc &- strip &* height)
        let destination = packed + strip &* kc &* height
        if problem.transposeA {
            // op(A)(i, p) = A[p, i]: the 6 rows of a strip are adjacent in each stored row of A.
            for p in 0..<kc {
                let source = a + ((p0 &+ p) &* lda &+ first)
                let column = destination + p &* height
                for ii in 0..<valid { column[ii] = source[ii] }
                for ii in valid..<height { column[ii] = 0 }
            }
        } else {
            for ii in 0..<height {
                if ii < valid {
                    let source = a + ((first &+ ii) &* lda &+ p0)
                    for p in 0..<kc { destination[p &* height &+ ii] = source[p] }
                } else {
                    for p in 0..<kc { destination[p &* height &+ ii] = 0 }
                }
            }
        }
        strip &+= 1
    }
}

/// C[rows×columns] += packedA(kc×6)ᵀ-strip · packedB(kc×16)-strip, accumulating a 6×16 tile in registers.
@inlinable @inline(__always)
func microKernel(fused: Bool, depth kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                 c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int,
                 edgeTile: UnsafeMutablePointer<Float>) {
    typealias Vector = SIMD16<Float>
    var c0 = Vector(), c1 = Vector(), c2 = Vector(), c3 = Vector(), c4 = Vector(), c5 = Vector()
    let rawB = UnsafeRawPointer(b)
    var p = 0
    while p < kc {
        let bv = rawB.loadUnaligned(fromByteOffset: p &* 64, as: Vector.self)
        let ap = a + p &* 6
        if fused {
            c0.addProduct(ap[0], bv); c1.addProduct(ap[1], bv); c2.addProduct(ap[2], bv)
            c3.addProduct(ap[3], bv); c4.addProduct(ap[4], bv); c5.addProduct(ap[5], bv)
        } else {
            c0 += ap[0] * bv; c1 += ap[1] * bv; c2 += ap[2] * bv
            c3 += ap[3] * bv; c4 += ap[4] * bv; c5 += ap[5] * bv
        }
        p &+= 1
    }
    if rows == 6 && columns == 16 {
        @inline(__always) func add(_ v: Vector, row: Int) {
            let target = UnsafeMutableRawPointer(c + row &* ldc)
            target.storeBytes(of: target.loadUnaligned(as: Vector.self) + v, as: Vector.self)
        }
        add(c0, row: 0); add(c1, row: 1); add(c2, row: 2); add(c3, row: 3); add(c4, row: 4); add(c5, row: 5)
    } else {
        let tile = UnsafeMutableRawPointer(edgeTile)
        tile.storeBytes(of: c0, toByteOffset: 0, as: Vector.self)
        tile.storeBytes(of: c1, toByteOffset: 64, as: Vector.self)
        tile.storeBytes(of: c2, toByteOffset: 128, as: Vector.self)
        tile.storeBytes(of: c3, toByteOffset: 192, as: Vector.self)
        tile.storeBytes(of: c4, toByteOffset: 256, as: Vector.self)
        tile.storeBytes(of: c5, toByteOffset: 320, as: Vector.self)
        for r in 0..<rows {
            let row = c + r &* ldc
            for j in 0..<columns { row[j] += edgeTile[r &* 16 &+ j] }
        }
    }
}
