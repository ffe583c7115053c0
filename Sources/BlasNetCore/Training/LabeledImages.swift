// LabeledImages: the training and test sets as the core sees them — pixel rows and their labels.
import SwiftKernels
import SwiftKernelsAVX2

/// Two MNIST digits as a binary problem. `images` is N×784 row-major, pixels scaled to [0, 1];
/// `labels[i]` is 0 for the first digit of `classes` and 1 for the second.
public struct LabeledImages: Sendable {
    public static let pixelCount = 28 * 28

    public let images: [Float]
    /// The pixels as bytes 0–255 when the images were made from bytes (`init(pixelBytes:…)`, as the MNIST
    /// loader does): images[i] == Float(pixelBytes[i]) / 255 exactly. Training gathers its batches from
    /// these, a quarter of the bytes. nil for images given as floats.
    public let pixelBytes: [UInt8]?
    public let labels: [Float]
    public let count: Int
    /// The digits behind label 0 and label 1.
    public let classes: (Int, Int)
    /// Index of each sample in the original IDX file.
    public let sourceIndices: [Int]

    public init(images: [Float], labels: [Float], classes: (Int, Int), sourceIndices: [Int]? = nil) {
        precondition(images.count == labels.count * Self.pixelCount, "images must be N×784 for N labels")
        self.images = images
        pixelBytes = nil
        self.labels = labels
        self.count = labels.count
        self.classes = classes
        self.sourceIndices = sourceIndices ?? Array(0..<labels.count)
    }

    /// Images from pixel bytes 0–255 (N×784 row-major), scaled to [0, 1] by Float(byte) / 255; the bytes are kept.
    public init(pixelBytes: [UInt8], labels: [Float], classes: (Int, Int), sourceIndices: [Int]? = nil) {
        precondition(pixelBytes.count == labels.count * Self.pixelCount, "images must be N×784 for N labels")
        var images = [Float](repeating: 0, count: pixelBytes.count)
        pixelBytes.withUnsafeBufferPointer { source in
            images.withUnsafeMutableBufferPointer { scalePixelBytesOnThisCPU(source.baseAddress!, $0.baseAddress!, source.count) }
        }
        self.images = images
        self.pixelBytes = pixelBytes
        self.labels = labels
        self.count = labels.count
        self.classes = classes
        self.sourceIndices = sourceIndices ?? Array(0..<labels.count)
    }
}

/// `scalePixelBytes` in the build this CPU runs best: destination[i] = Float(source[i]) / 255.
package func scalePixelBytesOnThisCPU(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
    KernelSet.current.scalePixelBytes(source, destination, count)
}
