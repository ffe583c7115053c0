import BlasNetCore
import Foundation

/// What is wrong with a model file (beyond the safetensors container, whose problems are
/// `SafetensorsError`s), or with a network handed to `ModelFile.save`. Every case names the file.
public enum ModelFileError: Error, Equatable, CustomStringConvertible {
    case missingMetadata(path: String, key: String)
    case unknownModel(path: String, model: String)
    /// A metadata value that contradicts the model (e.g. hidden_activation "relu" for a sigmoid model).
    case inconsistentMetadata(path: String, key: String, found: String, expected: String)
    case invalidLayerSizes(path: String, value: String)
    case invalidClassLabels(path: String, value: String, reason: String)
    case missingTensor(path: String, name: String)
    case wrongShape(path: String, name: String, found: [Int], expected: [Int])
    case unexpectedTensor(path: String, name: String)
    case nonFiniteParameter(path: String, name: String, index: Int)
    /// `save` was given a network whose activations do not match the model kind.
    case networkDoesNotMatchKind(path: String, reason: String)
    /// `save` was given caller metadata that contradicts a key the file format owns.
    case conflictingMetadata(path: String, key: String, given: String, computed: String)

    public var description: String {
        switch self {
        case let .missingMetadata(path, key): return "\(path): model metadata has no '\(key)'"
        case let .unknownModel(path, model):
            return "\(path): unknown model '\(model)' (known: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .inconsistentMetadata(path, key, found, expected):
            return "\(path): metadata '\(key)' is '\(found)', expected '\(expected)' for this model"
        case let .invalidLayerSizes(path, value):
            return "\(path): metadata layer_sizes '\(value)' is not a list of 2 to \(Network.maximumLayerCount + 1) sizes within 1…\(Network.maximumLayerSize)"
        case let .invalidClassLabels(path, value, reason):
            return "\(path): metadata class_labels '\(value)' \(reason)"
        case let .missingTensor(path, name): return "\(path): tensor '\(name)' is missing"
        case let .wrongShape(path, name, found, expected):
            return "\(path): tensor '\(name)' has shape \(found), expected \(expected)"
        case let .unexpectedTensor(path, name): return "\(path): unexpected tensor '\(name)'"
        case let .nonFiniteParameter(path, name, index):
            return "\(path): tensor '\(name)' holds a non-finite value at element \(index)"
        case let .networkDoesNotMatchKind(path, reason): return "\(path): cannot save: \(reason)"
        case let .conflictingMetadata(path, key, given, computed):
            return "\(path): cannot save: metadata '\(key)' given as '\(given)' but the network is '\(computed)'"
        }
    }
}

/// The data set a model was trained on: its name and fingerprint (see `LoadedDataset`).
public struct DatasetIdentity: Sendable, Equatable {
    public let name: String
    public let fingerprint: String

    public init(name: String, fingerprint: String) {
        self.name = name
        self.fingerprint = fingerprint
    }
}

/// A network read back from a model file.
public struct LoadedModel {
    public let network: Network
    public let kind: ModelKind
    /// The data's label of each class, in class order ([0, 1] for files that predate the list).
    public let classLabels: [Int]
    /// The data set it was trained on; nil for files that predate the record.
    public let dataset: DatasetIdentity?
    /// All metadata in the file, the format's own keys included.
    public let metadata: [String: String]
}

/// Saves and loads trained networks as safetensors, in PyTorch `nn.Linear` naming and layout: layer N
/// (1-based) is `fcN.weight` [out, in] and `fcN.bias` [out] for any depth, with metadata describing the
/// model (sizes, activations, loss, class labels, the data set, the pixel scaling).
/// In memory W is [in, out] (see `DenseLayer`), so weights are transposed on the way out and in.
public enum ModelFile {
    /// Metadata keys written by `save` and checked by `load`.
    public enum Key {
        public static let model = "model"
        public static let hiddenActivation = "hidden_activation"
        public static let outputActivation = "output_activation"
        public static let layerSizes = "layer_sizes"
        public static let loss = "loss"
        public static let classLabels = "class_labels"
        public static let datasetName = "dataset_name"
        public static let datasetFingerprint = "dataset_sha256"
        public static let inputScaling = "input_scaling"
        public static let version = "blasnet_version"
        /// The class pair as files before `class_labels` recorded it (training metadata).
        public static let legacyClasses = "classes"
    }
    /// Inputs are raw pixel bytes divided by 255.
    public static let inputScaling = "pixel/255"

