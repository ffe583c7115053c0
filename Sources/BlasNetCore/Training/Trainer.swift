import Foundation
import SwiftKernels

/// Hyper-parameters of one training run. Defaults are the original Keras script's.
public struct TrainingConfiguration: Sendable {
    public var model: ModelKind
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// Train and evaluate with subnormal floats flushed to zero (see `FloatingPointMode`): Adam's update
    /// runs up to twice as fast late in training, and the weights do not move by a bit in practice. False
    /// keeps IEEE gradual underflow.
    public var flushesSubnormals: Bool

    public static let defaultSeed: UInt64 = 42
    /// Largest accepted batch: more than the 12,665 training images of 0 vs 1, and small enough that
    /// the per-batch buffers (~0.8 KiB of activations per row) stay well inside memory.
    public static let maximumBatchSize = 65_536

    public init(model: ModelKind = .dense, epochs: Int = 10, batchSize: Int = 32, learningRate: Float = 1e-3,
                seed: UInt64 = TrainingConfiguration.defaultSeed, flushesSubnormals: Bool = true) {
        self.model = model
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.flushesSubnormals = flushesSubnormals
    }

    /// A setting a configuration can get wrong, named as the command line names it.
    public enum Setting: String, Sendable {
        case epochs, batchSize = "batch-size", learningRate = "learning-rate"
    }

    /// The one place the rules live: the trainer, the command line and the baseline file all call this.
    /// Throws `TrainingError.invalidSetting` naming the first setting out of range.
    public func validate() throws {
        if epochs < 1 { throw TrainingError.invalidSetting(.epochs, requirement: "at least 1", value: "\(epochs)") }
        if !(1...Self.maximumBatchSize).contains(batchSize) {
            throw TrainingError.invalidSetting(.batchSize, requirement: "within 1…\(Self.maximumBatchSize)", value: "\(batchSize)")
        }
        if !(learningRate > 0 && learningRate.isFinite) {
            throw TrainingError.invalidSetting(.learningRate, requirement: "a positive number", value: "\(learningRate)")
        }
    }

    /// How the training threads treat subnormal floats.
    public var floatingPointMode: FloatingPointMode { FloatingPointMode(flushesSubnormals: flushesSubnormals) }
}

/// What one epoch did. `seconds` counts the training steps only (not the test evaluation).
public struct EpochReport: Sendable {
    public let epoch: Int
    public let epochs: Int
    public let trainLoss: Double
    public let trainAccuracy: Double
    public let testAccuracy: Double
    public let testErrors: Int
    public let seconds: Double
    public let samplesPerSecond: Double
}

/// Progress inside an epoch, for a live bar.
public struct StepProgress: Sendable {
    public let epoch: Int
    public let step: Int
    public let stepsPerEpoch: Int
    public let runningLoss: Double
}

public struct TrainingResult: Sendable {
    public let epochs: [EpochReport]
    public let test: Evaluation
    /// Training steps only, summed over epochs.
    public let trainSeconds: Double
    public let samplesPerSecond: Double
    /// Mean training loss of the last epoch.
    public let finalLoss: Double
}

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(epoch: Int, step: Int, loss: Double)
    case interrupted(epoch: Int, step: Int)
    case invalidConfiguration(String)
    /// A setting outside its range (see `TrainingConfiguration.validate`).
    case invalidSetting(TrainingConfiguration.Setting, requirement: String, value: String)

    public var description: String {
        switch self {
        case let .diverged(epoch, step, loss):
            return "training diverged: loss is \(loss) at epoch \(epoch), step \(step); try a smaller --learning-rate"
        case let .interrupted(epoch, step):
            return "interrupted at epoch \(epoch), step \(step)"
        case let .invalidConfiguration(message):
            return message
        case let .invalidSetting(setting, requirement, value):
            return "\(setting.rawValue.replacingOccurrences(of: "-", with: " ")) must be \(requirement) (got \(value))"
        }
    }
}

