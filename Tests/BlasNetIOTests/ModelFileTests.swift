import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import Foundation
import XCTest

final class ModelFileTests: XCTestCase {
    /// A `kind` network with random weights and biases (biases non-zero so they are checked too).
    private func randomNetwork(_ kind: ModelKind, seed: UInt64) -> Network {
        let network = Network(kind: kind)
        var generator = SeededGenerator(seed: seed)
        network.parameters.assign(randomValues(network.parameterCount, scale: 0.5, generator: &generator))
        return network
    }

    /// The tensors `ModelFile.save` writes for `network`, for building malformed files by hand:
    /// each in-memory W [in, out] written transposed, as [out, in].
    private func tensors(of network: Network) -> [String: SafetensorsTensor] {
        var tensors: [String: SafetensorsTensor] = [:]
        let parameters = network.parameters.array
        for (index, layer) in network.layers.enumerated() {
            let (inputs, outputs) = (layer.inputSize, layer.outputSize)
            let weights = (0..<(outputs * inputs)).map { parameters[layer.weightOffset + ($0 % inputs) * outputs + $0 / inputs] }
            tensors["fc\(index + 1).weight"] = SafetensorsTensor(shape: [outputs, inputs], values: weights)
            tensors["fc\(index + 1).bias"] = SafetensorsTensor(
                shape: [layer.outputSize], values: Array(parameters[layer.biasOffset..<layer.biasOffset + layer.outputSize]))
        }
        return tensors
    }

    private let goodMetadata = ["model": "dense", "hidden_activation": "relu", "output_activation": "sigmoid",
                                "layer_sizes": "784,128,64,1", "input_scaling": "pixel/255"]

    /// The `ModelFileError` that loading `file` (written to a fresh path) throws.
    private func loadError(_ file: SafetensorsFile, line: UInt = #line) throws -> (ModelFileError?, String) {
        let path = try makeTemporaryDirectory(self).appendingPathComponent("bad.safetensors").path
        try Safetensors.write(file, to: path)
        do {
            _ = try ModelFile.load(path)
            XCTFail("loading succeeded", line: line)
            return (nil, path)
        } catch {
            XCTAssertTrue("\(error)".contains(path), "\(error) does not name the file", line: line)
            return (error as? ModelFileError, path)
        }
    }

