import COpenBLAS

/// The training images in the form a trainer gathers its batches from: the pixel bytes when the data set
/// has them (`LabeledImages.pixelBytes`, as loaded from MNIST) — a quarter of the memory the float rows
/// would move (10 MB against 40 MB to draw from for 0 vs 1), so a batch's randomly chosen rows come more
/// often from cache — rebuilt with the loader's own division, bit for bit; else the floats. Either way a
/// gathered batch is identical to the rows of `LabeledImages.images`.
struct TrainingImages {
    let width: Int
    private let floats: [Float]
    private let bytes: [UInt8]?

    init(_ data: LabeledImages) {
        width = data.width
        floats = data.images
        bytes = data.pixelBytes
    }

    /// Asks the CPU to bring the images `rows` into cache (a hint; nothing is read or changed): issued for
    /// the next batch before the current one is trained on, it hides the cache misses of drawing rows at
    /// random from a data set larger than the cache.
    func prefetch(rows: ArraySlice<Int>) {
        prefetch(rows: rows, columns: 0..<width)
    }

    /// The same for the pixels `columns` of the images `rows` only: what one task of the parallel step
    /// gathers, asked for by the core that will read it.
    func prefetch(rows: ArraySlice<Int>, columns: Range<Int>) {
        let lineBytes = 64
        guard !columns.isEmpty else { return }
        if let bytes {
            bytes.withUnsafeBufferPointer { source in
                for index in rows {
                    let start = UnsafeRawPointer(source.baseAddress! + (index &* width &+ columns.lowerBound))
                    for offset in stride(from: 0, to: columns.count, by: lineBytes) { blasnet_prefetch(start + offset) }
                }
            }
        } else {
            floats.withUnsafeBufferPointer { source in
                for index in rows {
                    let start = UnsafeRawPointer(source.baseAddress! + (index &* width &+ columns.lowerBound))
                    for offset in stride(from: 0, to: columns.count * 4, by: lineBytes) { blasnet_prefetch(start + offset) }
                }
            }
        }
    }

    /// True when the rows are gathered from bytes.
    var gathersBytes: Bool { bytes != nil }

    /// Copies the images `rows` (indices into the data set) to `destination`, [rows.count, width] row-major.
    func gather(rows: ArraySlice<Int>, into destination: UnsafeMutablePointer<Float>) {
        gather(rows: rows, columns: 0..<width, into: destination)
    }

    /// Copies the pixels `columns` of the images `rows` to `destination`, [rows.count, columns.count]
    /// row-major (the same values `gather(rows:into:)` puts in those columns).
    func gather(rows: ArraySlice<Int>, columns: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let width = self.width, first = columns.lowerBound, count = columns.count
        guard count > 0 else { return }
        if let bytes {
            bytes.withUnsafeBufferPointer { source in
                for (row, index) in rows.enumerated() {
                    scalePixelBytesOnThisCPU(source.baseAddress! + (index &* width &+ first), destination + row &* count, count)
                }
            }
        } else {
            floats.withUnsafeBufferPointer { source in
                for (row, index) in rows.enumerated() {
                    (destination + row &* count).update(from: source.baseAddress! + (index &* width &+ first), count: count)
                }
            }
        }
    }
}
