import BlasNet
import BlasNetBench
import BlasNetPictures
import BlasNetTestSupport
import Foundation
import XCTest

/// Runs the `blasnet` executable that `swift test` built next to the test bundle.
struct BlasnetProcess {
    static var executable: URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("blasnet")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    struct Result {
        let status: Int32
        let standardOutput: String
        let standardError: String
    }

    /// Starts blasnet with `arguments` (and extra `environment`); returns the running process and its
    /// stdout and stderr pipes. The child runs without OPENBLAS_CORETYPE unless `environment` sets it: with
    /// it, blasnet adds a note to stderr on AVX-512 CPUs, and the exact-output tests expect none.
    static func start(_ arguments: [String], environment: [String: String] = [:],
                      in directory: URL? = nil) throws -> (Process, Pipe, Pipe) {
        guard let executable else { throw XCTSkip("the blasnet executable was not found next to the test bundle") }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "OPENBLAS_CORETYPE" }
            .merging(environment) { $1 }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        return (process, output, error)
    }

    /// Runs blasnet to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        let (process, output, error) = try start(arguments, environment: environment, in: directory)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, standardOutput: String(decoding: outputData, as: UTF8.self),
                      standardError: String(decoding: errorData, as: UTF8.self))
    }
}

final class CommandLineTests: XCTestCase {
    /// Each invalid option value is a usage error (exit 64) whose message names the option.
    func testInvalidOptionsAreUsageErrorsNamingTheOption() throws {
        let cases: [([String], String)] = [
            (["train", "--epochs", "0"], "--epochs"),
            (["train", "--epochs", "ten"], "--epochs"),
            (["train", "--batch-size", "0"], "--batch-size"),
            (["train", "--batch-size", "3000000000"], "--batch-size"),
            (["train", "--batch-size", "9223372036854775807"], "--batch-size"),
            (["bench", "--batch-sizes", "32,100000"], "--batch-sizes"),
            (["eval", "--model", "m.safetensors", "--data-dir", ""], "--data-dir"),
            (["train", "--learning-rate", "-1"], "--learning-rate"),
            (["train", "--learning-rate", "nan"], "--learning-rate"),
            (["train", "--threads", "0"], "--threads"),
            (["train", "--classes", "3,3"], "--classes"),
            (["train", "--classes", "1,12"], "--classes"),
            (["train", "--classes", ""], "--classes"),
            (["train", "--model", "cnn"], "--model"),
            (["train", "--engine", "gpu"], "--engine"),
            (["train", "--seed", "-4"], "--seed"),
            (["train", "--data-dir", ""], "--data-dir"),
            (["bench", "--models", "dense,cnn"], "--models"),
            (["bench", "--threads", "0"], "--threads"),
            (["bench", "--batch-sizes", ""], "--batch-sizes"),
            (["bench", "--repeats", "0"], "--repeats"),
            (["check", "--seeds", "0"], "--seeds"),
            (["check", "--output", "x.json"], "--output"),
            (["train", "--save", ""], "--save"),
            (["train", "--save", "/nonexistent-dir/m.safetensors"], "--save"),
            (["train", "--save", "/tmp"], "--save"),
            (["train", "--hidden", "128,x"], "--hidden"),
            (["train", "--hidden", "0"], "--hidden"),
            (["train", "--classes", "3"], "--classes"),
            (["train", "--validation-split", "1"], "--validation-split"),
            (["train", "--keep", "best"], "--validation-split"),
            (["eval"], "--model"),
            (["eval", "--model", "m.safetensors", "--classes", "4,4"], "--classes"),
            (["predict", "--model", "m.safetensors", "--top", "0", "x"], "--top"),
            (["eval", "--model", "m.safetensors", "--engine", "cuda"], "--engine"),
            (["predict", "--model", "m.safetensors"], "input"),
            (["report"], "--out"),
            (["report", "--out", "x", "--epochs", "0"], "--epochs"),
            (["report", "--out", "x", "--cells", "0"], "--cells"),
        ]
        for (arguments, option) in cases { try assertUsageError(arguments, mentions: option) }
    }