    private func temporaryFiles(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(AtomicFile.temporaryMarker) }
    }

    // MARK: Round trip

    func testRoundTripKeepsParametersBitExactKindAndMetadata() throws {
        let directory = try makeTemporaryDirectory(self)
        for (seed, kind) in ModelKind.allCases.enumerated() {
            let network = randomNetwork(kind, seed: UInt64(seed + 1))
            let path = directory.appendingPathComponent("\(kind).safetensors").path
            let callerMetadata = ["classes": "0,1", "seed": "42", "epochs": "10", "test_accuracy": "0.999527",
                                  "engine": "blas"]
            try ModelFile.save(network: network, kind: kind, metadata: callerMetadata, to: path)
            let loaded = try ModelFile.load(path)

            XCTAssertEqual(loaded.kind, kind)
            XCTAssertEqual(loaded.network.layerSizes, [784, 128, 64, 1])
            XCTAssertEqual(loaded.network.layers, network.layers)
            XCTAssertEqual(loaded.network.parameters.array.map(\.bitPattern), network.parameters.array.map(\.bitPattern))
            for (key, value) in callerMetadata { XCTAssertEqual(loaded.metadata[key], value, key) }
            XCTAssertEqual(loaded.metadata["model"], kind.rawValue)
            XCTAssertEqual(loaded.metadata["hidden_activation"], kind == .dense ? "relu" : "sigmoid")
            XCTAssertEqual(loaded.metadata["output_activation"], "sigmoid")
            XCTAssertEqual(loaded.metadata["layer_sizes"], "784,128,64,1")
            XCTAssertEqual(loaded.metadata["input_scaling"], "pixel/255")
            XCTAssertEqual(loaded.metadata["loss"], "binary_cross_entropy")
            XCTAssertEqual(loaded.metadata["class_labels"], "0,1")
            XCTAssertEqual(loaded.classLabels, [0, 1])
            XCTAssertNil(loaded.dataset, "no data set given, none recorded")
            XCTAssertEqual(loaded.metadata["blasnet_version"], BlasNetVersion.string)
            XCTAssertEqual(loaded.metadata.count, callerMetadata.count + 8)
        }
    }

    func testFileHoldsPyTorchLinearNamesShapesAndLayout() throws {
        let network = randomNetwork(.dense, seed: 3)
        let path = try makeTemporaryDirectory(self).appendingPathComponent("model.safetensors").path
        try ModelFile.save(network: network, kind: .dense, to: path)
        let file = try Safetensors.read(from: path)
        let shapes = file.tensors.mapValues(\.shape)
        XCTAssertEqual(shapes, ["fc1.weight": [128, 784], "fc1.bias": [128], "fc2.weight": [64, 128], "fc2.bias": [64],
                                "fc3.weight": [1, 64], "fc3.bias": [1]])
        // The file's W[out, in] row-major is the transpose of the in-memory W[in, out]: element (j, i) of
        // fc2.weight is the parameter at weightOffset + i·out + j.
        let layer = network.layers[1]
        let weights = try XCTUnwrap(file.tensors["fc2.weight"]).values
        for (j, i) in [(0, 0), (0, 127), (63, 0), (17, 99)] {
            XCTAssertEqual(weights[j * 128 + i], network.parameters[layer.weightOffset + i * layer.outputSize + j])
        }
        XCTAssertEqual(try XCTUnwrap(file.tensors["fc3.bias"]).values, [network.parameters[network.layers[2].biasOffset]])
    }

    /// Every saved weight tensor, element by element, is the [out, in] transpose of the in-memory [in, out]
    /// W (bit for bit), every bias is copied as is, and loading the file restores the parameters bit for bit.
    func testSavedWeightsAreTheTransposeOfTheInMemoryWeights() throws {
        let network = randomNetwork(.sigmoid, seed: 11)
        let path = try makeTemporaryDirectory(self).appendingPathComponent("model.safetensors").path
        try ModelFile.save(network: network, kind: .sigmoid, to: path)
        let file = try Safetensors.read(from: path)
        let parameters = network.parameters.array
        for (index, layer) in network.layers.enumerated() {
            let (inputs, outputs) = (layer.inputSize, layer.outputSize)
            let weight = try XCTUnwrap(file.tensors["fc\(index + 1).weight"])
            XCTAssertEqual(weight.shape, [outputs, inputs])
            XCTAssertEqual(weight.values.count, inputs * outputs)
            var mismatches = 0
            for o in 0..<outputs {
                for i in 0..<inputs where weight.values[o * inputs + i].bitPattern
                    != parameters[layer.weightOffset + i * outputs + o].bitPattern { mismatches += 1 }
            }
            XCTAssertEqual(mismatches, 0, "fc\(index + 1).weight")
            if inputs > 1 && outputs > 1 {
                // Not a plain copy: for a non-vector W the transpose differs from the memory order.
                XCTAssertNotEqual(weight.values, Array(parameters[layer.weightOffset..<layer.biasOffset]))
            }
            XCTAssertEqual(try XCTUnwrap(file.tensors["fc\(index + 1).bias"]).values,
                           Array(parameters[layer.biasOffset..<(layer.biasOffset + outputs)]))
        }
        let loaded = try ModelFile.load(path)
        XCTAssertEqual(loaded.network.parameters.array.map(\.bitPattern), parameters.map(\.bitPattern))
    }

    func testLoadedNetworkComputesTheSameLogits() throws {
        let network = randomNetwork(.sigmoid, seed: 5)
        let path = try makeTemporaryDirectory(self).appendingPathComponent("model.safetensors").path
        try ModelFile.save(network: network, kind: .sigmoid, to: path)
        let loaded = try ModelFile.load(path).network
        var generator = SeededGenerator(seed: 9)
        let input = (0..<(4 * 784)).map { _ in generator.nextUnitFloat() }
        let engine = SwiftEngine(threads: 1)
        func logits(_ network: Network) -> [Float] {
            let workspace = NetworkWorkspace(network: network, capacity: 4)
            input.withUnsafeBufferPointer { network.forward(input: $0.baseAddress!, batch: 4, workspace: workspace, engine: engine) }
            return Array(UnsafeBufferPointer(start: workspace.outputs[2].pointer, count: 4))
        }
        XCTAssertEqual(logits(loaded), logits(network))
    }

    /// The reference implementation reads what `save` writes (same tensors, metadata, and the logits of
    /// y = x·Wᵀ + b as PyTorch computes them), and what it writes back `load` reads bit for bit. Skipped
    /// unless python3 can import safetensors and numpy.
    func testReferenceSafetensorsLibraryAgrees() throws {
        guard let python = findPython3() else { throw XCTSkip("python3 not found") }
        func run(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
            try runPython(python, script, arguments)
        }
        guard try run("import safetensors.numpy, numpy", []).status == 0 else {
            throw XCTSkip("python3 cannot import safetensors and numpy (pip install safetensors numpy)")
        }
        let directory = try makeTemporaryDirectory(self)
        let ours = directory.appendingPathComponent("ours.safetensors").path
        let theirs = directory.appendingPathComponent("theirs.safetensors").path
        let network = randomNetwork(.dense, seed: 21)
        try ModelFile.save(network: network, kind: .dense, metadata: ["classes": "0,1", "note": "ŷ \"quoted\""], to: ours)

        let script = """
            import sys, json, numpy as np
            from safetensors import safe_open
            from safetensors.numpy import load_file, save_file
            tensors = load_file(sys.argv[1])
            with safe_open(sys.argv[1], framework="numpy") as handle:
                metadata = handle.metadata()
            x = (np.arange(3 * 784) % 256).reshape(3, 784).astype(np.float32) / np.float32(255)
            for n in (1, 2, 3):
                x = x @ tensors[f"fc{n}.weight"].T + tensors[f"fc{n}.bias"]
                if n < 3: x = np.maximum(x, 0)
            save_file(tensors, sys.argv[2], metadata=metadata)
            print(json.dumps({"shapes": {k: list(v.shape) for k, v in tensors.items()},
                              "dtypes": sorted({str(v.dtype) for v in tensors.values()}),
                              "metadata": metadata, "logits": [float(v) for v in x[:, 0]]}))
            """
        let result = try run(script, [ours, theirs])
        XCTAssertEqual(result.status, 0, result.output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], result.output)
        XCTAssertEqual(report["shapes"] as? [String: [Int]], ["fc1.weight": [128, 784], "fc1.bias": [128], "fc2.weight": [64, 128],
                                                               "fc2.bias": [64], "fc3.weight": [1, 64], "fc3.bias": [1]])
        XCTAssertEqual(report["dtypes"] as? [String], ["float32"])
        let metadata = try XCTUnwrap(report["metadata"] as? [String: String])
        XCTAssertEqual(metadata["model"], "dense")
        XCTAssertEqual(metadata["note"], "ŷ \"quoted\"")
        XCTAssertEqual(metadata["layer_sizes"], "784,128,64,1")

        // Our forward pass on the same input gives the same logits (up to summation order).
        let input = (0..<(3 * 784)).map { Float($0 % 256) / 255 }
        let workspace = NetworkWorkspace(network: network, capacity: 3)
        input.withUnsafeBufferPointer { network.forward(input: $0.baseAddress!, batch: 3, workspace: workspace, engine: SwiftEngine(threads: 1)) }
        let logits = try XCTUnwrap(report["logits"] as? [Double])
        XCTAssertEqual(logits.count, 3)
        for (row, logit) in logits.enumerated() {
            XCTAssertEqual(Double(workspace.outputs[2].pointer[row]), logit, accuracy: 1e-4 * max(1, abs(logit)))
        }

        // The reference writer's file loads here, bit for bit.
        let reloaded = try ModelFile.load(theirs)
        XCTAssertEqual(reloaded.network.parameters.array.map(\.bitPattern), network.parameters.array.map(\.bitPattern))
        XCTAssertEqual(reloaded.metadata, try ModelFile.load(ours).metadata)
    }

    // MARK: Malformed models

    func testMissingTensorIsReported() throws {
        var tensors = tensors(of: randomNetwork(.dense, seed: 1))
        tensors["fc2.bias"] = nil
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: goodMetadata))
        XCTAssertEqual(error, .missingTensor(path: path, name: "fc2.bias"))
    }

    func testWrongShapeIsReported() throws {
        var tensors = tensors(of: randomNetwork(.dense, seed: 1))
        tensors["fc1.weight"]?.shape = [784, 128]  // transposed (Keras layout)
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: goodMetadata))
        XCTAssertEqual(error, .wrongShape(path: path, name: "fc1.weight", found: [784, 128], expected: [128, 784]))

        var flat = self.tensors(of: randomNetwork(.dense, seed: 1))
        flat["fc3.bias"]?.shape = []
        let (flatError, flatPath) = try loadError(SafetensorsFile(tensors: flat, metadata: goodMetadata))
        XCTAssertEqual(flatError, .wrongShape(path: flatPath, name: "fc3.bias", found: [], expected: [1]))
    }

    func testUnexpectedTensorIsReported() throws {
        var tensors = tensors(of: randomNetwork(.dense, seed: 1))
        tensors["fc4.weight"] = SafetensorsTensor(shape: [1, 1], values: [0])
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: goodMetadata))
        XCTAssertEqual(error, .unexpectedTensor(path: path, name: "fc4.weight"))
    }

    func testUnknownOrMissingModelIsReported() throws {
        let tensors = tensors(of: randomNetwork(.dense, seed: 1))
        var unknown = goodMetadata
        unknown["model"] = "cnn"
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: unknown))
        XCTAssertEqual(error, .unknownModel(path: path, model: "cnn"))

        var missing = goodMetadata
        missing["model"] = nil
        let (missingError, missingPath) = try loadError(SafetensorsFile(tensors: tensors, metadata: missing))
        XCTAssertEqual(missingError, .missingMetadata(path: missingPath, key: "model"))
    }

    func testInconsistentMetadataIsReported() throws {
        let tensors = tensors(of: randomNetwork(.sigmoid, seed: 1))
        var metadata = goodMetadata
        metadata["model"] = "sigmoid"  // but hidden_activation says relu
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: metadata))
        XCTAssertEqual(error, .inconsistentMetadata(path: path, key: "hidden_activation", found: "relu", expected: "sigmoid"))

        var sizes = goodMetadata
        sizes["layer_sizes"] = "784,10,1"
        let (sizesError, sizesPath) = try loadError(SafetensorsFile(tensors: tensors, metadata: sizes))
        XCTAssertEqual(sizesError, .wrongShape(path: sizesPath, name: "fc1.weight", found: [128, 784], expected: [10, 784]),
                       "the sizes the metadata gives must be the tensors' own")

        sizes["layer_sizes"] = "784,x,1"
        let (invalidError, invalidPath) = try loadError(SafetensorsFile(tensors: tensors, metadata: sizes))
        XCTAssertEqual(invalidError, .invalidLayerSizes(path: invalidPath, value: "784,x,1"))

        var scaling = goodMetadata
        scaling["input_scaling"] = "pixel"
        let (scalingError, scalingPath) = try loadError(SafetensorsFile(tensors: tensors, metadata: scaling))
        XCTAssertEqual(scalingError, .inconsistentMetadata(path: scalingPath, key: "input_scaling", found: "pixel",
                                                           expected: "pixel/255"))
    }

    func testMinimalMetadataAndSpacedLayerSizesAreAccepted() throws {
        let network = randomNetwork(.dense, seed: 2)
        let path = try makeTemporaryDirectory(self).appendingPathComponent("other-tool.safetensors").path
        try Safetensors.write(SafetensorsFile(tensors: tensors(of: network),
                                              metadata: ["model": "dense", "layer_sizes": "784, 128, 64, 1"]), to: path)
        let loaded = try ModelFile.load(path)
        XCTAssertEqual(loaded.kind, .dense)
        XCTAssertEqual(loaded.network.parameters.array, network.parameters.array)
    }

    func testNonFiniteParameterIsReported() throws {
        var tensors = tensors(of: randomNetwork(.dense, seed: 1))
        tensors["fc2.weight"]?.values[77] = .nan
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: goodMetadata))
        XCTAssertEqual(error, .nonFiniteParameter(path: path, name: "fc2.weight", index: 77))
    }

    func testContainerErrorsPassThrough() throws {
        let path = try makeTemporaryDirectory(self).appendingPathComponent("garbage.safetensors").path
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ModelFile.load(path)) { error in
            guard case .headerLengthBeyondFile? = error as? SafetensorsError else { return XCTFail("\(error)") }
        }
    }

    func testSaveRejectsMismatchedNetworkAndConflictingMetadata() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("model.safetensors").path
        XCTAssertThrowsError(try ModelFile.save(network: randomNetwork(.sigmoid, seed: 1), kind: .dense, to: path)) { error in
            guard case .networkDoesNotMatchKind? = error as? ModelFileError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ModelFile.save(network: randomNetwork(.dense, seed: 1), kind: .dense,
                                                metadata: ["model": "sigmoid"], to: path)) { error in
            XCTAssertEqual(error as? ModelFileError, .conflictingMetadata(path: path, key: "model", given: "sigmoid", computed: "dense"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        // Repeating a format key with its own value is fine (re-saving loaded metadata), and the version is
        // always this build's.
        try ModelFile.save(network: randomNetwork(.dense, seed: 1), kind: .dense,
                           metadata: goodMetadata.merging(["blasnet_version": "0.0.1"]) { $1 }, to: path)
        XCTAssertEqual(try ModelFile.load(path).metadata["blasnet_version"], BlasNetVersion.string)
    }

    // MARK: Atomic writing

    func testSaveIntoMissingDirectoryFailsClearlyAndLeavesExistingFileAlone() throws {
        let directory = try makeTemporaryDirectory(self)
        let good = directory.appendingPathComponent("model.safetensors").path
        try ModelFile.save(network: randomNetwork(.dense, seed: 1), kind: .dense, to: good)
        let before = try Data(contentsOf: URL(fileURLWithPath: good))

        let missing = directory.appendingPathComponent("no-such-dir/model.safetensors").path
        XCTAssertThrowsError(try ModelFile.save(network: randomNetwork(.dense, seed: 2), kind: .dense, to: missing)) { error in
            XCTAssertEqual(error as? AtomicFileError,
                           .directoryMissing(path: missing, directory: directory.appendingPathComponent("no-such-dir").path))
            XCTAssertTrue("\(error)".contains("does not exist"))
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: good)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
    }

    func testParentThatIsARegularFileIsReported() throws {
        let directory = try makeTemporaryDirectory(self)
        let file = directory.appendingPathComponent("plain.txt")
        try Data("x".utf8).write(to: file)
        let path = file.appendingPathComponent("model.safetensors").path
        XCTAssertThrowsError(try ModelFile.save(network: randomNetwork(.dense, seed: 1), kind: .dense, to: path)) { error in
            XCTAssertEqual(error as? AtomicFileError, .parentNotADirectory(path: path, directory: file.path))
        }
        let nested = file.appendingPathComponent("deeper/model.safetensors").path
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: nested)) { error in
            guard case .parentNotADirectory? = error as? AtomicFileError else { return XCTFail("\(error)") }
        }
    }

    func testDestinationThatIsADirectoryIsReported() throws {
        let directory = try makeTemporaryDirectory(self)
        let target = directory.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: target.path)) { error in
            XCTAssertEqual(error as? AtomicFileError, .destinationIsDirectory(path: target.path))
        }
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: "")) { error in
            XCTAssertEqual(error as? AtomicFileError, .invalidPath(path: ""))
        }
        XCTAssertThrowsError(try AtomicFile.write(Data([1]), to: directory.path + "/")) { error in
            XCTAssertEqual(error as? AtomicFileError, .invalidPath(path: directory.path + "/"))
        }
        XCTAssertEqual(try temporaryFiles(in: directory), [])
    }

    /// A write that runs out of space part-way (ENOSPC, as on a full disk or /dev/full) must leave the old
    /// file byte for byte and remove the temporary file.
    func testWriteFailureMidFileLeavesExistingFileAndNoTemporaryFile() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("model.safetensors").path
        try ModelFile.save(network: randomNetwork(.dense, seed: 1), kind: .dense, to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let replacement = Data(repeating: 0xAB, count: 100_000)

        var calls = 0
        XCTAssertThrowsError(try AtomicFile.write(replacement, to: path) { descriptor, buffer, count in
            calls += 1
            if calls == 1 { return write(descriptor, buffer, min(count, 4096)) }  // some data reaches the disk
            errno = ENOSPC
            return -1
        }) { error in
            guard case .writeFailed(let errorPath, let reason)? = error as? AtomicFileError else { return XCTFail("\(error)") }
            XCTAssertEqual(errorPath, path)
            XCTAssertTrue(reason.contains("No space left on device"), reason)
        }
        XCTAssertEqual(calls, 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try temporaryFiles(in: directory), [])
        XCTAssertEqual(try ModelFile.load(path).kind, .dense)

        // A write(2) that reports no progress is an error too, not an endless loop.
        XCTAssertThrowsError(try AtomicFile.write(replacement, to: path) { _, _, _ in 0 })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try temporaryFiles(in: directory), [])
    }

    func testShortAndInterruptedWritesAreCompleted() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("data.bin").path
        let payload = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var calls = 0
        try AtomicFile.write(payload, to: path) { descriptor, buffer, count in
            calls += 1
            if calls % 5 == 0 { errno = EINTR; return -1 }
            return write(descriptor, buffer, min(count, 997))
        }
        XCTAssertGreaterThan(calls, 50)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), payload)
        XCTAssertEqual(try temporaryFiles(in: directory), [])
        // Replacing an existing file, and writing an empty one.
        try AtomicFile.write(Data(), to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data())
    }

    func testUnwritableDirectoryIsReported() throws {
        guard geteuid() != 0 else { throw XCTSkip("running as root: directory permissions do not stop root") }
        let directory = try makeTemporaryDirectory(self)
        let locked = directory.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: false)
        let path = locked.appendingPathComponent("model.safetensors").path
        try AtomicFile.write(Data([1, 2, 3]), to: path)
        XCTAssertEqual(chmod(locked.path, 0o500), 0)
        defer { chmod(locked.path, 0o700) }
        XCTAssertThrowsError(try AtomicFile.write(Data([9]), to: path)) { error in
            guard case .cannotCreateTemporaryFile? = error as? AtomicFileError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([1, 2, 3]))
    }

    /// Any depth and output width round-trips: depths 1–4 (hidden layers 0–3), 1…10 logits.
    func testAnyDepthAndClassCountRoundTrips() throws {
        let directory = try makeTemporaryDirectory(self)
        var generator = SeededGenerator(seed: 11)
        for depth in 1...4 {
            for outputs in 1...10 {
                let hidden = Array([12, 7, 5].prefix(depth - 1))
                let network = try Network(layerSizes: [20] + hidden + [outputs], hiddenActivation: depth % 2 == 0 ? .relu : .sigmoid)
                network.initializeGlorotUniform(using: &generator)
                let classCount = max(2, outputs)
                let labels = (0..<classCount).map { 3 * $0 + 1 }
                let path = directory.appendingPathComponent("d\(depth)-k\(outputs).safetensors").path
                let kind: ModelKind = depth % 2 == 0 ? .dense : .sigmoid
                try ModelFile.save(network: network, kind: kind, classLabels: labels,
                                   dataset: DatasetIdentity(name: "toy", fingerprint: "abc"), to: path)
                let loaded = try ModelFile.load(path)
                let what = "depth \(depth), \(outputs) outputs"
                XCTAssertEqual(loaded.network.layerSizes, network.layerSizes, what)
                XCTAssertEqual(loaded.network.parameters.array.map(\.bitPattern), network.parameters.array.map(\.bitPattern), what)
                XCTAssertEqual(loaded.classLabels, labels, what)
                XCTAssertEqual(loaded.dataset, DatasetIdentity(name: "toy", fingerprint: "abc"), what)
                XCTAssertEqual(loaded.network.loss.kind, outputs == 1 ? .binaryCrossEntropy : .softmaxCrossEntropy, what)
                XCTAssertEqual(loaded.metadata["output_activation"], outputs == 1 ? "sigmoid" : "softmax", what)
                let file = try Safetensors.read(from: path)
                XCTAssertEqual(file.tensors.count, 2 * depth, "fc1…fc\(depth), weight and bias: \(what)")
            }
        }
    }

    /// A file as blasnet wrote it before the general network (no loss, class_labels or data set; the
    /// class pair under "classes") still loads, with its classes.
    func testFileOfTheEarlierFormatLoads() throws {
        var metadata = goodMetadata
        metadata["classes"] = "3,8"
        metadata["blasnet_version"] = "0.1.0"
        let network = randomNetwork(.dense, seed: 5)
        let path = try makeTemporaryDirectory(self).appendingPathComponent("old.safetensors").path
        try Safetensors.write(SafetensorsFile(tensors: tensors(of: network), metadata: metadata), to: path)
        let loaded = try ModelFile.load(path)
        XCTAssertEqual(loaded.classLabels, [3, 8])
        XCTAssertNil(loaded.dataset)
        XCTAssertEqual(loaded.network.layerSizes, [784, 128, 64, 1])
        XCTAssertEqual(loaded.network.parameters.array, network.parameters.array)
    }

    func testClassLabelsThatDoNotFitTheOutputAreRejected() throws {
        let tensors = tensors(of: randomNetwork(.dense, seed: 2))
        var metadata = goodMetadata
        metadata["class_labels"] = "0,1,2"
        let (error, path) = try loadError(SafetensorsFile(tensors: tensors, metadata: metadata))
        XCTAssertEqual(error, .inconsistentMetadata(path: path, key: "class_labels", found: "0,1,2",
                                                    expected: "2 labels for 2 classes"))
        metadata["class_labels"] = "4,4"
        let (repeated, repeatedPath) = try loadError(SafetensorsFile(tensors: tensors, metadata: metadata))
        XCTAssertEqual(repeated, .invalidClassLabels(path: repeatedPath, value: "4,4", reason: "repeats a label"))
    }
}
