import BlasNet
import Foundation

/// `data/baseline.json`: the configurations `blasnet check` trains and the accuracy floors they must meet.
/// Floors come from calibration (`blasnet check --calibrate`): each configuration trained over many seeds,
/// the floor set just below the worst seed.
public struct Baseline: Codable, Sendable {
    public var description: String
    /// Largest accepted |accuracy(blas) − accuracy(swift)| for one configuration and seed.
    public var engineAgreementTolerance: Double
    public var configurations: [CheckedConfiguration]

    enum CodingKeys: String, CodingKey {
        case description
        case engineAgreementTolerance = "engine_agreement_tolerance"
        case configurations
    }

    public init(description: String, engineAgreementTolerance: Double, configurations: [CheckedConfiguration]) {
        self.description = description
        self.engineAgreementTolerance = engineAgreementTolerance
        self.configurations = configurations
    }

    public static func load(from path: String) throws -> Baseline {
        guard let data = FileManager.default.contents(atPath: path) else { throw BaselineError.unreadable(path: path) }
        let baseline: Baseline
        do {
            baseline = try JSONDecoder().decode(Baseline.self, from: data)
        } catch {
            throw BaselineError.malformed(path: path, reason: "\(error)")
        }
        try baseline.validate(path: path)
        return baseline
    }

    func validate(path: String) throws {
        guard !configurations.isEmpty else { throw BaselineError.malformed(path: path, reason: "no configurations") }
        guard engineAgreementTolerance >= 0 else {
            throw BaselineError.malformed(path: path, reason: "engine_agreement_tolerance must be ≥ 0")
        }
        var names = Set<String>()
        for configuration in configurations {
            guard names.insert(configuration.name).inserted else {
                throw BaselineError.malformed(path: path, reason: "configuration '\(configuration.name)' appears twice")
            }
            do {
                // The trainer's own rules (no engine is built: that would reset OpenBLAS's thread count).
                try configuration.trainingConfiguration().validate()
                _ = try configuration.classSelection()
            } catch {
                throw BaselineError.malformed(path: path, reason: "configuration '\(configuration.name)': \(error)")
            }
            guard configuration.threads >= 1, (0...1).contains(configuration.floorAccuracy) else {
                throw BaselineError.malformed(path: path, reason: "configuration '\(configuration.name)': threads must be ≥ 1 "
                                              + "and floor_accuracy within 0…1")
            }
        }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}

/// One configuration of the gate, its floor, and the calibration the floor came from.
public struct CheckedConfiguration: Codable, Sendable {
    public var name: String
    public var model: String
    public var engine: String
    /// The classes, as `--classes` takes them ("all", "3,5,8"); absent means "0,1".
    public var classes: String?
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    public var threads: Int
    /// Test accuracy must be ≥ this.
    public var floorAccuracy: Double
    /// Largest accepted |accuracy(blas) − accuracy(swift)| for this configuration; absent: the
    /// baseline's `engine_agreement_tolerance`.
    public var engineAgreementTolerance: Double?
    public var calibration: Calibration?

    enum CodingKeys: String, CodingKey {
        case name, model, engine, classes, epochs, seed, threads, calibration
        case batchSize = "batch_size"
        case learningRate = "learning_rate"
        case floorAccuracy = "floor_accuracy"
        case engineAgreementTolerance = "engine_agreement_tolerance"
    }

    public init(name: String, model: ModelKind, engine: EngineKind, epochs: Int, batchSize: Int, learningRate: Float,
                seed: UInt64, threads: Int, floorAccuracy: Double, calibration: Calibration? = nil,
                classes: String? = nil) {
        self.name = name
        self.classes = classes
        self.model = model.rawValue
        self.engine = engine.rawValue
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.threads = threads
        self.floorAccuracy = floorAccuracy
        self.calibration = calibration
    }

    public var engineKind: EngineKind? { EngineKind(rawValue: engine) }

    /// The parsed `classes`.
    public func classSelection() throws -> ClassSelection {
        guard let classes else { return .zeroAndOne }
        do { return try ClassSelection(parsing: classes) } catch { throw BaselineError.unknown("classes '\(classes)': \(error)") }
    }

    public func trainingConfiguration(seed overridingSeed: UInt64? = nil) throws -> TrainingConfiguration {
        guard let kind = ModelKind(rawValue: model) else { throw BaselineError.unknown("model '\(model)'") }
        guard engineKind != nil else { throw BaselineError.unknown("engine '\(engine)'") }
        return TrainingConfiguration(model: kind, epochs: epochs, batchSize: batchSize, learningRate: learningRate,
                                     seed: overridingSeed ?? seed)
    }
}

/// The distribution of test accuracy over seeds, recorded next to a floor.
public struct Calibration: Codable, Sendable {
    public var seeds: [UInt64]
    public var minAccuracy: Double
    public var medianAccuracy: Double
    public var maxAccuracy: Double
    public var maxErrors: Int
    public var testCount: Int
    /// Largest |blas − swift| accuracy difference seen over the seeds.
    public var maxEngineDifference: Double
    public var machine: String
    public var date: String

    enum CodingKeys: String, CodingKey {
        case seeds, machine, date
        case minAccuracy = "min_accuracy"
        case medianAccuracy = "median_accuracy"
        case maxAccuracy = "max_accuracy"
        case maxErrors = "max_errors"
        case testCount = "test_count"
        case maxEngineDifference = "max_engine_difference"
    }
}

public enum BaselineError: Error, CustomStringConvertible {
    case unreadable(path: String)
    case malformed(path: String, reason: String)
    case unknown(String)

    public var description: String {
        switch self {
        case let .unreadable(path): return "\(path): cannot read the baseline file"
        case let .malformed(path, reason): return "\(path): \(reason)"
        case let .unknown(what): return "unknown \(what)"
        }
    }
}
