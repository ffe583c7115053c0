// LabeledImages: a training, validation or test set as the core sees it — rows of features (pixels
// scaled to [0, 1] for images) and the class index of each row.
import SwiftKernels
import SwiftKernelsAVX2

/// What is wrong with the arrays given to `LabeledImages`.
public enum LabeledImagesError: Error, Equatable, CustomStringConvertible {
    case badWidth(Int)
    case shapeMismatch(values: Int, width: Int, labels: Int)
    case tooFewClasses(Int)
    case repeatedClassLabel(Int)
    case labelOutOfRange(row: Int, label: Int, classCount: Int)
    case sourceIndexCount(Int, expected: Int)

    public var description: String {
        switch self {
        case let .badWidth(width): return "the feature width must be positive (got \(width))"
        case let .shapeMismatch(values, width, labels):
            return "\(values) feature values do not make \(labels) rows of \(width)"
        case let .tooFewClasses(count): return "a classifier needs at least 2 classes (got \(count))"
        case let .repeatedClassLabel(label): return "class label \(label) is listed twice"
        case let .labelOutOfRange(row, label, classCount):
            return "row \(row) has class \(label), outside 0..<\(classCount)"
        case let .sourceIndexCount(count, expected): return "\(count) source indices for \(expected) rows"
        }
    }
}

/// A labelled set. `images` is [count, width] row-major; `labels[i]` is row i's class index in
/// 0..<classCount, and `classLabels[c]` is the data's own label for class c (e.g. the digit: with
/// `--classes 3,5,8`, class 0 is the digit 3).
public struct LabeledImages: Sendable {
    /// Pixels of one MNIST image (28 × 28), the width of the default model's input.
    public static let mnistPixelCount = 28 * 28

    /// Features per row.
    public let width: Int
    /// [count, width] row-major.
    public let images: [Float]
    /// The pixels as bytes 0–255 when the images were made from bytes (`init(pixelBytes:…)`, as the MNIST
    /// loader does): images[i] == Float(pixelBytes[i]) / 255 exactly. Training gathers its batches from
    /// these, a quarter of the bytes. nil for images given as floats.
    public let pixelBytes: [UInt8]?
    /// Class index of each row, in 0..<classCount.
    public let labels: [Int]
    /// The data's own label of each class, in class order.
    public let classLabels: [Int]
    /// Index of each row in the file it came from.
    public let sourceIndices: [Int]

    public var count: Int { labels.count }
    public var classCount: Int { classLabels.count }

    /// Rows of features given as floats. `classLabels` defaults to 0..<K for K = the largest label + 1
    /// (at least 2). Throws `LabeledImagesError` when the sizes do not agree or a label is out of range.
    public init(images: [Float], width: Int, labels: [Int], classLabels: [Int]? = nil,
                sourceIndices: [Int]? = nil) throws {
        let classLabels = classLabels ?? Array(0..<max(2, (labels.max() ?? 0) + 1))
        try Self.check(values: images.count, width: width, labels: labels, classLabels: classLabels,
                       sourceIndices: sourceIndices)
        self.width = width
        self.images = images
        pixelBytes = nil
        self.labels = labels
        self.classLabels = classLabels
        self.sourceIndices = sourceIndices ?? Array(0..<labels.count)
    }

    /// Rows of pixel bytes 0–255, scaled to [0, 1] by Float(byte) / 255; the bytes are kept.
    public init(pixelBytes: [UInt8], width: Int, labels: [Int], classLabels: [Int]? = nil,
                sourceIndices: [Int]? = nil) throws {
        let classLabels = classLabels ?? Array(0..<max(2, (labels.max() ?? 0) + 1))
        try Self.check(values: pixelBytes.count, width: width, labels: labels, classLabels: classLabels,
                       sourceIndices: sourceIndices)
        var images = [Float](repeating: 0, count: pixelBytes.count)
        pixelBytes.withUnsafeBufferPointer { source in
            images.withUnsafeMutableBufferPointer { scalePixelBytesOnThisCPU(source.baseAddress!, $0.baseAddress!, source.count) }
        }
        self.width = width
        self.images = images
        self.pixelBytes = pixelBytes
        self.labels = labels
        self.classLabels = classLabels
        self.sourceIndices = sourceIndices ?? Array(0..<labels.count)
    }

    private static func check(values: Int, width: Int, labels: [Int], classLabels: [Int], sourceIndices: [Int]?) throws {
        guard width > 0 else { throw LabeledImagesError.badWidth(width) }
        guard values == labels.count * width else {
            throw LabeledImagesError.shapeMismatch(values: values, width: width, labels: labels.count)
        }
        guard classLabels.count >= 2 else { throw LabeledImagesError.tooFewClasses(classLabels.count) }
        var seen = Set<Int>()
        for label in classLabels where !seen.insert(label).inserted { throw LabeledImagesError.repeatedClassLabel(label) }
        if let row = labels.firstIndex(where: { !(0..<classLabels.count).contains($0) }) {
            throw LabeledImagesError.labelOutOfRange(row: row, label: labels[row], classCount: classLabels.count)
        }
        if let sourceIndices, sourceIndices.count != labels.count {
            throw LabeledImagesError.sourceIndexCount(sourceIndices.count, expected: labels.count)
        }
    }

    /// The rows at `rows` (in that order), keeping classes and source indices.
    public func subset(_ rows: [Int]) -> LabeledImages {
        LabeledImages(subsetOf: self, rows: rows)
    }

    private init(subsetOf data: LabeledImages, rows: [Int]) {
        width = data.width
        var images = [Float](repeating: 0, count: rows.count * data.width)
        for (row, index) in rows.enumerated() {
            for p in 0..<data.width { images[row * data.width + p] = data.images[index * data.width + p] }
        }
        self.images = images
        pixelBytes = data.pixelBytes.map { bytes in
            var kept = [UInt8](repeating: 0, count: rows.count * data.width)
            for (row, index) in rows.enumerated() {
                for p in 0..<data.width { kept[row * data.width + p] = bytes[index * data.width + p] }
            }
            return kept
        }
        labels = rows.map { data.labels[$0] }
        classLabels = data.classLabels
        sourceIndices = rows.map { data.sourceIndices[$0] }
    }

    /// A seeded, stratified split: `fraction` of each class's rows (rounded, at least one when the class
    /// has two or more rows) go to `validation`, the rest to `train`, both in their original order. The
    /// same seed gives the same split; it draws from its own generator, so training's randomness is
    /// untouched.
    public func stratifiedSplit(validationFraction fraction: Double, seed: UInt64) -> (train: LabeledImages, validation: LabeledImages) {
        var generator = SeededGenerator(seed: seed ^ 0x5EED_5B1E_0000_0001)
        var validationRows: [Int] = []
        for classIndex in 0..<classCount {
            var rows = labels.indices.filter { labels[$0] == classIndex }
            generator.shuffle(&rows)
            var take = Int((Double(rows.count) * fraction).rounded())
            if rows.count >= 2 { take = min(max(take, 1), rows.count - 1) } else { take = 0 }
            validationRows += rows.prefix(take)
        }
        let held = Set(validationRows)
        return (subset(labels.indices.filter { !held.contains($0) }), subset(validationRows.sorted()))
    }
}

/// `scalePixelBytes` in the build this CPU runs best: destination[i] = Float(source[i]) / 255.
package func scalePixelBytesOnThisCPU(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
    KernelSet.current.scalePixelBytes(source, destination, count)
}
