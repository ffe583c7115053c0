// Helpers shared by the test targets: temporary directories, IDX bytes, seeded values, the real
// MNIST subset, python3.
import BlasNet
import Foundation
import XCTest

/// A fresh temporary directory, removed when the test ends.
public func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("blasnet-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Bytes of an IDX file: magic, big-endian sizes, payload.
public func idxBytes(magic: UInt32, dimensions: [UInt32], payload: [UInt8]) -> Data {
    var data = Data()
    for value in [magic] + dimensions {
        data.append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
    data.append(contentsOf: payload)
    return data
}

/// Uniform random values in [-scale, scale) from a seeded generator.
public func randomValues(_ count: Int, scale: Float = 1, generator: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in generator.nextFloat(symmetric: scale) }
}

/// The real MNIST directory for accuracy tests: $BLASNET_DATA_DIR, else data/mnist in the package.
/// Missing data skips the test visibly, unless BLASNET_REQUIRE_DATA=1 (set by .ci/run, which fetches
/// the data first): then it fails.
public func realDataDirectory() throws -> String {
    let environment = ProcessInfo.processInfo.environment
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = environment["BLASNET_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        ?? packageRoot.appendingPathComponent("data/mnist").path
    let present = FileManager.default.fileExists(
        atPath: (directory as NSString).appendingPathComponent(MNISTDataset.trainImages))
    if !present {
        let message = "MNIST not found in \(directory): run scripts/fetch-mnist.sh"
        if environment["BLASNET_REQUIRE_DATA"] == "1" {
            XCTFail(message + " (BLASNET_REQUIRE_DATA=1: the data is required here)")
        }
        throw XCTSkip(message)
    }
    return directory
}

/// The real data sets, each loaded once per test process.
public final class RealData: @unchecked Sendable {
    nonisolated(unsafe) private static var cached: [ClassSelection: LoadedDataset] = [:]
    private static let lock = NSLock()

    /// The real 0-vs-1 subset.
    public static func zeroVersusOne() throws -> (train: LabeledImages, test: LabeledImages) {
        let loaded = try dataset(.zeroAndOne)
        return (loaded.train, loaded.test)
    }

    /// All ten digits.
    public static func allDigits() throws -> (train: LabeledImages, test: LabeledImages) {
        let loaded = try dataset(.all)
        return (loaded.train, loaded.test)
    }

    public static func dataset(_ classes: ClassSelection) throws -> LoadedDataset {
        let directory = try realDataDirectory()
        lock.lock()
        defer { lock.unlock() }
        if let loaded = cached[classes] { return loaded }
        let loaded = try MNISTDataset.load(directory: directory, classes: classes)
        cached[classes] = loaded
        return loaded
    }
}

/// python3's path, or nil.
public func findPython3() -> String? {
    // PATH first: that is the python3 whose packages `python3 -m pip install` (as in .ci/run) added to.
    ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
        .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        ?? ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs `python3 -c script arguments…`; returns its exit status and combined output.
public func runPython(_ python: String, _ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
