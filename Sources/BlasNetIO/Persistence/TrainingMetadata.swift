import BlasNetCore
import Foundation

/// How a saved model was trained: written into the safetensors `__metadata__` (string values) by
/// `blasnet train --save` and read back by `eval` and `report`.
/// (The classes, sizes and data set are the model file's own keys: see `ModelFile`.)
public struct TrainingMetadata: Sendable {
    public var engine: EngineKind
    public var threads: Int
    public var seed: UInt64
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    /// Whether training flushed subnormal floats to zero; nil in files written before blasnet recorded it.
    public var flushesSubnormals: Bool?
    public var testAccuracy: Double
    public var testErrors: Int
    public var testCount: Int
    /// Mean training loss of each epoch.
    public var epochLosses: [Double]
    /// Test accuracy after each epoch (empty when a validation set was evaluated instead).
    public var epochTestAccuracies: [Double]
    /// Validation accuracy after each epoch (empty without a validation set).
    public var epochValidationAccuracies: [Double]
    /// The share of the training set held out for validation (0: none).
    public var validationFraction: Double
    /// The epoch whose weights were kept.
    public var keptEpoch: Int

    public init(configuration: TrainingConfiguration, engine: ComputeEngine, validationFraction: Double = 0,
                result: TrainingResult) {
        self.engine = engine.kind
        threads = engine.threadCount
        seed = configuration.seed
        epochs = configuration.epochs
        batchSize = configuration.batchSize
        learningRate = configuration.learningRate
        flushesSubnormals = configuration.flushesSubnormals
        testAccuracy = result.test.accuracy
        testErrors = result.test.errors
        testCount = result.test.count
        epochLosses = result.epochs.map(\.trainLoss)
        epochTestAccuracies = result.epochs.compactMap(\.testAccuracy)
        epochValidationAccuracies = result.epochs.compactMap(\.validationAccuracy)
        self.validationFraction = validationFraction
        keptEpoch = result.keptEpoch
    }

    /// String values for the file; doubles keep all 17 significant digits so they read back exactly.
    public var strings: [String: String] {
        func list(_ values: [Double]) -> String { values.map { String(format: "%.17g", $0) }.joined(separator: ",") }
        var strings = [
            "engine": engine.rawValue, "threads": "\(threads)",
            "seed": "\(seed)", "epochs": "\(epochs)", "batch_size": "\(batchSize)",
            "learning_rate": String(format: "%.9g", learningRate),
            "test_accuracy": String(format: "%.17g", testAccuracy), "test_errors": "\(testErrors)",
            "test_count": "\(testCount)", "epoch_losses": list(epochLosses),
            "epoch_test_accuracies": list(epochTestAccuracies),
            "epoch_validation_accuracies": list(epochValidationAccuracies),
            "validation_fraction": String(format: "%.17g", validationFraction), "kept_epoch": "\(keptEpoch)",
        ]
        if let flushesSubnormals { strings["subnormals"] = flushesSubnormals ? "flushed" : "kept" }
        return strings
    }

    /// Parses `strings`; nil when a field is missing or malformed (a file written by another tool). The
    /// fields later blasnets added ("subnormals", the validation fields) may be absent but not malformed.
    public init?(strings: [String: String]) {
        func doubles(_ key: String) -> [Double]? {
            guard let text = strings[key] else { return nil }
            if text.isEmpty { return [] }
            let values = text.split(separator: ",").compactMap { Double($0) }
            return values.count == text.split(separator: ",").count ? values : nil
        }
        guard let engine = strings["engine"].flatMap(EngineKind.init(rawValue:)),
              let threads = strings["threads"].flatMap({ Int($0) }),
              let seed = strings["seed"].flatMap({ UInt64($0) }),
              let epochs = strings["epochs"].flatMap({ Int($0) }),
              let batchSize = strings["batch_size"].flatMap({ Int($0) }),
              let learningRate = strings["learning_rate"].flatMap({ Float($0) }),
              let testAccuracy = strings["test_accuracy"].flatMap({ Double($0) }),
              let testErrors = strings["test_errors"].flatMap({ Int($0) }),
              let testCount = strings["test_count"].flatMap({ Int($0) }),
              let epochLosses = doubles("epoch_losses"), let epochTestAccuracies = doubles("epoch_test_accuracies")
        else { return nil }
        guard let epochValidationAccuracies = strings["epoch_validation_accuracies"] == nil ? [] : doubles("epoch_validation_accuracies"),
              let validationFraction = strings["validation_fraction"].map({ Double($0) }) ?? 0,
              let keptEpoch = strings["kept_epoch"].map({ Int($0) }) ?? epochs
        else { return nil }
        switch strings["subnormals"] {
        case nil: flushesSubnormals = nil
        case "flushed": flushesSubnormals = true
        case "kept": flushesSubnormals = false
        default: return nil
        }
        self.engine = engine
        self.threads = threads
        self.seed = seed
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.testAccuracy = testAccuracy
        self.testErrors = testErrors
        self.testCount = testCount
        self.epochLosses = epochLosses
        self.epochTestAccuracies = epochTestAccuracies
        self.epochValidationAccuracies = epochValidationAccuracies
        self.validationFraction = validationFraction
        self.keptEpoch = keptEpoch
    }
}