    /// `arguments` is a usage error (exit 64) whose message holds `text` and none of `forbidden`.
    private func assertUsageError(_ arguments: [String], mentions text: String,
                                  without forbidden: [String] = ["Fatal error"],
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try BlasnetProcess.run(arguments)
        XCTAssertEqual(result.status, 64, "\(arguments): \(result.standardError)", file: file, line: line)
        XCTAssertTrue(result.standardError.contains(text), "\(arguments) must say \(text): \(result.standardError)",
                      file: file, line: line)
        for phrase in forbidden {
            XCTAssertFalse(result.standardError.contains(phrase), "\(arguments): \(result.standardError)", file: file, line: line)
        }
    }

    /// A negative number is a value, not an option: it gets its range error, never "Missing value"; and
    /// a calibration option without --calibrate is refused rather than ignored.
    func testNegativeNumbersGetTheirRangeErrors() throws {
        let cases: [([String], String)] = [
            (["train", "--epochs", "-1"], "--epochs must be at least 1 (got -1)"),
            (["train", "--batch-size", "-32"], "--batch-size must be"),
            (["train", "--learning-rate", "-1"], "--learning-rate must be"),
            (["train", "--threads", "-2"], "--threads must be at least 1 (got -2)"),
            (["train", "--seed", "-1"], "'-1' is invalid for '--seed"),
            (["train", "--validation-split", "-0.1"], "--validation-split"),
            (["report", "--out", "x", "--epochs", "-2"], "--epochs must be at least 1 (got -2)"),
            (["bench", "--repeats", "-1"], "--repeats"),
            (["check", "--seeds", "3"], "--seeds, --output and --force only apply with --calibrate"),
        ]
        for (arguments, message) in cases {
            try assertUsageError(arguments, mentions: message, without: ["Missing value", "Fatal error"])
        }
    }

