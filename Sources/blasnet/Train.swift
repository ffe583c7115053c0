import ArgumentParser
import BlasNet
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on two MNIST digits and report test accuracy and throughput.",
        discussion: """
            Defaults reproduce the original Keras script: the dense model on OpenBLAS, Glorot-uniform \
            weights, Adam (lr 0.001), batch 32, 10 epochs, reshuffled every epoch. Prints one line per \
            epoch and a summary; --json prints one JSON object instead.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var training: TrainingOptions

    @Option(help: ArgumentHelp(
        "Save the trained weights to this safetensors file (PyTorch nn.Linear names: fc1.weight …).",
        discussion: "Written atomically: a failed or interrupted save never leaves a partial file.",
        valueName: "file"))
    var save: String?

    @Flag(help: "Print one JSON object with the results instead of text.")
    var json = false

    func validate() throws {
        if let save { try validateOutputPath(save, option: "--save") }
    }

    func run() throws {
        let (train, test) = try data.load()
        let engine = training.makeEngine()
        let configuration = training.configuration
        let trainer = try Trainer(configuration: configuration, engine: engine)
        let output = TrainingOutput(json: json)
        if !json {
            print("blasnet train: \(configuration.model) model on \(engine.kind), \(engine.threadCount) thread(s); "
                  + "digits \(train.classes.0) vs \(train.classes.1): \(train.count) train, \(test.count) test; "
                  + "batch \(configuration.batchSize), \(configuration.epochs) epoch\(configuration.epochs == 1 ? "" : "s"), lr \(configuration.learningRate), "
                  + "seed \(configuration.seed)")
        }
        Interrupt.install()
        let result: TrainingResult
        do {
            result = try trainer.train(on: train, test: test, onStep: output.stepHandler,
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
        if let save {
            let metadata = TrainingMetadata(configuration: configuration, engine: engine, classes: train.classes,
                                            result: result)
            try ModelFile.save(network: trainer.network, kind: configuration.model, metadata: metadata.strings, to: save)
        }
        if json {
            print(try TrainingSummary(configuration: configuration, engine: engine, trainCount: train.count,
                                        result: result).jsonString())
        } else {
            output.printSummary(result, engine: engine, configuration: configuration)
            if let save { print("saved \(save)") }
        }
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
            print(clear + "epoch \(pad(String(report.epoch), digits))/\(report.epochs)  loss \(lossString(report.trainLoss))"
                  + "  train \(percent(report.trainAccuracy))  test \(percent(report.testAccuracy))"
                  + "  \(format(report.seconds, 3)) s  \(thousands(report.samplesPerSecond)) samples/s")
            fflush(nil)  // progress must show even when stdout is a pipe or a file
        }
    }

    func printSummary(_ result: TrainingResult, engine: ComputeEngine, configuration: TrainingConfiguration) {
        let test = result.test
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
    let train_seconds: Double
    /// Training seconds of each epoch (their sum is `train_seconds`).
    let epoch_seconds: [Double]
    let samples_per_second: Double
    let final_loss: Double
    let epoch_losses: [Double]
    let epoch_test_accuracies: [Double]

    init(configuration: TrainingConfiguration, engine: ComputeEngine, trainCount: Int, result: TrainingResult) {
        model = configuration.model.rawValue
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
        train_count = trainCount
        train_seconds = result.trainSeconds
        epoch_seconds = result.epochs.map(\.seconds)
        samples_per_second = result.samplesPerSecond
        final_loss = result.finalLoss
        epoch_losses = result.epochs.map(\.trainLoss)
        epoch_test_accuracies = result.epochs.map(\.testAccuracy)
    }

    func jsonString() throws -> String {
        try jsonLine(self)
    }
}

func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
/// Five decimals for ordinary losses, scientific notation once they shrink below 0.001.
func lossString(_ loss: Double) -> String {
    loss >= 1e-3 || loss == 0 ? String(format: "%.5f", loss) : String(format: "%.2e", loss)
}
func errorCount(_ count: Int) -> String { count == 1 ? "1 error" : "\(count) errors" }
func percent(_ fraction: Double) -> String { String(format: "%.2f%%", fraction * 100) }
func thousands(_ value: Double) -> String { String(format: "%.1fk", value / 1000) }
func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
