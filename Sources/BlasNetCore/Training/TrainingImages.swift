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

    /// True when the rows are gathered from bytes.
    var gathersBytes: Bool { bytes != nil }

    /// Copies the images `rows` (indices into the data set) to `destination`, [rows.count, width] row-major.
    func gather(rows: ArraySlice<Int>, into destination: UnsafeMutablePointer<Float>) {
        let width = self.width
        if let bytes {
            bytes.withUnsafeBufferPointer { source in
                for (row, index) in rows.enumerated() {
                    scalePixelBytesOnThisCPU(source.baseAddress! + index &* width, destination + row &* width, width)
                }
            }
        } else {
            floats.withUnsafeBufferPointer { source in
                for (row, index) in rows.enumerated() {
                    (destination + row &* width).update(from: source.baseAddress! + index &* width, count: width)
                }
            }
        }
    }
}