    func testMissingDataDirectoryIsOneLineWithTheFix() throws {
        let result = try BlasnetProcess.run(["train", "--data-dir", "/nonexistent/mnist"])
        XCTAssertEqual(result.status, 1)
        let lines = result.standardError.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.standardError)
        XCTAssertTrue(result.standardError.contains("scripts/fetch-mnist.sh"), result.standardError)
    }

    /// Run from another directory, the missing-data message gives a command that works from there: the
    /// checkout's fetch script and the data directory, both as absolute paths.
    func testMissingDataMessageWorksFromAnotherDirectory() throws {
        let directory = try makeTemporaryDirectory(self)
        let result = try BlasnetProcess.run(["train", "--data-dir", "no-data-here"], in: directory)
        XCTAssertEqual(result.status, 1, result.standardError)
        let message = result.standardError
        let wanted = directory.appendingPathComponent("no-data-here").standardizedFileURL.path
        XCTAssertTrue(message.contains(" \(wanted) "), message)
        let command = try XCTUnwrap(message.components(separatedBy: "fetch MNIST with ").last?.split(separator: " ").first)
        XCTAssertTrue(command.hasPrefix("/") && command.hasSuffix("scripts/fetch-mnist.sh"), message)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: String(command)), "\(command) must exist")
    }

    func testHelpExplainsTheDefaults() throws {
        let result = try BlasnetProcess.run(["train", "--help"])
        XCTAssertEqual(result.status, 0)
        for text in ["--threads", "--classes", "--learning-rate", "Default"] {
            XCTAssertTrue(result.standardOutput.contains(text), "help lacks \(text)")
        }
    }

    /// `bench --json` parses, and its derived numbers follow from the measured ones of the same run, for
    /// a three-class task (784-128-64-3, so GFLOP/s must count the real output width).
    func testBenchJSONParsesAndItsNumbersAgree() throws {
        let dataDirectory = try realDataDirectory()
        let result = try BlasnetProcess.run(["bench", "--models", "dense", "--engines", "blas", "--threads", "1",
                                             "--batch-sizes", "256", "--repeats", "2", "--classes", "3,5,8", "--json",
                                             "--data-dir", dataDirectory])
        XCTAssertEqual(result.status, 0, result.standardError)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let environment = try XCTUnwrap(document["environment"] as? [String: Any])
        XCTAssertEqual(environment["build"] as? String, "debug")  // tests run the debug build; it says so
        XCTAssertEqual(environment["subnormals"] as? String, "flushed to zero")
        // The configuration string names the kernel family that ran, whoever chose it.
        let core = try XCTUnwrap(environment["openblas_core"] as? String)
        XCTAssertTrue(try XCTUnwrap(environment["openblas_config"] as? String).contains(" \(core) "), "\(environment)")
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {  // the child runs without it too
            XCTAssertEqual(environment["openblas_core_replaced"] as? String, OpenBLASCore.current.replaced)
        }
        let rows = try XCTUnwrap(document["results"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        let row = rows[0]
        func number(_ key: String) throws -> Double { try XCTUnwrap(row[key] as? Double, key) }
        let epochRates = try XCTUnwrap(row["epoch_samples_per_second"] as? [Double])
        XCTAssertEqual(epochRates.count, 2)
        XCTAssertTrue(epochRates.allSatisfy { $0 > 0 })
        XCTAssertEqual(try number("median_samples_per_second"), (epochRates[0] + epochRates[1]) / 2, accuracy: 1e-6)
        XCTAssertEqual(try number("min_samples_per_second"), epochRates.min()!)
        let median = try number("median_samples_per_second")
        XCTAssertEqual(row["classes"] as? String, "3,5,8")
        // forward 2·(784·128 + 128·64 + 64·3) = 217,472; backward that again plus 2·(128·64 + 64·3) for dX.
        XCTAssertEqual(try number("gflops"), median * 451_712 / 1e9, accuracy: 1e-9)
        XCTAssertEqual(try number("ms_per_step"), 1000 * 17_403 / median / 68, accuracy: 1e-9)  // ⌈17403/256⌉ steps
        let peak = try number("sgemm_peak_gflops")
        XCTAssertGreaterThan(peak, 0)
        XCTAssertEqual(try number("peak_fraction"), try number("gflops") / peak, accuracy: 1e-12)
        XCTAssertEqual(row["test_count"] as? Int, 2876)  // the test set's 3s, 5s and 8s
        XCTAssertGreaterThan(try number("peak_resident_mib"), 0)
        let ridges = try XCTUnwrap(document["ridge"] as? [[String: Any]])
        XCTAssertEqual(ridges.count, 1)
        let ridge = ridges[0]
        XCTAssertEqual(ridge["test_count"] as? Int, 2876)
        XCTAssertGreaterThan(try XCTUnwrap(ridge["test_accuracy"] as? Double), 0.9)
    }

    /// OPENBLAS_CORETYPE is obeyed and shown: `train` names the forced core in its engine details and, on a
    /// CPU with AVX-512 held to the AVX2 Haswell kernels, says so on stderr; without the variable there is
    /// no note, and the family named is one that uses the CPU's vector units.
    func testForcedOpenBLASCoreIsNamedAndNotedOnAVX512() throws {
        let dataDirectory = try realDataDirectory()
        let arguments = ["train", "--epochs", "1", "--batch-size", "256", "--threads", "1", "--json", "--data-dir", dataDirectory]
        let forced = try BlasnetProcess.run(arguments, environment: ["OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(forced.status, 0, forced.standardError)
        let forcedDocument = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(forced.standardOutput.utf8)) as? [String: Any])
        XCTAssertTrue(try XCTUnwrap(forcedDocument["engine_details"] as? String)
            .hasSuffix("(core Haswell, set by OPENBLAS_CORETYPE=Haswell)"), "\(forcedDocument["engine_details"] ?? "")")
        let note = OpenBLASCore(name: "Haswell", forcedBy: "Haswell").warning()
        XCTAssertEqual(forced.standardError, note.map { $0 + "\n" } ?? "")
        XCTAssertEqual(note != nil, CPUFeatures.current.hasAVX512)

        let free = try BlasnetProcess.run(arguments)
        XCTAssertEqual(free.status, 0, free.standardError)
        XCTAssertEqual(free.standardError, "")
        let freeDocument = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(free.standardOutput.utf8)) as? [String: Any])
        let freeDetails = try XCTUnwrap(freeDocument["engine_details"] as? String)
        // OpenBLAS's choice, or blasnet's where OpenBLAS fell back to kernels below the CPU's (OpenBLASCore).
        let chosen = try XCTUnwrap(freeDetails.range(of: "(core ")).upperBound
        let name = String(freeDetails[chosen...].prefix { $0 != "," })
        XCTAssertNil(OpenBLASCore.replacement(for: name, on: .current), freeDetails)
        XCTAssertTrue(freeDetails.hasSuffix(", chosen by OpenBLAS)")
                      || freeDetails.contains(", chosen by blasnet from the CPU's features; OpenBLAS picked "), freeDetails)
    }

    /// The gate fails, naming the configuration, when a floor is raised above what the model reaches, and
    /// when a configuration is broken (a learning rate so small that the network stays at its random init).
    func testCheckFailsNamingTheConfiguration() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let raised = CheckedConfiguration(name: "dense-raised-floor", model: .dense, engine: .blas, epochs: 1,
                                          batchSize: 256, learningRate: 1e-3, seed: 1, threads: 1, floorAccuracy: 1.0)
        let broken = CheckedConfiguration(name: "dense-frozen", model: .dense, engine: .blas, epochs: 1,
                                          batchSize: 256, learningRate: 1e-9, seed: 1, threads: 1, floorAccuracy: 0.99)
        let healthy = CheckedConfiguration(name: "dense-healthy", model: .dense, engine: .blas, epochs: 1,
                                           batchSize: 256, learningRate: 1e-3, seed: 1, threads: 1, floorAccuracy: 0.99)
        // Ten classes (softmax) are gated the same way.
        let tenRaised = CheckedConfiguration(name: "ten-raised-floor", model: .dense, engine: .blas, epochs: 1,
                                             batchSize: 256, learningRate: 1e-3, seed: 1, threads: 1, floorAccuracy: 1.0,
                                             classes: "all")
        let tenHealthy = CheckedConfiguration(name: "ten-healthy", model: .sigmoid, engine: .swift, epochs: 1,
                                              batchSize: 256, learningRate: 1e-3, seed: 1, threads: 1, floorAccuracy: 0.85,
                                              classes: "all")
        let path = directory.appendingPathComponent("baseline.json").path
        try Baseline(description: "test", engineAgreementTolerance: 0.01, configurations: [raised, broken, healthy, tenRaised])
            .encoded().write(to: URL(fileURLWithPath: path))
        let result = try BlasnetProcess.run(["check", "--baseline", path, "--data-dir", dataDirectory])
        XCTAssertEqual(result.status, 1, result.standardOutput + result.standardError)
        XCTAssertTrue(result.standardError.contains("FAILED dense-raised-floor"), result.standardError)
        XCTAssertTrue(result.standardError.contains("FAILED dense-frozen"), result.standardError)
        XCTAssertFalse(result.standardError.contains("FAILED dense-healthy"), result.standardError)
        XCTAssertTrue(result.standardError.contains("FAILED ten-raised-floor"), result.standardError)

        let passing = directory.appendingPathComponent("passing.json").path
        try Baseline(description: "test", engineAgreementTolerance: 0.01, configurations: [healthy, tenHealthy])
            .encoded().write(to: URL(fileURLWithPath: passing))
        let pass = try BlasnetProcess.run(["check", "--baseline", passing, "--data-dir", dataDirectory])
        XCTAssertEqual(pass.status, 0, pass.standardOutput + pass.standardError)
    }

    func testMalformedBaselineIsRejected() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("bad.json").path
        try Data("{\"configurations\": 3}".utf8).write(to: URL(fileURLWithPath: path))
        let result = try BlasnetProcess.run(["check", "--baseline", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.standardError.contains(path), result.standardError)
    }

    /// `train --save` then `eval`: the same accuracy to the last digit, from the file alone.
    func testSavedModelEvaluatesToTheTrainedAccuracy() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let model = directory.appendingPathComponent("m.safetensors").path
        for (kind, batch, flushes) in [("dense", "256", true), ("sigmoid", "128", false)] {
            let train = try BlasnetProcess.run(["train", "--model", kind, "--epochs", "1", "--batch-size", batch,
                                                "--data-dir", dataDirectory, "--save", model, "--json"]
                                               + (flushes ? [] : ["--keep-subnormals"]))
            XCTAssertEqual(train.status, 0, train.standardError)
            let trained = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(train.standardOutput.utf8)) as? [String: Any])
            // The fields compare-frameworks.sh times a run with: one epoch here, 12,665 samples.
            let epochSeconds = try XCTUnwrap(trained["epoch_seconds"] as? [Double], kind)
            XCTAssertEqual(epochSeconds.count, 1, kind)
            XCTAssertEqual(epochSeconds.reduce(0, +), try XCTUnwrap(trained["train_seconds"] as? Double), accuracy: 1e-9, kind)
            XCTAssertEqual(trained["train_count"] as? Int, 12_665, kind)
            XCTAssertEqual(trained["flushes_subnormals"] as? Bool, flushes, kind)
            XCTAssertEqual(trained["threads"] as? Int, min(2, ThreadPolicy.onlineCores), "\(kind): batch \(batch) defaults to 2 threads")
            XCTAssertEqual(try ModelFile.load(model).metadata["subnormals"], flushes ? "flushed" : "kept", kind)
            let eval = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", dataDirectory, "--json"])
            XCTAssertEqual(eval.status, 0, eval.standardError)
            let evaluated = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.standardOutput.utf8)) as? [String: Any])
            XCTAssertEqual(evaluated["test_accuracy"] as? Double, trained["test_accuracy"] as? Double, kind)
            XCTAssertEqual(evaluated["test_errors"] as? Int, trained["test_errors"] as? Int, kind)
            XCTAssertEqual(evaluated["model"] as? String, kind)
            let confusion = try XCTUnwrap(evaluated["confusion"] as? [[Int]])
            XCTAssertEqual(confusion.flatMap { $0 }.reduce(0, +), 2115)
            XCTAssertEqual(confusion[0][1] + confusion[1][0], evaluated["test_errors"] as? Int)
        }
    }

    /// Below batch size 128 two threads do not pay reliably, so the default is one thread (and the
    /// default run keeps the original single-threaded weights); --threads still overrides it.
    func testDefaultThreadCountFollowsTheBatchSize() throws {
        let dataDirectory = try realDataDirectory()
        for (arguments, expected) in [([String](), 1), (["--threads", "2"], min(2, ThreadPolicy.onlineCores))] {
            let train = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "100", "--data-dir", dataDirectory,
                                                "--json"] + arguments)
            XCTAssertEqual(train.status, 0, train.standardError)
            let trained = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(train.standardOutput.utf8)) as? [String: Any])
            XCTAssertEqual(trained["threads"] as? Int, expected, "batch 100, \(arguments)")
        }
    }

    /// PNG kinds Cairo itself never writes — 16-bit grey (dark on light), 8-bit palette (light on dark,
    /// 28×28) and grey + alpha (black ink, transparent paper) — written by a few lines of Python's zlib
    /// from the first MNIST test digit: each is prepared back into that digit, so the model's answer and
    /// probability equal those for the IDX image.
    func testOtherPNGKindsArePreparedIntoTheSameDigit() throws {
        let dataDirectory = try realDataDirectory()
        guard let python = findPython3() else { throw XCTSkip("python3 not found") }
        let directory = try makeTemporaryDirectory(self)
        let script = #"""
        import struct, sys, zlib
        idx, out = sys.argv[1], sys.argv[2]
        data = open(idx, 'rb').read()
        img = [list(data[16 + y * 28:16 + (y + 1) * 28]) for y in range(28)]
        def png(name, width, height, colortype, depth, rows, plte=None):
            def chunk(kind, body): return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
            blob = bytes([137, 80, 78, 71, 13, 10, 26, 10]) + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, depth, colortype, 0, 0, 0))
            if plte: blob += chunk(b'PLTE', plte)
            blob += chunk(b'IDAT', zlib.compress(b''.join(bytes([0]) + r for r in rows))) + chunk(b'IEND', b'')
            open(out + '/' + name, 'wb').write(blob)
        def ink(x, y):  # the digit 3x larger at (12, 8) in 100x100
            return img[(y - 8) // 3][(x - 12) // 3] if 8 <= y < 92 and 12 <= x < 96 else 0
        png('g16.png', 100, 100, 0, 16, [b''.join(struct.pack('>H', 65535 - 257 * ink(x, y)) for x in range(100)) for y in range(100)])
        png('pal.png', 28, 28, 3, 8, [bytes(r) for r in img], plte=b''.join(bytes([i, i, i]) for i in range(256)))
        png('ga.png', 100, 100, 4, 8, [b''.join(bytes([0, ink(x, y)]) for x in range(100)) for y in range(100)])
        """#
        let idx = (dataDirectory as NSString).appendingPathComponent(MNISTDataset.testImages)
        let written = try runPython(python, script, [idx, directory.path])
        XCTAssertEqual(written.status, 0, written.output)
        let model = directory.appendingPathComponent("ten.safetensors").path
        let train = try BlasnetProcess.run(["train", "--classes", "all", "--epochs", "1", "--batch-size", "256",
                                            "--hidden", "32", "--data-dir", dataDirectory, "--save", model])
        XCTAssertEqual(train.status, 0, train.standardError)
        let pngs = ["g16.png", "pal.png", "ga.png"].map { directory.appendingPathComponent($0).path }
        let result = try BlasnetProcess.run(["predict", "--model", model, "--json"] + pngs)
        XCTAssertEqual(result.status, 0, result.standardError)
        let answers = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        XCTAssertEqual(answers.map { $0["inverted"] as? Bool }, [true, false, true])
        let reference = try BlasnetProcess.run(["predict", "--model", model, "--json", idx])
        let first = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(reference.standardOutput.utf8)) as? [[String: Any]])?.first)
        for answer in answers {
            XCTAssertEqual(answer["label"] as? Int, first["label"] as? Int, "\(answer)")
            XCTAssertEqual(answer["probability"] as? Double ?? -1, first["probability"] as? Double ?? -2, accuracy: 1e-6, "\(answer)")
        }
    }

    /// A --data-dir holding the four files gzipped, as the public mirrors serve them, trains as the raw
    /// files do: same data set, same numbers.
    func testGzippedDataDirectoryTrains() throws {
        let dataDirectory = try realDataDirectory()
        let packed = try makeTemporaryDirectory(self).appendingPathComponent("mnist-gz")
        try FileManager.default.createDirectory(at: packed, withIntermediateDirectories: true)
        for name in [MNISTDataset.trainImages, MNISTDataset.trainLabels, MNISTDataset.testImages, MNISTDataset.testLabels] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "gzip -1 -c \"$0\" > \"$1\"", (dataDirectory as NSString).appendingPathComponent(name),
                                 packed.appendingPathComponent(name + ".gz").path]
            try process.run()
            process.waitUntilExit()
            try XCTSkipIf(process.terminationStatus != 0, "gzip is not available")
        }
        var outputs: [[String: Any]] = []
        for directory in [dataDirectory, packed.path] {
            let train = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "512", "--data-dir", directory, "--json"])
            XCTAssertEqual(train.status, 0, train.standardError)
            outputs.append(try XCTUnwrap(JSONSerialization.jsonObject(with: Data(train.standardOutput.utf8)) as? [String: Any]))
        }
        XCTAssertEqual(outputs[1]["dataset_sha256"] as? String, outputs[0]["dataset_sha256"] as? String)
        XCTAssertEqual(outputs[1]["test_accuracy"] as? Double, outputs[0]["test_accuracy"] as? Double)
    }

    /// Counts agree with their nouns, and losses keep one format as they shrink.
    func testTextOutputWording() throws {
        let dataDirectory = try realDataDirectory()
        let train = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "512", "--data-dir", dataDirectory])
        XCTAssertEqual(train.status, 0, train.standardError)
        let text = train.standardOutput
        XCTAssertTrue(text.contains(", 1 epoch, "), text)
        XCTAssertFalse(text.contains("1 epochs") || text.contains(" 1 errors"), text)
        XCTAssertNotNil(text.range(of: #"loss [0-9]\.[0-9]{3}e[-+][0-9]{2}"#, options: .regularExpression), text)
        let errors = try XCTUnwrap(text.range(of: #"\(([0-9]+) errors? of 2115\)"#, options: .regularExpression), text)
        XCTAssertEqual(text[errors].contains("(1 error of"), text[errors].hasPrefix("(1 "), String(text[errors]))
    }

    /// `predict` on a PGM written from a test image and on the IDX test file itself.
    func testPredictReadsPGMAndIDXAndRejectsOtherFiles() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let model = directory.appendingPathComponent("m.safetensors").path
        let train = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "256", "--data-dir", dataDirectory,
                                            "--save", model])
        XCTAssertEqual(train.status, 0, train.standardError)
        let test = try RealData.zeroVersusOne().test
        var paths: [String] = []
        for index in [0, 1] {  // one 0 and one 1, whichever come first
            let position = test.labels.firstIndex(of: index)!
            let pixels = test.images[(position * 784)..<((position + 1) * 784)].map { UInt8(($0 * 255).rounded()) }
            let path = directory.appendingPathComponent("digit\(index).pgm").path
            try (Data("P5\n28 28\n255\n".utf8) + Data(pixels)).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let result = try BlasnetProcess.run(["predict", "--model", model, "--json"] + paths)
        XCTAssertEqual(result.status, 0, result.standardError)
        let predictions = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]])
        XCTAssertEqual(predictions.map { $0["label"] as? Int }, [0, 1])

        let idx = (dataDirectory as NSString).appendingPathComponent(MNISTDataset.testImages)
        let all = try BlasnetProcess.run(["predict", "--model", model, idx])
        XCTAssertEqual(all.status, 0, all.standardError)
        let lines = all.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.first, "\(model) knows 2 classes: 0, 1")
        XCTAssertEqual(lines.count, 1 + 10_000, "the classes, then every image of the IDX file")

        // The same two digits as a user would photograph them: dark ink on white, 3× larger, off-centre in
        // 100×100 PNGs; a corrupt PNG between them is reported and the other two still answered.
        var pngs: [String] = []
        for (index, position) in [0, 1].map({ (index: $0, position: test.labels.firstIndex(of: $0)!) }) {
            let ink = Array(test.images[(position * 784)..<((position + 1) * 784)])
            let picture = try Picture.render(width: 100, height: 100, format: .png) { drawing in
                drawing.grayImage(ink, width: 28, height: 28, x: 9 + Double(index) * 4, y: 13, scale: 3)
            }
            let path = directory.appendingPathComponent("photo\(index).png").path
            try picture.data.write(to: URL(fileURLWithPath: path))
            pngs.append(path)
        }
        let corrupt = directory.appendingPathComponent("corrupt.png").path
        try Data(contentsOf: URL(fileURLWithPath: pngs[0])).prefix(60).write(to: URL(fileURLWithPath: corrupt))
        let photos = try BlasnetProcess.run(["predict", "--model", model, pngs[0], corrupt, pngs[1]])
        XCTAssertEqual(photos.status, 1, "one input failed: \(photos.standardError)")
        let answers = photos.standardOutput.split(separator: "\n").dropFirst()
        XCTAssertEqual(answers.count, 2, photos.standardOutput)
        XCTAssertTrue(answers.first!.hasPrefix("\(pngs[0])[0]: 0 (P = "), photos.standardOutput)
        XCTAssertTrue(answers.last!.hasPrefix("\(pngs[1])[0]: 1 (P = "), photos.standardOutput)
        XCTAssertTrue(answers.allSatisfy { $0.contains("[prepared as MNIST: inverted dark-on-light") }, photos.standardOutput)
        let errors = photos.standardError.split(separator: "\n")
        XCTAssertEqual(errors.count, 2, photos.standardError)
        XCTAssertTrue(errors.first!.contains("\(corrupt): not a readable PNG"), photos.standardError)
        XCTAssertEqual(errors.last, "blasnet: 1 of 3 input files could not be read")
        // The same three files as a directory: answered in name order (corrupt.png, photo0, photo1).
        let folder = directory.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for path in [pngs[0], corrupt, pngs[1]] {
            try FileManager.default.copyItem(atPath: path, toPath: folder.appendingPathComponent((path as NSString).lastPathComponent).path)
        }
        let fromFolder = try BlasnetProcess.run(["predict", "--model", model, "--json", folder.path])
        XCTAssertEqual(fromFolder.status, 1, fromFolder.standardError)
        let folderAnswers = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(fromFolder.standardOutput.utf8)) as? [[String: Any]])
        XCTAssertEqual(folderAnswers.map { $0["label"] as? Int }, [0, 1])
        XCTAssertEqual(folderAnswers.map { $0["inverted"] as? Bool }, [true, true])
        XCTAssertTrue(fromFolder.standardError.contains("corrupt.png: not a readable PNG"), fromFolder.standardError)
        let jpeg = directory.appendingPathComponent("photo.jpg").path
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array("JFIF".utf8)).write(to: URL(fileURLWithPath: jpeg))
        let refused = try BlasnetProcess.run(["predict", "--model", model, jpeg])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.standardError.contains("\(jpeg): JPEG is not supported; convert it to PNG"), refused.standardError)
        let empty = directory.appendingPathComponent("empty-folder")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let nothing = try BlasnetProcess.run(["predict", "--model", model, empty.path])
        XCTAssertEqual(nothing.status, 1)
        XCTAssertTrue(nothing.standardError.contains("no input files: \(empty.path) holds none"), nothing.standardError)

        let text = directory.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        let bad = try BlasnetProcess.run(["predict", "--model", model, text])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.standardError.contains("not a PNG, an IDX image file"), bad.standardError)
        let missing = try BlasnetProcess.run(["eval", "--model", directory.appendingPathComponent("none").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.standardError.split(separator: "\n").count, 1, missing.standardError)
    }
}
