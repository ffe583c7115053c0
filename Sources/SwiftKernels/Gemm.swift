// A pure-Swift single-precision GEMM for row-major matrices, in the BLIS style:
//   C[m×n] = op(A)[m×k] · op(B)[k×n] + beta · C
// op(B) is packed in kc×NR strips, op(A) in kc×MR strips (or, when C is narrow, read in place), and an
// MR×NR register-blocked SIMD micro-kernel (the `MicroTile`: 6×16 for SSE2 and AVX2, 8×32 for AVX-512)
// multiplies them. Work is split across
// threads by columns (or rows) of C, each thread packing into its own workspace, so the numbers do not
// depend on scheduling. Every tile sums each element of C over p in the same order, one multiply-add at a
// time, so the tile shape changes the speed, never the bits.
//
// The kernel is `@inlinable @inline(__always)`: a module that calls `gemmSerial` gets the whole kernel
// compiled with *its* code-generation flags. SwiftKernelsAVX2 and SwiftKernelsAVX512 use that to build
// the same code for AVX2 + FMA and for AVX-512; `gemmBaseline` below is the portable build.

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

/// Block sizes: a kc×NR strip of B (16–32 KiB) stays in L1 while the mc×kc block of A (96 KiB) streams
/// from L2. `rowBlock` and `columnBlock` are multiples of every tile's rows and columns.
public enum GemmBlocking {
    public static let depthBlock = 256
    public static let rowBlock = 96
    public static let columnBlock = 1024
    /// The most elements a tile has (the edge tile's size).
    public static let largestTile = 8 * 32
    /// With C at most this many columns wide, A is read in place rather than packed: its block feeds
    /// only one or two column strips, so packing it would copy about as many floats as the tiles use.
    /// (The small later layers' products; the first layer's, 128 columns wide, pack as before.)
    public static let inPlaceColumns = 64
}

/// The register tile of the micro-kernel: `multiply` adds op(A)(rows×kc) · packedB(kc×columns) to a
/// rows×columns block of C, keeping the block in registers over the whole depth. Element (r, p) of
/// op(A) is `a[r * aRow + p * aDepth]`: a packed strip has aRow 1 and aDepth `rows`; A read in place
/// has aRow `lda` and aDepth 1, or aRow 1 and aDepth `lda` when transposed.
public protocol MicroTile {
    /// MR and NR.
    static var rows: Int { get }
    static var columns: Int { get }
    /// C[validRows×validColumns] += the tile; `edgeTile` (rows·columns floats) holds a partial tile.
    static func multiply(fused: Bool, depth kc: Int, a: UnsafePointer<Float>, aRow: Int, aDepth: Int,
                         b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, validRows: Int,
                         validColumns: Int, edgeTile: UnsafeMutablePointer<Float>)
}

/// Packing buffers for one thread, allocated once and reused by every call.
public final class GemmWorkspace: @unchecked Sendable {
    /// mc×kc block of op(A), as kc×6 strips.
    public let packedA: UnsafeMutablePointer<Float>
    /// kc×nc block of op(B), as kc×16 strips.
    public let packedB: UnsafeMutablePointer<Float>
    /// One tile for the ragged edges of C.
    public let edgeTile: UnsafeMutablePointer<Float>