    static func joined(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }

    /// Comma-separated integers ("784, 128" accepted); nil when any part is not one.
    static func integers(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    /// Tensor names of layer `index` (0-based).
    public static func weightName(layer index: Int) -> String { "fc\(index + 1).weight" }
    public static func biasName(layer index: Int) -> String { "fc\(index + 1).bias" }

    /// Writes `network` (a `kind` model telling apart `classLabels`, trained on `dataset`) and `metadata`
    /// plus the format's keys to `path`, atomically. Caller metadata may repeat a format key only with
    /// the same value; `blasnet_version` is always this build's.
    public static func save(network: Network, kind: ModelKind, classLabels: [Int]? = nil, dataset: DatasetIdentity? = nil,
                            metadata: [String: String] = [:], to path: String) throws {
        let classLabels = classLabels ?? Array(0..<network.classCount)
        guard classLabels.count == network.classCount else {
            throw ModelFileError.networkDoesNotMatchKind(
                path: path, reason: "\(classLabels.count) class labels for a network of \(network.classCount) classes")
        }
        for (index, layer) in network.layers.enumerated() {
            let expected: Activation = index == network.layers.count - 1 ? .identity : kind.hiddenActivation
            guard layer.activation == expected else {
                throw ModelFileError.networkDoesNotMatchKind(
                    path: path, reason: "layer \(index + 1) uses \(layer.activation), a \(kind) model uses \(expected)")
            }
        }
        var formatMetadata = [
            Key.model: kind.rawValue,
            Key.hiddenActivation: kind.hiddenActivation.rawValue,
            Key.outputActivation: network.loss.kind.outputActivation,
            Key.loss: network.loss.kind.rawValue,
            Key.layerSizes: joined(network.layerSizes),
            Key.classLabels: joined(classLabels),
            Key.inputScaling: inputScaling,
        ]
        if let dataset {
            formatMetadata[Key.datasetName] = dataset.name
            formatMetadata[Key.datasetFingerprint] = dataset.fingerprint
        }
        var combined = metadata
        for (key, value) in formatMetadata {
            if let given = metadata[key], given != value {
                throw ModelFileError.conflictingMetadata(path: path, key: key, given: given, computed: value)
            }
            combined[key] = value
        }
        combined[Key.version] = BlasNetVersion.string

        var tensors: [String: SafetensorsTensor] = [:]
        let parameters = UnsafeBufferPointer(start: network.parameters.pointer, count: network.parameterCount)
        for (index, layer) in network.layers.enumerated() {
            tensors[weightName(layer: index)] = SafetensorsTensor(
                shape: [layer.outputSize, layer.inputSize],
                values: fileWeights(of: layer, in: parameters))
            tensors[biasName(layer: index)] = SafetensorsTensor(
                shape: [layer.outputSize],
                values: Array(parameters[layer.biasOffset..<layer.biasOffset + layer.outputSize]))
        }
        try Safetensors.write(SafetensorsFile(tensors: tensors, metadata: combined), to: path)
    }

    /// Reads a model saved by `save`, checking the model kind, the layer sizes, that exactly the expected
    /// tensors are present with the expected shapes, and that every parameter is finite.
    public static func load(_ path: String) throws -> LoadedModel {
        let file = try Safetensors.read(from: path)
        let metadata = file.metadata
        guard let modelName = metadata[Key.model] else { throw ModelFileError.missingMetadata(path: path, key: Key.model) }
        guard let kind = ModelKind(rawValue: modelName) else {
            throw ModelFileError.unknownModel(path: path, model: modelName)
        }
        // Sizes: the file's own (any depth); files without the key are the original 784-128-64-1 models.
        let layerSizes: [Int]
        if let text = metadata[Key.layerSizes] {
            guard let sizes = integers(text), sizes.count >= 2, sizes.count - 1 <= Network.maximumLayerCount,
                  sizes.allSatisfy({ (1...Network.maximumLayerSize).contains($0) }) else {
                throw ModelFileError.invalidLayerSizes(path: path, value: text)
            }
            layerSizes = sizes
        } else {
            layerSizes = ModelKind.layerSizes
        }
        let lossKind = LossKind(outputWidth: layerSizes[layerSizes.count - 1])
        // Optional on input (files written by other tools or older blasnets may lack them) but must agree
        // when present.
        let expectedValues = [
            Key.hiddenActivation: kind.hiddenActivation.rawValue,
            Key.outputActivation: lossKind.outputActivation,
            Key.loss: lossKind.rawValue,
            Key.inputScaling: inputScaling,
        ]
        for key in expectedValues.keys.sorted() {
            guard let found = metadata[key], let expected = expectedValues[key] else { continue }
            if found != expected {
                throw ModelFileError.inconsistentMetadata(path: path, key: key, found: found, expected: expected)
            }
        }
        let classCount = max(2, layerSizes[layerSizes.count - 1])
        let classLabels: [Int]
        if let text = metadata[Key.classLabels] ?? metadata[Key.legacyClasses] {
            let key = metadata[Key.classLabels] == nil ? Key.legacyClasses : Key.classLabels
            guard let labels = integers(text), labels.allSatisfy(ClassSelection.labelRange.contains) else {
                throw ModelFileError.invalidClassLabels(path: path, value: text, reason: "is not a list of labels 0–255")
            }
            guard Set(labels).count == labels.count else {
                throw ModelFileError.invalidClassLabels(path: path, value: text, reason: "repeats a label")
            }
            guard labels.count == classCount else {
                throw ModelFileError.inconsistentMetadata(path: path, key: key, found: text,
                                                          expected: "\(classCount) labels for \(classCount) classes")
            }
            classLabels = labels
        } else {
            classLabels = Array(0..<classCount)
        }
        var dataset: DatasetIdentity?
        if let name = metadata[Key.datasetName], let fingerprint = metadata[Key.datasetFingerprint] {
            dataset = DatasetIdentity(name: name, fingerprint: fingerprint)
        }

        // Check every tensor before allocating the network.
        var expectedShapes: [(name: String, shape: [Int])] = []
        for index in 0..<(layerSizes.count - 1) {
            expectedShapes.append((weightName(layer: index), [layerSizes[index + 1], layerSizes[index]]))
            expectedShapes.append((biasName(layer: index), [layerSizes[index + 1]]))
        }
        for (name, shape) in expectedShapes {
            guard let tensor = file.tensors[name] else { throw ModelFileError.missingTensor(path: path, name: name) }
            guard tensor.shape == shape else {
                throw ModelFileError.wrongShape(path: path, name: name, found: tensor.shape, expected: shape)
            }
            if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelFileError.nonFiniteParameter(path: path, name: name, index: bad)
            }
        }
        let known = Set(expectedShapes.map(\.name))
        if let extra = file.tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelFileError.unexpectedTensor(path: path, name: extra)
        }

