import ArgumentParser
import BlasNet
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on MNIST's digits (two or more) and report test accuracy and throughput.",
        discussion: """
            Defaults reproduce the original Keras script: digits 0 vs 1, the dense model (784-128-64-1) on \
            OpenBLAS, Glorot-uniform weights, Adam (lr 0.001), batch 32, 10 epochs, reshuffled every epoch. \
            Prints one line per epoch (on a terminal, a progress bar runs inside each epoch) and a summary; \
            --json prints one JSON object instead.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp(
        "Save the trained weights to this safetensors file (PyTorch nn.Linear names: fc1.weight …).",
        discussion: "Written atomically: a failed or interrupted save never leaves a partial file.",
        valueName: "file"))
    var save: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Hold out this fraction of the training set (stratified, from --seed) to validate after each epoch.",
        discussion: "The test set is then evaluated once, after training, on the kept weights.",
        valueName: "fraction"))
    var validationSplit: Double?

    @Option(help: ArgumentHelp("Weights to end with: 'last' epoch's, or 'best' validation epoch's.",
                               discussion: "'best' needs --validation-split."))
    var keep: KeptWeights = .last

    @Flag(help: "Print one JSON object with the results instead of text.")
    var json = false

    func validate() throws {
        if let save { try validateOutputPath(save, option: "--save") }
        if let validationSplit, !(validationSplit > 0 && validationSplit < 1) {
            throw ValidationError("--validation-split must be between 0 and 1, exclusive (got \(validationSplit))")
        }
        if keep == .best && validationSplit == nil {
            throw ValidationError("--keep best needs --validation-split: the best epoch is chosen on the validation set")
        }
    }

    func run() throws {
        let dataset = try data.load()
        var configuration = training.configuration
        configuration.keep = keep
        var train = dataset.train, validation: LabeledImages?
        if let validationSplit {
            (train, validation) = dataset.train.stratifiedSplit(validationFraction: validationSplit, seed: configuration.seed)
        }
        let test = dataset.test
        let engine = training.makeEngine(for: train)
        let trainer = try Trainer(configuration: configuration, engine: engine, for: train)
        let output = TrainingOutput(json: json)
        if !json {
            let sizes = trainer.network.layerSizes.map(String.init).joined(separator: "-")
            print("blasnet train: \(configuration.model) model \(sizes) on \(engine.kind), \(engine.threadCount) thread(s); "
                  + "\(classNoun(dataset)) \(labelList(train.classLabels)): \(train.count) train"
                  + (validation.map { ", \($0.count) validation" } ?? "") + ", \(test.count) test; "
                  + "batch \(configuration.batchSize), \(configuration.epochs) epoch\(configuration.epochs == 1 ? "" : "s"), lr \(configuration.learningRate), "
                  + "seed \(configuration.seed)")
        }
        Interrupt.install()
        let result: TrainingResult
        do {
            result = try trainer.train(on: train, test: test, validation: validation, onStep: output.stepHandler,
                                       onEpoch: output.epochHandler, shouldStop: { Interrupt.requested })
        } catch let error as TrainingError {
            if output.isTerminal && !json { print() }
            guard case .interrupted = error else { throw error }
            printError("blasnet: \(error); nothing was saved")
            throw Interrupt.exitCode
        }
        if Interrupt.requested {  // Ctrl-C after the last step, during the final evaluation
            printError("blasnet: interrupted after training; nothing was saved")
            throw Interrupt.exitCode
        }
        // Save, then print the results whatever the save did: a failed write must not cost the run.
        var saveError: Error?
        if let save {
            let metadata = TrainingMetadata(configuration: configuration, engine: engine,
                                            validationFraction: validationSplit ?? 0, result: result)
            do {
                try ModelFile.save(network: trainer.network, kind: configuration.model, classLabels: train.classLabels,
                                   dataset: DatasetIdentity(name: dataset.name, fingerprint: dataset.fingerprint),
                                   metadata: metadata.strings, to: save)
            } catch {
                saveError = error
            }
        }
        if json {
            print(try TrainingSummary(configuration: configuration, engine: engine, network: trainer.network,
                                      dataset: dataset, train: train, validationCount: validation?.count ?? 0,
                                      result: result).jsonString())
        } else {
            output.printSummary(result, engine: engine, configuration: configuration, validated: validation != nil)
            if let save, saveError == nil { print("saved \(save)") }
        }
        if let saveError { throw CommandFailure("the model was trained but not saved: \(saveError)") }
    }
}

/// Text output of a run: a live bar on terminals, one line per epoch, and the summary.
struct TrainingOutput {
    let json: Bool
    let isTerminal = isatty(STDOUT_FILENO) != 0

    var stepHandler: ((StepProgress) -> Void)? {
        guard !json, isTerminal else { return nil }
        return { progress in
            let every = max(1, progress.stepsPerEpoch / 50)
            guard progress.step % every == 0 || progress.step == progress.stepsPerEpoch else { return }
            let width = 30
            let filled = width * progress.step / progress.stepsPerEpoch
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            print("\r  epoch \(progress.epoch) [\(bar)] \(progress.step)/\(progress.stepsPerEpoch) loss "
                  + lossString(progress.runningLoss), terminator: "")
            fflush(nil)
        }
    }

    var epochHandler: ((EpochReport) -> Void)? {
        guard !json else { return nil }
        let clear = isTerminal ? "\r\u{1B}[K" : ""
        return { report in
            let digits = String(report.epochs).count
            let heldOut = report.validationAccuracy.map { "validation \(percent($0))" }
                ?? report.testAccuracy.map { "test \(percent($0))" } ?? ""
            print(clear + "epoch \(pad(String(report.epoch), digits))/\(report.epochs)  loss \(lossString(report.trainLoss))"
                  + "  train \(percent(report.trainAccuracy))  \(heldOut)"
                  + "  \(format(report.seconds, 3)) s  \(thousands(report.samplesPerSecond)) samples/s")
            fflush(nil)  // progress must show even when stdout is a pipe or a file
        }
    }

    func printSummary(_ result: TrainingResult, engine: ComputeEngine, configuration: TrainingConfiguration,
                      validated: Bool) {
        let test = result.test
        if validated {
            let best = result.epochs[result.keptEpoch - 1].validationAccuracy ?? 0
            print("kept the weights of epoch \(result.keptEpoch) (validation \(percent(best)))"
                  + (configuration.keep == .best ? ", the best validation epoch" : ", the last"))
        }
        print("test accuracy \(percent(test.accuracy)) (\(errorCount(test.errors)) of \(test.count)); "
              + "training \(format(result.trainSeconds, 3)) s, \(thousands(result.samplesPerSecond)) samples/s; "
              + "\(engine.threadCount) thread(s)")
        print("engine: \(engine.details); subnormals "
              + (configuration.flushesSubnormals ? "flushed to zero" : "kept (--keep-subnormals)"))
    }
}

/// The `--json` object of `train`.
struct TrainingSummary: Encodable {
    let model: String
    /// Sizes from input to output, e.g. [784, 128, 64, 1].
    let layer_sizes: [Int]
    let loss: String
    /// The data's label of each class, in class order.
    let classes: [Int]
    let dataset_name: String
    let dataset_sha256: String
    let engine: String
    let engine_details: String
    let threads: Int
    let epochs: Int
    let batch_size: Int
    let learning_rate: Float
    let seed: UInt64
    /// Whether training flushed subnormal floats to zero (`--keep-subnormals` not given).
    let flushes_subnormals: Bool
    let test_accuracy: Double
    let test_errors: Int
    let test_count: Int
    /// Training samples per epoch.
    let train_count: Int
    /// Training samples held out for validation (0: none).
    let validation_count: Int
    /// The epoch whose weights were kept.
    let kept_epoch: Int
    let train_seconds: Double
    /// Training seconds of each epoch (their sum is `train_seconds`).
    let epoch_seconds: [Double]
    let samples_per_second: Double
    let final_loss: Double
    let epoch_losses: [Double]
    /// Empty with a validation set (the test set is then evaluated once).
    let epoch_test_accuracies: [Double]
    /// Empty without a validation set.
    let epoch_validation_accuracies: [Double]

    init(configuration: TrainingConfiguration, engine: ComputeEngine, network: Network, dataset: LoadedDataset,
         train: LabeledImages, validationCount: Int, result: TrainingResult) {
        model = configuration.model.rawValue
        layer_sizes = network.layerSizes
        loss = network.loss.kind.rawValue
        classes = train.classLabels
        dataset_name = dataset.name
        dataset_sha256 = dataset.fingerprint
        self.engine = engine.kind.rawValue
        engine_details = engine.details
        threads = engine.threadCount
        epochs = configuration.epochs
        batch_size = configuration.batchSize
        learning_rate = configuration.learningRate
        seed = configuration.seed
        flushes_subnormals = configuration.flushesSubnormals
        test_accuracy = result.test.accuracy
        test_errors = result.test.errors
        test_count = result.test.count
        train_count = train.count
        validation_count = validationCount
        kept_epoch = result.keptEpoch
        train_seconds = result.trainSeconds
        epoch_seconds = result.epochs.map(\.seconds)
        samples_per_second = result.samplesPerSecond
        final_loss = result.finalLoss
        epoch_losses = result.epochs.map(\.trainLoss)
        epoch_test_accuracies = result.epochs.compactMap(\.testAccuracy)
        epoch_validation_accuracies = result.epochs.compactMap(\.validationAccuracy)
    }

    func jsonString() throws -> String {
        try jsonLine(self)
    }
}

func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
/// One format for every loss, so a column of them lines up as it shrinks: 1.697e-02, 1.060e-04.
func lossString(_ loss: Double) -> String {
    String(format: "%.3e", loss)
}
func errorCount(_ count: Int) -> String { count == 1 ? "1 error" : "\(count) errors" }
func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }
func thousands(_ value: Double) -> String { String(format: "%.1fk", value / 1000) }
func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
