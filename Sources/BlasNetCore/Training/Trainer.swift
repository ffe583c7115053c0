import Foundation
import SwiftKernels

/// Which weights a run ends with when it has a validation set.
public enum KeptWeights: String, Sendable, CaseIterable {
    /// The weights after the last epoch.
    case last
    /// The weights after the epoch with the best validation accuracy (the first, on ties).
    case best
}

/// Hyper-parameters of one training run. Defaults are the original Keras script's.
public struct TrainingConfiguration: Sendable {
    public var model: ModelKind
    /// Widths of the hidden layers, input side first.
    public var hiddenLayers: [Int]
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// Train and evaluate with subnormal floats flushed to zero (see `FloatingPointMode`): Adam's update
    /// runs up to twice as fast late in training, and the weights do not move by a bit in practice. False
    /// keeps IEEE gradual underflow.
    public var flushesSubnormals: Bool
    /// With a validation set: keep the last epoch's weights or the best validation epoch's.
    public var keep: KeptWeights

    public static let defaultSeed: UInt64 = 42
    /// Largest accepted batch: more than the 12,665 training images of 0 vs 1, and small enough that
    /// the per-batch buffers (~0.8 KiB of activations per row) stay well inside memory.
    public static let maximumBatchSize = 65_536

    public init(model: ModelKind = .dense, hiddenLayers: [Int] = ModelKind.defaultHiddenLayers, epochs: Int = 10,
                batchSize: Int = 32, learningRate: Float = 1e-3, seed: UInt64 = TrainingConfiguration.defaultSeed,
                flushesSubnormals: Bool = true, keep: KeptWeights = .last) {
        self.model = model
        self.hiddenLayers = hiddenLayers
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.flushesSubnormals = flushesSubnormals
        self.keep = keep
    }

    /// A setting a configuration can get wrong, named as the command line names it.
    public enum Setting: String, Sendable {
        case epochs, batchSize = "batch-size", learningRate = "learning-rate", hidden
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
        if hiddenLayers.count >= Network.maximumLayerCount
            || !hiddenLayers.allSatisfy({ (1...Network.maximumLayerSize).contains($0) }) {
            throw TrainingError.invalidSetting(
                .hidden, requirement: "at most \(Network.maximumLayerCount - 1) sizes within 1…\(Network.maximumLayerSize)",
                value: hiddenLayers.map(String.init).joined(separator: ","))
        }
    }

    /// How the training threads treat subnormal floats.
    public var floatingPointMode: FloatingPointMode { FloatingPointMode(flushesSubnormals: flushesSubnormals) }
}

/// What one epoch did. `seconds` counts the training steps only (not the evaluations). Without a
/// validation set the test set is evaluated after every epoch; with one, the validation set is, and
/// the test set only once at the end (`testAccuracy` is then nil).
public struct EpochReport: Sendable {
    public let epoch: Int
    public let epochs: Int
    public let trainLoss: Double
    public let trainAccuracy: Double
    public let testAccuracy: Double?
    public let testErrors: Int?
    public let validationAccuracy: Double?
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
    /// The kept weights on the test set.
    public let test: Evaluation
    /// The epoch whose weights were kept (the last, unless `keep` is `.best` with a validation set).
    public let keptEpoch: Int
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
    /// A set whose features or classes do not fit the network.
    case dataMismatch(set: String, width: Int, classes: Int, networkWidth: Int, networkClasses: Int)
    case emptySet(set: String)
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
        case let .dataMismatch(set, width, classes, networkWidth, networkClasses):
            return "the \(set) set has \(width) features and \(classes) classes; the network takes \(networkWidth) and \(networkClasses)"
        case let .emptySet(set):
            return "the \(set) set is empty"
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
    /// The best validation epoch's weights, when `keep` is `.best`.
    private let keptParameters: FloatBuffer?
    /// With more than one thread: each step split into tasks on a worker pool, rows then parameters
    /// (see `DataParallelStep`).
    let parallelStep: DataParallelStep?
    /// The engine evaluations run on: with a parallel step, worker 0's single-threaded one (OpenBLAS's
    /// thread count is process-wide; the workers' products need it at 1).
    private let evaluationEngine: ComputeEngine

    /// A batch's mean loss above this means training has diverged: a fresh network starts near ln 2 ≈ 0.69,
    /// and 1000 needs logits of about ±1000 on the wrong side. (With Adam's bounded steps a runaway
    /// learning rate can keep the loss finite yet astronomically large, e.g. 1e20 at --learning-rate 1e6.)
    public static let divergedLoss: Double = 1000