        let network = try Network(layerSizes: layerSizes, hiddenActivation: kind.hiddenActivation)
        for (index, layer) in network.layers.enumerated() {
            guard let weights = file.tensors[weightName(layer: index)]?.values,
                  let biases = file.tensors[biasName(layer: index)]?.values,
                  weights.count == layer.weightCount, biases.count == layer.outputSize
            else { throw ModelFileError.missingTensor(path: path, name: weightName(layer: index)) }
            // The file's [out, in] row-major W[o, i] goes to the in-memory [in, out] W[i, o].
            let memory = network.parameters.pointer + layer.weightOffset
            for o in 0..<layer.outputSize {
                for i in 0..<layer.inputSize { memory[i * layer.outputSize + o] = weights[o * layer.inputSize + i] }
            }
            (network.parameters.pointer + layer.biasOffset).update(from: biases, count: biases.count)
        }
        return LoadedModel(network: network, kind: kind, classLabels: classLabels, dataset: dataset, metadata: metadata)
    }

    /// `layer`'s weights as the file stores them: [out, in] row-major (the transpose of the in-memory
    /// [in, out] W inside `parameters`).
    static func fileWeights(of layer: DenseLayer, in parameters: UnsafeBufferPointer<Float>) -> [Float] {
        var values = [Float](repeating: 0, count: layer.weightCount)
        for o in 0..<layer.outputSize {
            for i in 0..<layer.inputSize {
                values[o * layer.inputSize + i] = parameters[layer.weightOffset + i * layer.outputSize + o]
            }
        }
        return values
    }
}
