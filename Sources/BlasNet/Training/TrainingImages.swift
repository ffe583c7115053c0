import SwiftKernels
import SwiftKernelsAVX2

/// The training images in the form a trainer gathers its batches from.
///
/// MNIST pixels are bytes scaled by 1/255. When every pixel has exactly that form, the store keeps a byte
/// copy (10 MB more memory for 0 vs 1) and gathers from it: a quarter of the bytes the float rows would
/// move (10 MB against 40 MB to draw from), so a batch's randomly chosen rows come more often from cache —
/// and rebuilds each float with the loader's own division, bit for bit. Images of any other form (synthetic data) are copied as floats. Either way a gathered batch is
/// identical to the rows of `LabeledImages.images`.
struct TrainingImages {
    let width: Int
    private let floats: [Float]
    private let bytes: [UInt8]?

    init(_ data: LabeledImages) {
        width = LabeledImages.pixelCount
        floats = data.images
        bytes = Self.exactBytes(of: data.images)
    }

    /// True when the rows are gathered from bytes.
    var gathersBytes: Bool { bytes != nil }

    /// k for every pixel that is exactly Float(k) / 255 with k in 0…255, or nil if any pixel is not.
    static func exactBytes(of images: [Float]) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: images.count)
        let exact = images.withUnsafeBufferPointer { values in
            bytes.withUnsafeMutableBufferPointer { exactPixelBytes(values.baseAddress!, into: $0.baseAddress!, count: values.count) }
        }
        return exact ? bytes : nil
    }

    /// Copies the images `rows` (indices into the data set) to `destination`, [rows.count, width] row-major.
    func gather(rows: ArraySlice<Int>, into destination: UnsafeMutablePointer<Float>) {
        let width = self.width
        if let bytes {
            let scale = CPUFeatures.useAVX2FMAKernels ? scalePixelBytesAVX2 : scalePixelBytesBaseline
            bytes.withUnsafeBufferPointer { source in
                for (row, index) in rows.enumerated() {
                    scale(source.baseAddress! + index &* width, destination + row &* width, width)
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
