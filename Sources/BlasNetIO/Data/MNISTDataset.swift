// MNISTDataset: a labelled image data set in MNIST's layout — four IDX files (training and test
// images and labels) in one directory — loaded as the classes a run asks for, with a fingerprint that
// tells a model which data it was trained on.
import BlasNetCore
import Crypto
import Foundation

/// Errors for a data directory as a whole.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case directoryMissing(path: String)
    case badClasses(String)
    case missingClasses(path: String, labels: [Int])
    case imageSizeMismatch(train: String, trainSize: String, test: String, testSize: String)

    public var description: String {
        switch self {
        case let .directoryMissing(path):
            return "data directory \(path) does not exist; fetch MNIST with \(MNISTDataset.fetchCommand(into: path))"
                + " (or set BLASNET_DATA_DIR / pass --data-dir)"
        case let .badClasses(message):
            return message
        case let .missingClasses(path, labels):
            return "\(path): no samples of label\(labels.count == 1 ? "" : "s") \(labels.map(String.init).joined(separator: ", "))"
        case let .imageSizeMismatch(train, trainSize, test, testSize):
            return "\(train) holds \(trainSize) images but \(test) holds \(testSize)"
        }
    }
}

/// The classes a run uses: every label in the data, or listed labels (class i is the i-th listed).
public enum ClassSelection: Hashable, Sendable, CustomStringConvertible {
    case all
    case labels([Int])

    /// The original project's digits, 0 and 1.
    public static let zeroAndOne = ClassSelection.labels([0, 1])
    /// Labels an IDX label file can hold.
    public static let labelRange = 0...255

    /// Parses "all" or a comma-separated list of two or more distinct labels 0–255, like "0,1" or "3,5,8".
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "all" { self = .all; return }
        let parts = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let labels = parts.compactMap { Int($0) }
        guard labels.count == parts.count, !parts.isEmpty else {
            throw DatasetError.badClasses("classes must be 'all' or labels separated by commas, like 0,1 or 3,5,8 (got '\(text)')")
        }
        guard labels.allSatisfy(Self.labelRange.contains) else {
            throw DatasetError.badClasses("class labels must be within 0–255 (got '\(text)')")
        }
        guard labels.count >= 2 else {
            throw DatasetError.badClasses("classes need at least two labels, like 0,1 (got '\(text)')")
        }
        guard Set(labels).count == labels.count else {
            throw DatasetError.badClasses("classes must be different labels (got '\(text)')")
        }
        self = .labels(labels)
    }

    /// "all" or the labels joined by commas, as parsed.
    public var description: String {
        switch self {
        case .all: return "all"
        case let .labels(labels): return labels.map(String.init).joined(separator: ",")
        }
    }
}

/// A loaded data set: the training and test sets of the chosen classes and what identifies the files.
public struct LoadedDataset: Sendable {
    public let train: LabeledImages
    public let test: LabeledImages
    /// The directory's last path component, e.g. "mnist".
    public let name: String
    /// SHA-256 (hex) over the four files' SHA-256 digests, in the order train images, train labels,
    /// test images, test labels: the same files give the same fingerprint wherever they lie.
    public let fingerprint: String
    public let imageRows: Int
    public let imageColumns: Int
}

