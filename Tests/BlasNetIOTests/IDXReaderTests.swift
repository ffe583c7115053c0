import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

final class IDXReaderTests: XCTestCase {
    /// Writes a labels file and a 28×28 images file with `count` items to `directory`.
    private func writePair(in directory: URL, labels: [UInt8], imageCount: Int? = nil,
                           imagesName: String = "images", labelsName: String = "labels") throws {
        let count = imageCount ?? labels.count
        let pixels = (0..<(count * 784)).map { UInt8($0 % 251) }
        try idxBytes(magic: 2051, dimensions: [UInt32(count), 28, 28], payload: pixels)
            .write(to: directory.appendingPathComponent(imagesName))
        try idxBytes(magic: 2049, dimensions: [UInt32(labels.count)], payload: labels)
            .write(to: directory.appendingPathComponent(labelsName))
    }

    func testValidFilesRoundTrip() throws {
        let directory = try makeTemporaryDirectory(self)
        try writePair(in: directory, labels: [0, 1, 7, 1, 0])
        let labels = try IDXReader.readLabels(at: directory.appendingPathComponent("labels").path)
        XCTAssertEqual(labels, [0, 1, 7, 1, 0])
        let images = try IDXReader.readImages(at: directory.appendingPathComponent("images").path)
        XCTAssertEqual(images.count, 5)
        XCTAssertEqual(images.rows, 28)
        XCTAssertEqual(images.columns, 28)
        XCTAssertEqual(images.pixels, (0..<(5 * 784)).map { UInt8($0 % 251) })

        let subset = try select(in: directory, classLabels: [1, 0])
        XCTAssertEqual(subset.count, 4, "the 7 is dropped")
        XCTAssertEqual(subset.labels, [1, 0, 0, 1], "first class (1) maps to 0, second (0) to 1")
        XCTAssertEqual(subset.classLabels, [1, 0])
        XCTAssertEqual(subset.width, 784)
        XCTAssertEqual(subset.sourceIndices, [0, 1, 3, 4])
        XCTAssertEqual(subset.images[784], Float(784 % 251) / 255, accuracy: 1e-7, "row 1 is source image 1")
        XCTAssertTrue(subset.images.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// gzip's own output of `data` (the tool users have), for the gzip tests.
    private func gzipped(_ data: Data) throws -> Data {
        let directory = try makeTemporaryDirectory(self)
        let file = directory.appendingPathComponent("f")
        try data.write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -9 -n -c \"$0\" > \"$0.gz\"", file.path]
        try process.run()
        process.waitUntilExit()
        try XCTSkipIf(process.terminationStatus != 0, "gzip is not available")
        return try Data(contentsOf: URL(fileURLWithPath: file.path + ".gz"))
    }

    /// A gzipped IDX file reads as the raw one; an MNIST directory of four .gz files (as the mirrors
    /// serve them) loads, with the same fingerprint as the raw files.
    func testGzippedFilesReadAsTheRawOnes() throws {
        let raw = try makeTemporaryDirectory(self), packed = try makeTemporaryDirectory(self)
        try writePair(in: raw, labels: [0, 1, 1, 0], imagesName: MNISTDataset.trainImages, labelsName: MNISTDataset.trainLabels)
        try writePair(in: raw, labels: [1, 0], imagesName: MNISTDataset.testImages, labelsName: MNISTDataset.testLabels)
        for name in [MNISTDataset.trainImages, MNISTDataset.trainLabels, MNISTDataset.testImages, MNISTDataset.testLabels] {
            let bytes = try Data(contentsOf: raw.appendingPathComponent(name))
            try gzipped(bytes).write(to: packed.appendingPathComponent(name + ".gz"))
            XCTAssertEqual(try IDXReader.readFile(packed.appendingPathComponent(name + ".gz").path), bytes, name)
        }
        let fromRaw = try MNISTDataset.load(directory: raw.path, classes: .zeroAndOne)
        let fromGzip = try MNISTDataset.load(directory: packed.path, classes: .zeroAndOne)
        XCTAssertEqual(fromGzip.train.images, fromRaw.train.images)
        XCTAssertEqual(fromGzip.test.labels, fromRaw.test.labels)
        XCTAssertEqual(fromGzip.fingerprint, fromRaw.fingerprint, "the fingerprint is of the IDX bytes, not the packing")
    }

    /// Damaged gzip files are errors naming the file: cut short, corrupted, followed by junk.
    func testDamagedGzipFilesAreRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        let good = try gzipped(idxBytes(magic: 2049, dimensions: [300], payload: (0..<300).map { UInt8($0 % 10) }))
        var corrupt = good
        corrupt[corrupt.startIndex + 20] ^= 0xFF
        let cases: [(String, Data, String)] = [
            ("short.gz", good.prefix(good.count / 2), "truncated"),
            ("corrupt.gz", corrupt, "gzip"),
            ("trailing.gz", good + Data([1, 2, 3]), "trailing data"),
        ]
        for (name, bytes, reason) in cases {
            let path = directory.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try IDXReader.readLabels(at: path), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
                XCTAssertTrue("\(error)".contains(reason), "\(name): \(error)")
            }
        }
    }

    func testWrongMagicIsRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        try writePair(in: directory, labels: [0, 1])
        // An images file given as labels: magic 2051 where 2049 is expected.
        let path = directory.appendingPathComponent("images").path
        XCTAssertThrowsError(try IDXReader.readLabels(at: path)) { error in
            XCTAssertEqual(error as? IDXError, .wrongMagic(path: path, found: 2051, expected: 2049))
            XCTAssertTrue("\(error)".contains(path))
        }
    }

    func testTruncatedFileIsRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("short").path
        try idxBytes(magic: 2051, dimensions: [2, 28, 28], payload: [UInt8](repeating: 0, count: 784 + 10))
            .write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try IDXReader.readImages(at: path)) { error in
            XCTAssertEqual(error as? IDXError, .lengthMismatch(path: path, expected: 16 + 2 * 784, actual: 16 + 794))
            XCTAssertTrue("\(error)".contains("truncated"))
        }
        // Cut inside the header.
        try Data([0, 0, 8, 3, 0, 0]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try IDXReader.readImages(at: path)) { error in
            XCTAssertEqual(error as? IDXError, .tooShort(path: path, length: 6, needed: 16))
        }
    }

    func testOversizedFileIsRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("long").path
        try idxBytes(magic: 2049, dimensions: [3], payload: [0, 1, 0, 1]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try IDXReader.readLabels(at: path)) { error in
            XCTAssertEqual(error as? IDXError, .lengthMismatch(path: path, expected: 11, actual: 12))
            XCTAssertTrue("\(error)".contains("trailing data"))
        }
    }

    func testImageAndLabelCountsMustAgree() throws {
        let directory = try makeTemporaryDirectory(self)
        try writePair(in: directory, labels: [0, 1, 1], imageCount: 2)
        XCTAssertThrowsError(try select(in: directory, classLabels: [0, 1])) { error in
            guard case let .countMismatch(_, imageCount, _, labelCount)? = error as? IDXError else {
                return XCTFail("expected countMismatch, got \(error)")
            }
            XCTAssertEqual(imageCount, 2)
            XCTAssertEqual(labelCount, 3)
        }
    }

    func testDimensionsThatOverflowAreRejectedBeforeAnyAllocation() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("huge").path
        try idxBytes(magic: 2051, dimensions: [UInt32.max, UInt32.max, UInt32.max], payload: [])
            .write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try IDXReader.readImages(at: path)) { error in
            guard case .wrongDimensions? = error as? IDXError else { return XCTFail("got \(error)") }
        }
    }

    func testMissingEmptyAndDirectoryPathsAreRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        let missing = directory.appendingPathComponent("nope").path
        XCTAssertThrowsError(try IDXReader.readLabels(at: missing)) { error in
            XCTAssertEqual(error as? IDXError, .missing(path: missing))
        }
        XCTAssertThrowsError(try IDXReader.readLabels(at: directory.path)) { error in
            XCTAssertEqual(error as? IDXError, .notARegularFile(path: directory.path))
        }
        let empty = directory.appendingPathComponent("empty").path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertThrowsError(try IDXReader.readLabels(at: empty)) { error in
            XCTAssertEqual(error as? IDXError, .tooShort(path: empty, length: 0, needed: 8))
        }
    }

    func testMissingDataDirectorySaysHowToFetch() {
        XCTAssertThrowsError(try MNISTDataset.load(directory: "/nonexistent/mnist", classes: .zeroAndOne)) { error in
            XCTAssertTrue("\(error)".contains("scripts/fetch-mnist.sh"), "\(error)")
        }
    }

    func testClassesParsing() throws {
        XCTAssertEqual(try ClassSelection(parsing: "3,8"), .labels([3, 8]))
        XCTAssertEqual(try ClassSelection(parsing: " 1 , 0 "), .labels([1, 0]))
        XCTAssertEqual(try ClassSelection(parsing: "3,5,8"), .labels([3, 5, 8]))
        XCTAssertEqual(try ClassSelection(parsing: "ALL"), .all)
        XCTAssertEqual(try ClassSelection(parsing: "12,200").description, "12,200", "labels are the data's own, not digits")
        for bad in ["3,3", "1,256", "-1,2", "a,b", "1", "1,2,2", "", "1,,2"] {
            XCTAssertThrowsError(try ClassSelection(parsing: bad), "'\(bad)' must be rejected")
        }
    }

    func testListedLabelsMissingFromTheDataAreNamed() throws {
        let directory = try makeTemporaryDirectory(self)
        try writePair(in: directory, labels: [0, 1, 7, 1, 0])
        XCTAssertThrowsError(try select(in: directory, classLabels: [0, 3, 7, 9])) { error in
            XCTAssertEqual(error as? DatasetError, .missingClasses(path: directory.appendingPathComponent("labels").path,
                                                                   labels: [3, 9]))
        }
    }

    /// The images/labels pair in `directory` kept to `classLabels`, as `MNISTDataset.load` does per set.
    private func select(in directory: URL, classLabels: [Int]) throws -> LabeledImages {
        let imagePath = directory.appendingPathComponent("images").path
        let labelPath = directory.appendingPathComponent("labels").path
        return try MNISTDataset.select(images: try IDXReader.readImages(at: imagePath),
                                       labels: try IDXReader.readLabels(at: labelPath),
                                       imagePath: imagePath, labelPath: labelPath, classLabels: classLabels)
    }

    /// A FIFO is rejected from its type, before any read that would block waiting for a writer.
    func testFIFOIsRejectedWithoutBlocking() throws {
        let directory = try makeTemporaryDirectory(self)
        let fifo = directory.appendingPathComponent("pipe").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertThrowsError(try IDXReader.readLabels(at: fifo)) { error in
            XCTAssertEqual(error as? IDXError, .notARegularFile(path: fifo))
        }
        XCTAssertThrowsError(try Safetensors.read(from: fifo)) { error in
            XCTAssertEqual(error as? SafetensorsError, .notARegularFile(path: fifo))
        }
        XCTAssertThrowsError(try PGMReader.readDigit(at: fifo))
    }

    /// Root reads any file whatever its mode, so this can only be checked as another user: it skips,
    /// visibly, under root (as in CI) rather than passing without checking anything.
    func testUnreadableFileIsRejected() throws {
        guard geteuid() != 0 else { throw XCTSkip("running as root, which ignores file modes") }
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("secret").path
        try idxBytes(magic: 2049, dimensions: [1], payload: [1]).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(chmod(path, 0), 0)
        XCTAssertThrowsError(try IDXReader.readLabels(at: path)) { error in
            guard case .unreadable? = error as? IDXError else { return XCTFail("got \(error)") }
        }
    }

    /// Inputs that are slices of a larger buffer (startIndex ≠ 0) parse like whole files.
    func testSlicedInputParsesLikeAWholeFile() throws {
        let file = idxBytes(magic: 2051, dimensions: [1, 28, 28], payload: (0..<784).map { UInt8($0 % 256) })
        let slice = (Data([9, 9, 9]) + file).dropFirst(3)
        XCTAssertEqual(try IDXReader.parseImages(slice, path: "s").pixels, try IDXReader.parseImages(file, path: "f").pixels)
        XCTAssertEqual(try IDXReader.parseImages(slice, path: "s").pixels.count, 784)
    }

    /// A symbolic link to a data file is read like the file (the link's target type counts).
    func testSymbolicLinksAreFollowed() throws {
        let directory = try makeTemporaryDirectory(self)
        let target = directory.appendingPathComponent("labels").path
        try idxBytes(magic: 2049, dimensions: [2], payload: [0, 1]).write(to: URL(fileURLWithPath: target))
        let link = directory.appendingPathComponent("link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(try IDXReader.readLabels(at: link), [0, 1])
        let dangling = directory.appendingPathComponent("dangling").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory.appendingPathComponent("none").path)
        XCTAssertThrowsError(try IDXReader.readLabels(at: dangling)) { error in
            XCTAssertEqual(error as? IDXError, .missing(path: dangling))
        }
    }
}
