import BlasNet
import Foundation

/// The accuracy gate: trains each baseline configuration on its engine and on the other engine, and
/// judges the accuracy against the floor and the two engines against each other.
public enum RegressionCheck {
    public struct Outcome: Sendable {
        public let name: String
        public let floorAccuracy: Double
        public let accuracy: Double
        public let errors: Int
        public let testCount: Int
        /// The same configuration and seed on the other engine.
        public let otherEngine: EngineKind
        public let otherEngineAccuracy: Double
        public let tolerance: Double

        public var meetsFloor: Bool { accuracy >= floorAccuracy }
        public var enginesAgree: Bool { abs(accuracy - otherEngineAccuracy) <= tolerance + 1e-12 }
        public var passed: Bool { meetsFloor && enginesAgree }

        /// Why it failed, or nil.
        public var failure: String? {
            var reasons: [String] = []
            if !meetsFloor {
                reasons.append(String(format: "accuracy %.4f%% is below the floor %.4f%%", accuracy * 100, floorAccuracy * 100))
            }
            if !enginesAgree {
                reasons.append(String(format: "%@ reaches %.4f%%, %.4f points away (tolerance %.4f)", otherEngine.rawValue,
                                      otherEngineAccuracy * 100, abs(accuracy - otherEngineAccuracy) * 100, tolerance * 100))
            }
            return reasons.isEmpty ? nil : "\(name): " + reasons.joined(separator: "; ")
        }
    }

    /// Test accuracy and errors of `configuration` trained with `seed` on `engine`.
    public static func accuracy(of configuration: CheckedConfiguration, engine: EngineKind, seed: UInt64? = nil,
                                train: LabeledImages, test: LabeledImages) throws -> Evaluation {
        let trainer = try Trainer(configuration: try configuration.trainingConfiguration(seed: seed),
                                  engine: makeEngine(engine, threads: ThreadPolicy.resolve(requested: configuration.threads).threads),
                                  for: train)
        return try trainer.train(on: train, test: test).test
    }

    public static func run(_ configuration: CheckedConfiguration, tolerance: Double, train: LabeledImages,
                           test: LabeledImages) throws -> Outcome {
        guard let engine = configuration.engineKind else { throw BaselineError.unknown("engine '\(configuration.engine)'") }
        let other: EngineKind = engine == .blas ? .swift : .blas
        let own = try accuracy(of: configuration, engine: engine, train: train, test: test)
        let theirs = try accuracy(of: configuration, engine: other, train: train, test: test)
        return Outcome(name: configuration.name, floorAccuracy: configuration.floorAccuracy, accuracy: own.accuracy,
                       errors: own.errors, testCount: own.count, otherEngine: other,
                       otherEngineAccuracy: theirs.accuracy, tolerance: tolerance)
    }

    /// The least margin over the largest engine difference seen: 0.05 points, five errors of 10,000
    /// test images (OpenBLAS picks other kernels on another CPU family and rounds differently).
    public static let minimumEngineMargin = 0.0005

    /// Trains `configuration` over `seeds` on both engines and proposes a floor one error below the
    /// worst seed (accuracy with one more error than the worst), and an engine tolerance of the largest
    /// difference seen plus two errors' worth (at least `minimumEngineMargin`) (the engines round differently, so an image on the decision
    /// boundary may fall either way on another CPU or kernel build).
    public static func calibrate(_ configuration: CheckedConfiguration, seeds: [UInt64], train: LabeledImages,
                                 test: LabeledImages, machine: String, date: String,
                                 progress: (String) -> Void = { _ in }) throws -> (CheckedConfiguration, tolerance: Double) {
        guard let engine = configuration.engineKind else { throw BaselineError.unknown("engine '\(configuration.engine)'") }
        let other: EngineKind = engine == .blas ? .swift : .blas
        var accuracies: [Double] = [], maxErrors = 0, maxDifference = 0.0
        for seed in seeds {
            let own = try accuracy(of: configuration, engine: engine, seed: seed, train: train, test: test)
            let theirs = try accuracy(of: configuration, engine: other, seed: seed, train: train, test: test)
            accuracies.append(own.accuracy)
            maxErrors = max(maxErrors, own.errors)
            maxDifference = max(maxDifference, abs(own.accuracy - theirs.accuracy))
            progress("\(configuration.name) seed \(seed): \(own.errors) errors (\(other): \(theirs.errors))")
        }
        let sorted = accuracies.sorted()
        let oneError = 1 / Double(test.count)
        var proposed = configuration
        proposed.floorAccuracy = max(0, (sorted.first ?? 0) - oneError)
        proposed.calibration = Calibration(
            seeds: seeds, minAccuracy: sorted.first ?? 0, medianAccuracy: sorted.isEmpty ? 0 : sorted[sorted.count / 2],
            maxAccuracy: sorted.last ?? 0, maxErrors: maxErrors, testCount: test.count,
            maxEngineDifference: maxDifference, machine: machine, date: date)
        return (proposed, maxDifference + max(2 * oneError, minimumEngineMargin))
    }
}