    /// Whether a batch of `rows` rows with these statistics has diverged (its loss not finite, or its mean
    /// above `divergedLoss`): such a batch must not reach the weights. The one rule for the trainer and
    /// the parallel step.
    static func hasDiverged(_ batch: BatchStatistics, rows: Int) -> Bool {
        !(batch.lossSum.isFinite && batch.lossSum / Double(rows) <= divergedLoss)
    }

    /// A trainer for a network of `inputSize` features and `classCount` classes (defaults: the MNIST
    /// 0-vs-1 problem), its weights drawn from the seed.
    public init(configuration: TrainingConfiguration, engine: ComputeEngine,
                inputSize: Int = LabeledImages.mnistPixelCount, classCount: Int = 2) throws {
        try configuration.validate()
        self.configuration = configuration
        self.engine = engine
        generator = SeededGenerator(seed: configuration.seed)
        let network = try Network(inputSize: inputSize, hiddenLayers: configuration.hiddenLayers,
                                  classCount: classCount, hiddenActivation: configuration.model.hiddenActivation)
        network.initializeGlorotUniform(using: &generator)
        self.network = network
        optimizer = AdamOptimizer(parameterCount: network.parameterCount, learningRate: configuration.learningRate,
                                  threads: engine.elementwiseThreadCount)
        workspace = NetworkWorkspace(network: network, capacity: configuration.batchSize)
        evaluationWorkspace = NetworkWorkspace(network: network, capacity: NetworkWorkspace.evaluationCapacity)
        batchInput = FloatBuffer(count: configuration.batchSize * network.inputSize)
        batchLabels = FloatBuffer(count: configuration.batchSize)
        keptParameters = configuration.keep == .best ? FloatBuffer(count: network.parameterCount) : nil
        parallelStep = engine.threadCount > 1
            ? DataParallelStep(network: network, kind: engine.kind, workers: engine.threadCount,
                               batchSize: configuration.batchSize)
            : nil
        evaluationEngine = parallelStep?.engines[0] ?? engine
    }

    /// A trainer for the width and classes of `data`.
    public convenience init(configuration: TrainingConfiguration, engine: ComputeEngine, for data: LabeledImages) throws {
        try self.init(configuration: configuration, engine: engine, inputSize: data.width, classCount: data.classCount)
    }

    /// The gradients of the last step, laid out like `network.parameters`.
    public var gradients: FloatBuffer { workspace.gradients }

    /// Evaluates the current weights on `data`, in the configuration's floating-point mode.
    public func evaluate(on data: LabeledImages) -> Evaluation {
        parallelStep?.publishParameters()  // mid-epoch (from `onStep`), the current weights
        return configuration.floatingPointMode.perform {
            BlasNetCore.evaluate(network, on: data, engine: evaluationEngine, workspace: evaluationWorkspace)
        }
    }

    /// Runs all epochs: each reshuffles the training set, runs mini-batch Adam steps (the last partial
    /// batch included), then evaluates on `validation` if given, else on `test`; all in the
    /// configuration's floating-point mode. With a validation set and `keep == .best` the network ends
    /// with the best validation epoch's weights, and `test` is evaluated once, on the kept weights.
    /// Throws `TrainingError.diverged` when a batch's loss is not finite or exceeds `divergedLoss`,
    /// `.interrupted` when `shouldStop` returns true (checked after every step), and
    /// `.dataMismatch` when a set's width or classes differ from the network's. Inside an epoch
    /// (`onStep`), `network.parameters` may hold the epoch's starting first layer while a parallel step
    /// keeps the current one in its own blocks; `evaluate(on:)` and every epoch's end bring it up to date.
    public func train(on train: LabeledImages, test: LabeledImages, validation: LabeledImages? = nil,
                      onStep: ((StepProgress) -> Void)? = nil,
                      onEpoch: ((EpochReport) -> Void)? = nil,
                      shouldStop: () -> Bool = { false }) throws -> TrainingResult {
        for (name, set) in [("training", train), ("test", test)] + (validation.map { [("validation", $0)] } ?? []) {
            guard set.width == network.inputSize, set.classCount == network.classCount else {
                throw TrainingError.dataMismatch(set: name, width: set.width, classes: set.classCount,
                                                 networkWidth: network.inputSize, networkClasses: network.classCount)
            }
            guard set.count > 0 else { throw TrainingError.emptySet(set: name) }
        }
        return try configuration.floatingPointMode.perform {
            try trainAllEpochs(on: train, test: test, validation: validation, onStep: onStep, onEpoch: onEpoch,
                               shouldStop: shouldStop)
        }
    }