    public init() {
        packedA = .allocate(capacity: GemmBlocking.rowBlock * GemmBlocking.depthBlock)
        packedB = .allocate(capacity: GemmBlocking.depthBlock * GemmBlocking.columnBlock)
        edgeTile = .allocate(capacity: GemmBlocking.largestTile)
        packedA.initialize(repeating: 0, count: GemmBlocking.rowBlock * GemmBlocking.depthBlock)
        packedB.initialize(repeating: 0, count: GemmBlocking.depthBlock * GemmBlocking.columnBlock)
        edgeTile.initialize(repeating: 0, count: GemmBlocking.largestTile)
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
/// `serial`, split on the boundaries of `tile`. The caller's closure decides which build of `gemmSerial`
/// runs: a closure written in the AVX2 module is compiled for AVX2 + FMA, one written here is not.
public func gemmParallel<Tile: MicroTile>(_ problem: GemmProblem, workspaces: [GemmWorkspace], tile: Tile.Type,
                                          serial: @Sendable (GemmProblem, GemmWorkspace) -> Void) {
    let threads = workspaces.count
    let columnTiles = (problem.n + Tile.columns - 1) / Tile.columns
    let rowTiles = (problem.m + Tile.rows - 1) / Tile.rows
    if threads <= 1 || problem.m * problem.n * problem.k < gemmParallelThreshold || max(columnTiles, rowTiles) < 2 {
        serial(problem, workspaces[0])
        return
    }
    // Split along the dimension with more register tiles, on tile boundaries.
    let splitColumns = columnTiles >= rowTiles
    let tiles = splitColumns ? columnTiles : rowTiles
    let tileSize = splitColumns ? Tile.columns : Tile.rows
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
    gemmParallel(problem, workspaces: workspaces, tile: Tile6x16.self) {
        gemmSerial($0, fused: false, workspace: $1, tile: Tile6x16.self)
    }
}

/// One thread's GEMM with the register tile `tile`. `fused` selects fused multiply-add in the
/// micro-kernel: pass true only from a module compiled for a CPU with FMA (elsewhere `addProduct`
/// becomes a libm call, far slower than the plain loop).
@inlinable @inline(__always)
public func gemmSerial<Tile: MicroTile>(_ problem: GemmProblem, fused: Bool, workspace: GemmWorkspace,
                                        tile: Tile.Type) {
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
            packB(problem, rows: p0, depth: kc, columns: j0, count: nc, width: Tile.columns, into: workspace.packedB)
            var i0 = 0
            while i0 < m {
                let mc = min(GemmBlocking.rowBlock, m &- i0)
                // Whole row strips read A in place when few column strips share them; the ragged last strip
                // (and, for wider C, all of them) is packed. Either way every element sums the same FMAs.
                let fullStrips = n <= GemmBlocking.inPlaceColumns ? mc / Tile.rows : 0
                let packedRows = fullStrips &* Tile.rows
                if packedRows < mc {
                    packA(problem, rows: i0 &+ packedRows, count: mc &- packedRows, depth: p0, depthCount: kc,
                          height: Tile.rows, into: workspace.packedA)
                }
                var strip = 0
                while strip &* Tile.columns < nc {
                    let column = strip &* Tile.columns
                    let bStrip = workspace.packedB + strip &* kc &* Tile.columns
                    var rowStrip = 0
                    while rowStrip &* Tile.rows < mc {
                        let row = rowStrip &* Tile.rows
                        let a: UnsafePointer<Float>, aRow: Int, aDepth: Int
                        if rowStrip < fullStrips {
                            if problem.transposeA {
                                a = problem.a + (p0 &* problem.lda &+ i0 &+ row); aRow = 1; aDepth = problem.lda
                            } else {
                                a = problem.a + ((i0 &+ row) &* problem.lda &+ p0); aRow = problem.lda; aDepth = 1
                            }
                        } else {
                            a = UnsafePointer(workspace.packedA + (rowStrip &- fullStrips) &* kc &* Tile.rows)
                            aRow = 1; aDepth = Tile.rows
                        }
                        Tile.multiply(
                            fused: fused, depth: kc, a: a, aRow: aRow, aDepth: aDepth, b: bStrip,
                            c: c + ((i0 &+ row) &* ldc &+ j0 &+ column), ldc: ldc,
                            validRows: min(Tile.rows, mc &- row),
                            validColumns: min(Tile.columns, nc &- column),
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

/// Packs op(B)[p0..<p0+kc, j0..<j0+nc] as strips of `width` columns: strip s holds kc rows of `width`
/// floats, zero-padded past column nc.
@inlinable @inline(__always)
func packB(_ problem: GemmProblem, rows p0: Int, depth kc: Int, columns j0: Int, count nc: Int, width: Int,
           into packed: UnsafeMutablePointer<Float>) {
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

/// Packs op(A)[i0..<i0+mc, p0..<p0+kc] as strips of `height` rows: strip r holds kc columns of `height`
/// floats, zero-padded past row mc.
@inlinable @inline(__always)
func packA(_ problem: GemmProblem, rows i0: Int, count mc: Int, depth p0: Int, depthCount kc: Int, height: Int,
           into packed: UnsafeMutablePointer<Float>) {
    let a = problem.a, lda = problem.lda
    var strip = 0
    while strip &* height < mc {
        let first = i0 &+ strip &* height
        let valid = min(height, mc &- strip &* height)
        let destination = packed + strip &* kc &* height
        if problem.transposeA {
            // op(A)(i, p) = A[p, i]: the rows of a strip are adjacent in each stored row of A.
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

/// 6 rows × one SIMD16: 6 accumulators, 12 AVX (ymm) registers — AVX2's 16 hold them with B and the
/// broadcasts of A.
public enum Tile6x16: MicroTile {
    public static let rows = 6
    public static let columns = 16

    @inlinable @inline(__always)
    public static func multiply(fused: Bool, depth kc: Int, a: UnsafePointer<Float>, aRow: Int, aDepth: Int,
                                b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, validRows: Int,
                                validColumns: Int, edgeTile: UnsafeMutablePointer<Float>) {
        typealias Vector = SIMD16<Float>
        var c0 = Vector(), c1 = Vector(), c2 = Vector(), c3 = Vector(), c4 = Vector(), c5 = Vector()
        let rawB = UnsafeRawPointer(b)
        var p = 0
        while p < kc {
            let bv = rawB.loadUnaligned(fromByteOffset: p &* 64, as: Vector.self)
            let ap = a + p &* aDepth
            let a0 = ap[0], a1 = ap[aRow], a2 = ap[2 &* aRow], a3 = ap[3 &* aRow], a4 = ap[4 &* aRow], a5 = ap[5 &* aRow]
            if fused {
                c0.addProduct(a0, bv); c1.addProduct(a1, bv); c2.addProduct(a2, bv)
                c3.addProduct(a3, bv); c4.addProduct(a4, bv); c5.addProduct(a5, bv)
            } else {
                c0 += a0 * bv; c1 += a1 * bv; c2 += a2 * bv
                c3 += a3 * bv; c4 += a4 * bv; c5 += a5 * bv
            }
            p &+= 1
        }
        let accumulators = (c0, c1, c2, c3, c4, c5)
        withUnsafeBytes(of: accumulators) { tile in
            addTile(tile, rows: 6, columns: 16, to: c, ldc: ldc, validRows: validRows, validColumns: validColumns,
                    edgeTile: edgeTile)
        }
    }
}

/// 8 rows × two SIMD16 (two zmm): 16 accumulators of AVX-512's 32 registers, enough independent
/// multiply-adds to cover the FMA latency of two pipes; per step of p, two loads of B and 8 broadcasts of
/// A feed 16 FMAs. (Two SIMD16 halves, not one SIMD32: Swift lowers SIMD32's `addProduct` lane by lane.)
public enum Tile8x32: MicroTile {
    public static let rows = 8
    public static let columns = 32

    @inlinable @inline(__always)
    public static func multiply(fused: Bool, depth kc: Int, a: UnsafePointer<Float>, aRow: Int, aDepth: Int,
                                b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, validRows: Int,
                                validColumns: Int, edgeTile: UnsafeMutablePointer<Float>) {
        typealias Vector = SIMD16<Float>
        // cRL: row R, left (columns 0..<16) or right (16..<32) half.
        var c0l = Vector(), c1l = Vector(), c2l = Vector(), c3l = Vector()
        var c4l = Vector(), c5l = Vector(), c6l = Vector(), c7l = Vector()
        var c0r = Vector(), c1r = Vector(), c2r = Vector(), c3r = Vector()
        var c4r = Vector(), c5r = Vector(), c6r = Vector(), c7r = Vector()
        let rawB = UnsafeRawPointer(b)
        var p = 0
        while p < kc {
            let left = rawB.loadUnaligned(fromByteOffset: p &* 128, as: Vector.self)
            let right = rawB.loadUnaligned(fromByteOffset: p &* 128 &+ 64, as: Vector.self)
            let ap = a + p &* aDepth
            let a0 = ap[0], a1 = ap[aRow], a2 = ap[2 &* aRow], a3 = ap[3 &* aRow]
            let a4 = ap[4 &* aRow], a5 = ap[5 &* aRow], a6 = ap[6 &* aRow], a7 = ap[7 &* aRow]
            if fused {
                c0l.addProduct(a0, left); c0r.addProduct(a0, right)
                c1l.addProduct(a1, left); c1r.addProduct(a1, right)
                c2l.addProduct(a2, left); c2r.addProduct(a2, right)
                c3l.addProduct(a3, left); c3r.addProduct(a3, right)
                c4l.addProduct(a4, left); c4r.addProduct(a4, right)
                c5l.addProduct(a5, left); c5r.addProduct(a5, right)
                c6l.addProduct(a6, left); c6r.addProduct(a6, right)
                c7l.addProduct(a7, left); c7r.addProduct(a7, right)
            } else {
                c0l += a0 * left; c0r += a0 * right; c1l += a1 * left; c1r += a1 * right
                c2l += a2 * left; c2r += a2 * right; c3l += a3 * left; c3r += a3 * right
                c4l += a4 * left; c4r += a4 * right; c5l += a5 * left; c5r += a5 * right
                c6l += a6 * left; c6r += a6 * right; c7l += a7 * left; c7r += a7 * right
            }
            p &+= 1
        }
        let accumulators = (c0l, c0r, c1l, c1r, c2l, c2r, c3l, c3r, c4l, c4r, c5l, c5r, c6l, c6r, c7l, c7r)
        withUnsafeBytes(of: accumulators) { tile in
            addTile(tile, rows: 8, columns: 32, to: c, ldc: ldc, validRows: validRows, validColumns: validColumns,
                    edgeTile: edgeTile)
        }
    }
}

/// C[validRows×validColumns] += the rows×columns tile `tile` (row-major floats): whole rows as vectors
/// when the tile is full, else through `edgeTile` element by element.
@inlinable @inline(__always)
func addTile(_ tile: UnsafeRawBufferPointer, rows: Int, columns: Int, to c: UnsafeMutablePointer<Float>, ldc: Int,
             validRows: Int, validColumns: Int, edgeTile: UnsafeMutablePointer<Float>) {
    let values = tile.bindMemory(to: Float.self).baseAddress!
    if validRows == rows && validColumns == columns {
        for r in 0..<rows {
            let row = c + r &* ldc, source = values + r &* columns
            for j in 0..<columns { row[j] += source[j] }
        }
    } else {
        edgeTile.update(from: values, count: rows &* columns)
        for r in 0..<validRows {
            let row = c + r &* ldc
            for j in 0..<validColumns { row[j] += edgeTile[r &* columns &+ j] }
        }
    }
}
