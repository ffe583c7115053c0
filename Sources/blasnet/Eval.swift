import ArgumentParser
import BlasNet
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved model on the test set: accuracy, confusion matrix, precision and recall.",
        discussion: """
            Runs the forward pass on the engine and thread count the model was trained with (from its \
            metadata), so the accuracy matches what `blasnet train` reported to the last digit. The \
            classes come from the model. A data set other than the one the model was trained on (told by \
            the files' SHA-256), or --classes other than the model's, is refused unless --allow-mismatch.
            """)

    @Option(name: .customLong("model"), help: ArgumentHelp("The safetensors file `blasnet train --save` wrote.",
                                                           valueName: "file"))
    var modelPath: String

    @OptionGroup var data: DataDirectoryOption

    @Option(help: ArgumentHelp("The classes to score, as in train; default: the model's own.",
                               valueName: "all|A,B[,C…]"))
    var classes: String?

    @Flag(help: "Evaluate even when the data set or the classes differ from the model's.")
    var allowMismatch = false

    @Option(help: "Engine for the forward pass; default: the one the model was trained on.")
    var engine: EngineKind?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if let classes {
            do { _ = try ClassSelection(parsing: classes) } catch { throw ValidationError("--classes: \(error)") }
        }
        if modelPath.isEmpty { throw ValidationError("--model must not be empty") }
    }

    func run() throws {
        let model = try ModelFile.load(modelPath)
        let training = TrainingMetadata(strings: model.metadata)
        let selection = try classes.map { try ClassSelection(parsing: $0) } ?? .labels(model.classLabels)
        let dataset = try MNISTDataset.load(directory: data.directory, classes: selection)
        try checkModelMatches(model, dataset: dataset, modelPath: modelPath, allowMismatch: allowMismatch)
        let test = dataset.test
        let engineKind = engine ?? training?.engine ?? model.kind.defaultEngine
        let threads = ThreadPolicy.resolve(requested: training?.threads ?? 1).threads
        let forwardEngine = makeEngine(engineKind, threads: threads)
        let evaluation = BlasNet.evaluate(model.network, on: test, engine: forwardEngine,
                                          workspace: NetworkWorkspace(network: model.network, capacity: NetworkWorkspace.evaluationCapacity))
        let misclassified = evaluation.misclassified.map { test.sourceIndices[$0] }
        let labels = test.classLabels
        if json {
            struct Output: Encodable {
                let model: String, file: String, engine: String, threads: Int, classes: [Int]
                let dataset_name: String, dataset_sha256: String
                let test_accuracy: Double, test_errors: Int, test_count: Int, mean_loss: Double
                let confusion: [[Int]], precision: [Double?], recall: [Double?]
                let misclassified_test_indices: [Int], trained_test_accuracy: Double?
            }
            let output = Output(model: model.kind.rawValue, file: modelPath, engine: engineKind.rawValue, threads: threads,
                                classes: labels, dataset_name: dataset.name, dataset_sha256: dataset.fingerprint,
                                test_accuracy: evaluation.accuracy,
                                test_errors: evaluation.errors, test_count: evaluation.count,
                                mean_loss: evaluation.meanLoss, confusion: evaluation.confusion,
                                precision: labels.indices.map { evaluation.precision(of: $0) },
                                recall: labels.indices.map { evaluation.recall(of: $0) },
                                misclassified_test_indices: misclassified, trained_test_accuracy: training?.testAccuracy)
            print(try jsonLine(output))
            return
        }
        print("\(modelPath): \(model.kind) model, \(classNoun(dataset)) \(labelList(labels)), "
              + "forward on \(engineKind) (\(threads) thread(s))")
        print("test accuracy \(percent(evaluation.accuracy)) (\(errorCount(evaluation.errors)) of \(evaluation.count)); "
              + "mean loss \(lossString(evaluation.meanLoss))")
        if let training {
            print("accuracy when trained: \(percent(training.testAccuracy)) (\(errorCount(training.testErrors)))"
                  + (training.testAccuracy == evaluation.accuracy ? " — identical" : " — DIFFERENT"))
        }
        printConfusion(evaluation, labels: labels)
        print("misclassified test images (index in \(MNISTDataset.testImages)): "
              + (misclassified.isEmpty ? "none" : misclassified.map(String.init).joined(separator: ", ")))
    }

    /// The K×K matrix with each class's recall at the end of its row and precision under its column.
    private func printConfusion(_ evaluation: Evaluation, labels: [Int]) {
        let width = max(6, String(evaluation.count).count)
        func share(_ value: Double?) -> String { pad(value.map { String(format: "%.1f%%", $0 * 100) } ?? "–", width) }
        let labelWidth = max(9, labels.map { String($0).count }.max() ?? 1)
        print("confusion (rows: actual, columns: predicted)")
        print(pad("", labelWidth) + "  " + labels.map { pad("\($0)", width) }.joined(separator: "  ") + "  " + pad("recall", width))
        for (row, label) in labels.enumerated() {
            print(pad("\(label)", labelWidth) + "  " + evaluation.confusion[row].map { pad("\($0)", width) }.joined(separator: "  ")
                  + "  " + share(evaluation.recall(of: row)))
        }
        print(pad("precision", labelWidth) + "  " + labels.indices.map { share(evaluation.precision(of: $0)) }.joined(separator: "  "))
    }
}

/// Refuses a data set or class list other than the model's (unless `allowMismatch`), naming both; a
/// different number of classes is refused always (the network has one output per class).
func checkModelMatches(_ model: LoadedModel, dataset: LoadedDataset, modelPath: String, allowMismatch: Bool) throws {
    let labels = dataset.test.classLabels
    guard labels.count == model.classLabels.count else {
        throw ValidationError("\(modelPath) tells apart \(model.classLabels.count) classes (\(labelList(model.classLabels))); "
                              + "--classes gives \(labels.count) (\(labelList(labels)))")
    }
    if allowMismatch { return }
    if labels != model.classLabels {
        throw ValidationError("\(modelPath) was trained on classes \(labelList(model.classLabels)), not "
                              + "\(labelList(labels)); pass --allow-mismatch to score it anyway")
    }
    if let trained = model.dataset, trained.fingerprint != dataset.fingerprint {
        throw ValidationError("\(modelPath) was trained on data set '\(trained.name)' (SHA-256 \(trained.fingerprint.prefix(12))…), "
                              + "not '\(dataset.name)' (\(dataset.fingerprint.prefix(12))…); pass --allow-mismatch to score it anyway")
    }
}
