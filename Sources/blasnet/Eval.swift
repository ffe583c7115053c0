import ArgumentParser
import BlasNet
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model on the test set: accuracy, errors, confusion matrix, mean loss.",
        discussion: """
            Runs the forward pass on the engine and thread count the model was trained with (from its \
            metadata), so the accuracy matches what `blasnet train` reported to the last digit. The \
            digits come from the model's metadata unless --classes is given.
            """)

    @Option(name: .customLong("model"), help: ArgumentHelp("The safetensors file `blasnet train --save` wrote.",
                                                           valueName: "file"))
    var modelPath: String

    @OptionGroup var data: DataDirectoryOption

    @Option(help: ArgumentHelp("Two digits A,B; default: the model's own.", valueName: "A,B"))
    var classes: String?

    @Option(help: "Engine for the forward pass; default: the one the model was trained on.")
    var engine: EngineKind?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if let classes {
            do { _ = try MNISTDataset.parseClasses(classes) } catch { throw ValidationError("--classes: \(error)") }
        }
        if modelPath.isEmpty { throw ValidationError("--model must not be empty") }
    }

    func run() throws {
        let model = try ModelFile.load(modelPath)
        let training = TrainingMetadata(strings: model.metadata)
        let digits = try classes.map(MNISTDataset.parseClasses) ?? training?.classes ?? (0, 1)
        let test = try MNISTDataset.loadPair(directory: data.directory,
                                             images: MNISTDataset.testImages, labels: MNISTDataset.testLabels,
                                             classes: digits)
        let engineKind = engine ?? training?.engine ?? model.kind.defaultEngine
        let threads = ThreadPolicy.resolve(requested: training?.threads ?? 1).threads
        let forwardEngine = makeEngine(engineKind, threads: threads)
        let evaluation = BlasNet.evaluate(model.network, on: test, engine: forwardEngine,
                                          workspace: NetworkWorkspace(network: model.network, capacity: NetworkWorkspace.evaluationCapacity))
        let misclassified = evaluation.misclassified.map { test.sourceIndices[$0] }
        if json {
            struct Output: Encodable {
                let model: String, file: String, engine: String, threads: Int, classes: [Int]
                let test_accuracy: Double, test_errors: Int, test_count: Int, mean_loss: Double
                let confusion: [[Int]], misclassified_test_indices: [Int], trained_test_accuracy: Double?
            }
            let output = Output(model: model.kind.rawValue, file: modelPath, engine: engineKind.rawValue, threads: threads,
                                classes: [digits.0, digits.1], test_accuracy: evaluation.accuracy,
                                test_errors: evaluation.errors, test_count: evaluation.count,
                                mean_loss: evaluation.meanLoss, confusion: evaluation.confusion,
                                misclassified_test_indices: misclassified, trained_test_accuracy: training?.testAccuracy)
            print(try jsonLine(output))
            return
        }
        print("\(modelPath): \(model.kind) model, digits \(digits.0) vs \(digits.1), forward on \(engineKind) (\(threads) thread(s))")
        print("test accuracy \(percent(evaluation.accuracy)) (\(errorCount(evaluation.errors)) of \(evaluation.count)); "
              + "mean loss \(lossString(evaluation.meanLoss))")
        if let training {
            print("accuracy when trained: \(percent(training.testAccuracy)) (\(errorCount(training.testErrors)))"
                  + (training.testAccuracy == evaluation.accuracy ? " — identical" : " — DIFFERENT"))
        }
        let width = max(6, String(evaluation.count).count)
        print("confusion (rows: actual, columns: predicted)")
        print("        " + pad("\(digits.0)", width) + "  " + pad("\(digits.1)", width))
        for (row, digit) in [digits.0, digits.1].enumerated() {
            print("  \(digit)     " + evaluation.confusion[row].map { pad("\($0)", width) }.joined(separator: "  "))
        }
        print("misclassified test images (index in \(MNISTDataset.testImages)): "
              + (misclassified.isEmpty ? "none" : misclassified.map(String.init).joined(separator: ", ")))
    }
}
