import BlasNet
import BlasNetTestSupport
import Foundation
import XCTest

/// Faults a user can cause: Ctrl-C mid-training, kill -9 mid-save, a full disk, two runs at once.
final class FaultTests: XCTestCase {
    func testInterruptStopsTrainingWithoutSaving() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let model = directory.appendingPathComponent("m.safetensors").path
        let (process, output, error) = try BlasnetProcess.start(["train", "--epochs", "500", "--data-dir", dataDirectory, "--save", model])
        // Wait for the first epoch line, so the signal lands inside the training loop.
        let firstLine = output.fileHandleForReading.availableData
        XCTAssertFalse(firstLine.isEmpty)
        Thread.sleep(forTimeInterval: 0.5)
        process.interrupt()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, message)
        XCTAssertTrue(message.contains("interrupted at epoch"), message)
        XCTAssertEqual(message.split(separator: "\n").count, 1, message)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [],
                       "nothing saved, no temporary file left")
    }

    /// bench and check write nothing until they finish: Ctrl-C exits 130 with one line saying so.
    func testInterruptedBenchAndCheckSaySo() throws {
        let dataDirectory = try realDataDirectory()
        for (arguments, expected) in [
            (["bench", "--models", "dense", "--engines", "blas", "--threads", "1", "--batch-sizes", "32", "--classes", "0,1",
              "--no-peak", "--repeats", "200"], "blasnet bench: interrupted"),
            (["check"], "blasnet check: interrupted"),
        ] {
            let (process, _, error) = try BlasnetProcess.start(arguments + ["--data-dir", dataDirectory])
            Thread.sleep(forTimeInterval: 1.5)
            process.interrupt()
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 130, "\(arguments[0]): \(message)")
            XCTAssertTrue(message.contains(expected), "\(arguments[0]): \(message)")
        }
    }

    /// An interrupted report leaves no pictures and no empty --out directory it created.
    func testInterruptedReportLeavesNoDirectory() throws {
        let dataDirectory = try realDataDirectory()
        let out = try makeTemporaryDirectory(self).appendingPathComponent("pictures")
        let (process, _, error) = try BlasnetProcess.start(["report", "--epochs", "500", "--data-dir", dataDirectory,
                                                            "--out", out.path])
        let first = error.fileHandleForReading.availableData  // "… training the dense model …"
        XCTAssertFalse(first.isEmpty)
        Thread.sleep(forTimeInterval: 0.5)
        process.interrupt()
        let message = String(decoding: first + error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, message)
        XCTAssertTrue(message.contains("no pictures or models written"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "the --out directory it made is removed")
    }

    /// kill -9 inside a save over an existing good model: the save is held between writing its temporary
    /// file and renaming it (a test-only pause), the process killed there; the final name must still hold
    /// the old model, byte for byte. (The hidden temporary file is left behind: no code runs after kill -9.)
    func testKillDuringSaveKeepsTheEarlierFile() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let model = directory.appendingPathComponent("m.safetensors").path
        let first = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "512", "--data-dir", dataDirectory,
                                            "--save", model])
        XCTAssertEqual(first.status, 0, first.standardError)
        let original = try Data(contentsOf: URL(fileURLWithPath: model))

        let (process, _, _) = try BlasnetProcess.start(["train", "--epochs", "1", "--batch-size", "512", "--seed", "7",
                                         "--data-dir", dataDirectory, "--save", model],
                                        environment: ["BLASNET_TEST_PAUSE_BEFORE_RENAME": "30"])
        // Wait until the complete temporary file exists, i.e. the save is paused before its rename.
        var temporary: [String] = []
        let deadline = Date().addingTimeInterval(60)
        while temporary.isEmpty && Date() < deadline && process.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
            temporary = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        }
        XCTAssertEqual(temporary.count, 1, "the save never reached its rename")
        Thread.sleep(forTimeInterval: 0.2)  // let write + fsync finish: the file is complete before the pause
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), original, "the earlier model is intact")
        XCTAssertNoThrow(try ModelFile.load(model))
    }

    /// A full disk: /dev/full accepts the open and fails every write with ENOSPC, even for root. Saving
    /// to it must say so in one line, and leave the device node itself in place (an atomic rename over
    /// it would replace it with a regular file).
    func testFullDiskIsAClearError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full here") }
        let dataDirectory = try realDataDirectory()
        let result = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "512", "--data-dir", dataDirectory,
                                            "--save", "/dev/full"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.contains("/dev/full"), result.standardError)
        XCTAssertTrue(result.standardError.contains("No space left on device"), result.standardError)
        XCTAssertTrue(result.standardError.contains("trained but not saved"), result.standardError)
        XCTAssertEqual(result.standardError.split(separator: "\n").count, 1, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("test accuracy"), "the results come first: \(result.standardOutput)")
        XCTAssertFalse(result.standardOutput.contains("saved /dev/full"), result.standardOutput)
        let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/full")
        XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeCharacterSpecial, "/dev/full is still a device")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    /// Every output destination is checked before any work: a directory no file can be created in
    /// (/sys refuses even root), a path through a regular file, an --out that is a file. Nothing trains.
    func testUnwritableDestinationsAreRefusedBeforeTraining() throws {
        let directory = try makeTemporaryDirectory(self)
        let file = directory.appendingPathComponent("plain-file").path
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let sysWritable = FileManager.default.createFile(atPath: "/sys/blasnet-probe", contents: Data())
        var cases: [([String], String)] = [
            (["train", "--save", "\(file)/m.safetensors"], "is not a directory"),
            (["report", "--out", file], "is a file, not a directory"),
            (["report", "--out", "\(file)/pictures"], "is not a directory"),
        ]
        if !sysWritable {
            cases += [
                (["train", "--save", "/sys/m.safetensors"], "cannot write in /sys"),
                (["report", "--out", "/sys/blasnet-pictures"], "cannot write in /sys"),
                (["bench", "--plot", "/sys/bench.png"], "cannot write in /sys"),
                (["check", "--calibrate", "--output", "/sys/baseline.json"], "cannot write in /sys"),
            ]
        }
        for (arguments, message) in cases {
            let result = try BlasnetProcess.run(arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.standardError)")
            XCTAssertTrue(result.standardError.contains(message), "\(arguments): \(result.standardError)")
            XCTAssertEqual(result.standardOutput, "", "\(arguments): nothing ran")
            XCTAssertFalse(result.standardError.contains("NSCocoaErrorDomain"), "\(arguments)")
        }
    }

    func testSaveWhoseParentIsAFileFailsNamingIt() throws {
        let directory = try makeTemporaryDirectory(self)
        let file = directory.appendingPathComponent("plain").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        XCTAssertThrowsError(try ModelFile.save(network: Network(kind: .dense), kind: .dense,
                                                to: file + "/m.safetensors")) { error in
            XCTAssertTrue("\(error)".contains(file), "\(error)")
        }
    }

    /// Two trainings at once on the 2-core machine share the data directory and both reach the floor.
    func testTwoConcurrentTrainingsBothSucceed() throws {
        let dataDirectory = try realDataDirectory()
        let runs = try (0..<2).map { index in
            try BlasnetProcess.start(["train", "--epochs", "1", "--batch-size", "256", "--threads", "1", "--seed", "\(index + 1)",
                       "--data-dir", dataDirectory, "--json"])
        }
        for (process, output, error) in runs {
            let text = output.fileHandleForReading.readDataToEndOfFile()
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, message)
            let result = try XCTUnwrap(JSONSerialization.jsonObject(with: text) as? [String: Any])
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(result["test_accuracy"] as? Double), 0.995)
        }
    }
}