    private func trainAllEpochs(on train: LabeledImages, test: LabeledImages, validation: LabeledImages?,
                                onStep: ((StepProgress) -> Void)?, onEpoch: ((EpochReport) -> Void)?,
                                shouldStop: () -> Bool) throws -> TrainingResult {
        var order = Array(0..<train.count)
        let images = TrainingImages(train)
        var reports: [EpochReport] = []
        var totalSeconds = 0.0
        var lastTest: Evaluation?  // without validation: the last epoch's test result (the final weights')
        var best: (epoch: Int, accuracy: Double)?
        for epoch in 1...configuration.epochs {
            let statistics = try runEpoch(epoch, order: &order, images: images, data: train, onStep: onStep,
                                          shouldStop: shouldStop)
            totalSeconds += statistics.seconds
            var testEvaluation: Evaluation?, validationAccuracy: Double?
            if let validation {
                let accuracy = evaluate(on: validation).accuracy
                validationAccuracy = accuracy
                if best == nil || accuracy > best!.accuracy {
                    best = (epoch, accuracy)
                    keptParameters?.pointer.update(from: network.parameters.pointer, count: network.parameterCount)
                }
            } else {
                testEvaluation = evaluate(on: test)
                lastTest = testEvaluation
            }
            let report = EpochReport(
                epoch: epoch, epochs: configuration.epochs,
                trainLoss: statistics.lossSum / Double(train.count),
                trainAccuracy: Double(statistics.correct) / Double(train.count),
                testAccuracy: testEvaluation?.accuracy, testErrors: testEvaluation?.errors,
                validationAccuracy: validationAccuracy,
                seconds: statistics.seconds, samplesPerSecond: Double(train.count) / statistics.seconds)
            reports.append(report)
            onEpoch?(report)
        }
        var keptEpoch = configuration.epochs
        if let keptParameters, let best {
            network.parameters.pointer.update(from: keptParameters.pointer, count: network.parameterCount)
            keptEpoch = best.epoch
        }
        let test = lastTest ?? evaluate(on: test)
        return TrainingResult(epochs: reports, test: test, keptEpoch: keptEpoch, trainSeconds: totalSeconds,
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
        parallelStep?.discardPreparedBatch()
        // What the epoch trained must be in the network when it ends, however it ends: the parallel step
        // may hold part of the first layer in its own blocks (`DataParallelStep.publishParameters`).
        defer { parallelStep?.publishParameters() }
        let batchSize = configuration.batchSize
        let steps = (data.count + batchSize - 1) / batchSize
        var lossSum: Double = 0
        var correct = 0
        try data.labels.withUnsafeBufferPointer { labels in
            for step in 0..<steps {
                let start = step * batchSize
                let rows = min(batchSize, data.count - start)
                // The next batch's rows are known: ask for them now, so they arrive while this one trains.
                let next = start + batchSize
                let nextRows = order[min(next, data.count)..<min(next + batchSize, data.count)]
                if parallelStep == nil { images.prefetch(rows: nextRows) }  // the parallel step's tasks gather their own columns of it
                let batch: BatchStatistics
                if let parallelStep {
                    batch = parallelStep.step(rows: order[start..<(start + rows)], next: nextRows, images: images,
                                              labels: labels.baseAddress!,
                                              batchLabels: batchLabels.pointer, optimizer: optimizer)
                } else {
                    images.gather(rows: order[start..<(start + rows)], into: batchInput.pointer)
                    for row in 0..<rows { batchLabels.pointer[row] = Float(labels[order[start + row]]) }
                    batch = network.computeGradients(input: batchInput.pointer, labels: batchLabels.pointer,
                                                     batch: rows, workspace: workspace, engine: engine)
                }
                guard !Self.hasDiverged(batch, rows: rows) else {
                    throw TrainingError.diverged(epoch: epoch, step: step + 1, loss: batch.lossSum / Double(rows))
                }
                if parallelStep == nil {
                    optimizer.update(parameters: network.parameters, gradients: workspace.gradients)
                }
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