/// Trains a network with Adam on one engine. All randomness (Glorot init, then each epoch's shuffle)
/// comes from one generator seeded with `configuration.seed`, so the same seed gives the same initial
/// weights and batch order on every engine.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let network: Network
    public let engine: ComputeEngine
    public let optimizer: AdamOptimizer
    private var generator: SeededGenerator
    private let workspace: NetworkWorkspace
    private let evaluationWorkspace: NetworkWorkspace
    private let batchInput: FloatBuffer
    private let batchLabels: FloatBuffer

    /// A batch's mean loss above this means training has diverged: a fresh network starts near ln 2 ≈ 0.69,
    /// and 1000 needs logits of about ±1000 on the wrong side. (With Adam's bounded steps a runaway
    /// learning rate can keep the loss finite yet astronomically large, e.g. 1e20 at --learning-rate 1e6.)
    public static let divergedLoss: Double = 1000

    public init(configuration: TrainingConfiguration, engine: ComputeEngine) throws {
        try configuration.validate()
        self.configuration = configuration
        self.engine = engine
        generator = SeededGenerator(seed: configuration.seed)
        let network = Network(kind: configuration.model)
        network.initializeGlorotUniform(using: &generator)
        self.network = network
        optimizer = AdamOptimizer(parameterCount: network.parameterCount, learningRate: configuration.learningRate,
                                  threads: engine.elementwiseThreadCount)
        workspace = NetworkWorkspace(network: network, capacity: configuration.batchSize)
        evaluationWorkspace = NetworkWorkspace(network: network, capacity: NetworkWorkspace.evaluationCapacity)
        batchInput = FloatBuffer(count: configuration.batchSize * network.inputSize)
        batchLabels = FloatBuffer(count: configuration.batchSize)
    }

    /// The gradients of the last step, laid out like `network.parameters`.
    public var gradients: FloatBuffer { workspace.gradients }

    /// Evaluates the current weights on `data`, in the configuration's floating-point mode.
    public func evaluate(on data: LabeledImages) -> Evaluation {
        configuration.floatingPointMode.perform {
            BlasNetCore.evaluate(network, on: data, engine: engine, workspace: evaluationWorkspace)
        }
    }

    /// Runs all epochs: each reshuffles the training set, runs mini-batch Adam steps (the last partial
    /// batch included), then evaluates on `test`; all in the configuration's floating-point mode. Throws `TrainingError.diverged` when a batch's loss is not
    /// finite or exceeds `divergedLoss`, and
    /// `.interrupted` when `shouldStop` returns true (checked after every step).
    public func train(on train: LabeledImages, test: LabeledImages,
                      onStep: ((StepProgress) -> Void)? = nil,
                      onEpoch: ((EpochReport) -> Void)? = nil,
                      shouldStop: () -> Bool = { false }) throws -> TrainingResult {
        try configuration.floatingPointMode.perform {
            try trainAllEpochs(on: train, test: test, onStep: onStep, onEpoch: onEpoch, shouldStop: shouldStop)
        }
    }

    private func trainAllEpochs(on train: LabeledImages, test: LabeledImages, onStep: ((StepProgress) -> Void)?,
                                onEpoch: ((EpochReport) -> Void)?, shouldStop: () -> Bool) throws -> TrainingResult {
        var order = Array(0..<train.count)
        let images = TrainingImages(train)
        var reports: [EpochReport] = []
        var totalSeconds = 0.0
        var lastEvaluation: Evaluation?  // the final weights' test result: the last epoch's evaluation
        for epoch in 1...configuration.epochs {
            let statistics = try runEpoch(epoch, order: &order, images: images, data: train, onStep: onStep,
                                          shouldStop: shouldStop)
            totalSeconds += statistics.seconds
            let evaluation = evaluate(on: test)
            let report = EpochReport(
                epoch: epoch, epochs: configuration.epochs,
                trainLoss: statistics.lossSum / Double(train.count),
                trainAccuracy: Double(statistics.correct) / Double(train.count),
                testAccuracy: evaluation.accuracy, testErrors: evaluation.errors,
                seconds: statistics.seconds, samplesPerSecond: Double(train.count) / statistics.seconds)
            reports.append(report)
            lastEvaluation = evaluation
            onEpoch?(report)
        }
        guard let lastEvaluation else { throw TrainingError.invalidConfiguration("epochs must be at least 1") }
        return TrainingResult(epochs: reports, test: lastEvaluation, trainSeconds: totalSeconds,
                              samplesPerSecond: Double(train.count * configuration.epochs) / totalSeconds,
                              finalLoss: reports.last?.trainLoss ?? .nan)
    }

    /// One epoch: the shuffle and the steps. Returns summed loss, correct predictions and the seconds they
    /// took, not counting the `onStep` callback (a terminal's progress bar is not training).
    private func runEpoch(_ epoch: Int, order: inout [Int], images: TrainingImages, data: LabeledImages,
                          onStep: ((StepProgress) -> Void)?, shouldStop: () -> Bool) throws
        -> (lossSum: Double, correct: Int, seconds: Double) {
        let started = DispatchTime.now().uptimeNanoseconds
        var callbackNanoseconds: UInt64 = 0
        generator.shuffle(&order)
        let batchSize = configuration.batchSize
        let steps = (data.count + batchSize - 1) / batchSize
        var lossSum: Double = 0
        var correct = 0
        try data.labels.withUnsafeBufferPointer { labels in
            for step in 0..<steps {
                let start = step * batchSize
                let rows = min(batchSize, data.count - start)
                images.gather(rows: order[start..<(start + rows)], into: batchInput.pointer)
                for row in 0..<rows { batchLabels.pointer[row] = labels[order[start + row]] }
                let batch = network.computeGradients(input: batchInput.pointer, labels: batchLabels.pointer,
                                                     batch: rows, workspace: workspace, engine: engine)
                guard batch.lossSum.isFinite, batch.lossSum / Double(rows) <= Self.divergedLoss else {
                    throw TrainingError.diverged(epoch: epoch, step: step + 1, loss: batch.lossSum / Double(rows))
                }
                optimizer.update(parameters: network.parameters, gradients: workspace.gradients)
                lossSum += batch.lossSum
                correct += batch.correct
                if let onStep {
                    let callbackStarted = DispatchTime.now().uptimeNanoseconds
                    onStep(StepProgress(epoch: epoch, step: step + 1, stepsPerEpoch: steps,
                                        runningLoss: lossSum / Double(start + rows)))
                    callbackNanoseconds += DispatchTime.now().uptimeNanoseconds - callbackStarted
                }
                if shouldStop() { throw TrainingError.interrupted(epoch: epoch, step: step + 1) }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started - callbackNanoseconds) / 1e9
        return (lossSum, correct, seconds)
    }
}
