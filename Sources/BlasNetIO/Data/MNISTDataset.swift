import BlasNetCore
import Foundation

/// Errors for a data directory as a whole.
public enum DatasetError: Error, CustomStringConvertible {
    case directoryMissing(path: String)
    case wrongImageSize(path: String, rows: Int, columns: Int)
    case badClasses(String)
    case noSamples(path: String, classes: (Int, Int))

    public var description: String {
        switch self {
        case let .directoryMissing(path):
            return "MNIST directory \(path) does not exist; fetch it with scripts/fetch-mnist.sh \(path)"
                + " (or set BLASNET_DATA_DIR / pass --data-dir)"
        case let .wrongImageSize(path, rows, columns):
            return "\(path): images are \(rows)×\(columns), expected 28×28"
        case let .badClasses(message):
            return message
        case let .noSamples(path, classes):
            return "\(path): no samples of digits \(classes.0) or \(classes.1)"
        }
    }
}

/// Loads the four MNIST IDX files from a directory and keeps two digits.
public enum MNISTDataset {
    public static let trainImages = "train-images-idx3-ubyte"
    public static let trainLabels = "train-labels-idx1-ubyte"
    public static let testImages = "t10k-images-idx3-ubyte"
    public static let testLabels = "t10k-labels-idx1-ubyte"

    /// `$BLASNET_DATA_DIR`, else `data/mnist`.
    public static var defaultDirectory: String {
        ProcessInfo.processInfo.environment["BLASNET_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "data/mnist"
    }

    /// Parses "A,B": two distinct digits 0–9.
    public static func parseClasses(_ text: String) throws -> (Int, Int) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let first = Int(parts[0]), let second = Int(parts[1]) else {
            throw DatasetError.badClasses("classes must be two digits separated by a comma, like 0,1 (got '\(text)')")
        }
        guard (0...9).contains(first), (0...9).contains(second) else {
            throw DatasetError.badClasses("classes must be digits 0-9 (got '\(text)')")
        }
        guard first != second else {
            throw DatasetError.badClasses("classes must be two different digits (got '\(text)')")
        }
        return (first, second)
    }

    /// The training and test sets of `classes`.
    public static func load(directory: String, classes: (Int, Int)) throws -> (train: LabeledImages, test: LabeledImages) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.directoryMissing(path: directory)
        }
        let train = try loadPair(directory: directory, images: trainImages, labels: trainLabels, classes: classes)
        let test = try loadPair(directory: directory, images: testImages, labels: testLabels, classes: classes)
        return (train, test)
    }

    /// One images/labels pair, filtered to `classes`.
    public static func loadPair(directory: String, images imageFile: String, labels labelFile: String,
                                classes: (Int, Int)) throws -> LabeledImages {
        let imagePath = (directory as NSString).appendingPathComponent(imageFile)
        let labelPath = (directory as NSString).appendingPathComponent(labelFile)
        let labels = try IDXReader.readLabels(at: labelPath)
        let images = try IDXReader.readImages(at: imagePath)
        guard images.rows == 28, images.columns == 28 else {
            throw DatasetError.wrongImageSize(path: imagePath, rows: images.rows, columns: images.columns)
        }
        guard images.count == labels.count else {
            throw IDXError.countMismatch(images: imagePath, imageCount: images.count,
                                         labels: labelPath, labelCount: labels.count)
        }
        let kept = labels.indices.filter { labels[$0] == classes.0 || labels[$0] == classes.1 }
        guard !kept.isEmpty else { throw DatasetError.noSamples(path: labelPath, classes: classes) }
        var pixels = [UInt8](repeating: 0, count: kept.count * LabeledImages.pixelCount)
        pixels.withUnsafeMutableBufferPointer { destination in
            images.pixels.withUnsafeBufferPointer { source in
                for (row, index) in kept.enumerated() {
                    (destination.baseAddress! + row * LabeledImages.pixelCount)
                        .update(from: source.baseAddress! + index * LabeledImages.pixelCount, count: LabeledImages.pixelCount)
                }
            }
        }
        let binary = kept.map { labels[$0] == classes.1 ? Float(1) : Float(0) }
        return LabeledImages(pixelBytes: pixels, labels: binary, classes: classes, sourceIndices: kept)
    }
}