/// Loads the four IDX files of an MNIST-style data set from a directory.
public enum MNISTDataset {
    /// A command that fetches MNIST into `directory` from wherever the user is: the fetch script of the
    /// checkout this binary was built from, and `directory` made absolute, when both can be found;
    /// else the script's path within a blasnet checkout.
    public static func fetchCommand(into directory: String) -> String {
        // This file is <checkout>/Sources/BlasNetIO/Data/MNISTDataset.swift.
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let script = checkout.appendingPathComponent("scripts/fetch-mnist.sh").path
        let absolute = URL(fileURLWithPath: directory, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .standardizedFileURL.path
        func quoted(_ path: String) -> String {
            path.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+".contains($0) }) ? path
                : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        guard FileManager.default.isExecutableFile(atPath: script) else {
            return "scripts/fetch-mnist.sh \(quoted(absolute)) (run from a blasnet checkout)"
        }
        return "\(quoted(script)) \(quoted(absolute))"
    }

    public static let trainImages = "train-images-idx3-ubyte"
    public static let trainLabels = "train-labels-idx1-ubyte"
    public static let testImages = "t10k-images-idx3-ubyte"
    public static let testLabels = "t10k-labels-idx1-ubyte"

    /// The fingerprint (see `LoadedDataset.fingerprint`) of the MNIST files `scripts/fetch-mnist.sh`
    /// fetches and checks (data/mnist.sha256): a data set with it is MNIST itself.
    public static let fingerprint = "e9914cff2ade526da2ab1ac60c072f9173cc53e35b9411692de8207cb1b9009d"

    /// `$BLASNET_DATA_DIR`, else `data/mnist`.
    public static var defaultDirectory: String {
        ProcessInfo.processInfo.environment["BLASNET_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "data/mnist"
    }

    /// The training and test sets of `classes` (`.all`: every label of the training set, ascending).
    /// Test rows of other labels are left out; a listed label missing from either set is an error.
    public static func load(directory: String, classes: ClassSelection) throws -> LoadedDataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError.directoryMissing(path: directory)
        }
        // Each file raw, or gzipped as name.gz (as the public mirrors serve them) when the raw one is absent.
        func path(_ name: String) -> String {
            let raw = (directory as NSString).appendingPathComponent(name)
            return !FileManager.default.fileExists(atPath: raw) && FileManager.default.fileExists(atPath: raw + ".gz")
                ? raw + ".gz" : raw
        }
        let files = [trainImages, trainLabels, testImages, testLabels].map(path)
        var digests: [Data] = []
        var contents: [Data] = []
        for file in files {
            let data = try IDXReader.readFile(file)
            contents.append(data)
            digests.append(Data(SHA256.hash(data: data)))
        }
        let trainImagesData = try IDXReader.parseImages(contents[0], path: files[0])
        let trainLabelsData = try IDXReader.parseLabels(contents[1], path: files[1])
        let testImagesData = try IDXReader.parseImages(contents[2], path: files[2])
        let testLabelsData = try IDXReader.parseLabels(contents[3], path: files[3])
        guard trainImagesData.rows == testImagesData.rows, trainImagesData.columns == testImagesData.columns else {
            throw DatasetError.imageSizeMismatch(
                train: files[0], trainSize: "\(trainImagesData.rows)×\(trainImagesData.columns)",
                test: files[2], testSize: "\(testImagesData.rows)×\(testImagesData.columns)")
        }
        let classLabels: [Int]
        switch classes {
        case .all: classLabels = Set(trainLabelsData.map(Int.init)).sorted()
        case let .labels(labels): classLabels = labels
        }
        let train = try select(images: trainImagesData, labels: trainLabelsData, imagePath: files[0],
                               labelPath: files[1], classLabels: classLabels)
        let test = try select(images: testImagesData, labels: testLabelsData, imagePath: files[2],
                              labelPath: files[3], classLabels: classLabels)
        let fingerprint = SHA256.hash(data: digests.reduce(Data(), +)).map { String(format: "%02x", $0) }.joined()
        let name = URL(fileURLWithPath: directory).standardizedFileURL.lastPathComponent
        return LoadedDataset(train: train, test: test, name: name, fingerprint: fingerprint,
                             imageRows: trainImagesData.rows, imageColumns: trainImagesData.columns)
    }

    /// The rows of one images/labels pair whose label is in `classLabels`, labelled by class index.
    static func select(images: (pixels: [UInt8], count: Int, rows: Int, columns: Int), labels: [UInt8],
                       imagePath: String, labelPath: String, classLabels: [Int]) throws -> LabeledImages {
        guard images.count == labels.count else {
            throw IDXError.countMismatch(images: imagePath, imageCount: images.count,
                                         labels: labelPath, labelCount: labels.count)
        }
        var classOf = [Int](repeating: -1, count: 256)
        for (index, label) in classLabels.enumerated() where ClassSelection.labelRange.contains(label) { classOf[label] = index }
        let kept = labels.indices.filter { classOf[Int(labels[$0])] >= 0 }
        let present = Set(kept.map { Int(labels[$0]) })
        let missing = classLabels.filter { !present.contains($0) }
        guard missing.isEmpty, classLabels.count >= 2 else {
            throw DatasetError.missingClasses(path: labelPath, labels: missing.isEmpty ? classLabels : missing)
        }
        let width = images.rows * images.columns
        var pixels = [UInt8](repeating: 0, count: kept.count * width)
        pixels.withUnsafeMutableBufferPointer { destination in
            images.pixels.withUnsafeBufferPointer { source in
                for (row, index) in kept.enumerated() {
                    (destination.baseAddress! + row * width).update(from: source.baseAddress! + index * width, count: width)
                }
            }
        }
        return try LabeledImages(pixelBytes: pixels, width: width, labels: kept.map { classOf[Int(labels[$0])] },
                                 classLabels: classLabels, sourceIndices: kept)
    }
}
