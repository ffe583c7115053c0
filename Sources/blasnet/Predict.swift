import ArgumentParser
import BlasNet
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a saved model: IDX image files (every image) or binary PGM (P5) 28×28 files.",
        discussion: """
            Pixels are scaled as in training (sample ÷ maximum, so 0…1). Prints the classes the model knows, \
            then per image the predicted label and its probability (--top N: the N most likely labels).
            """)

    @Option(name: .customLong("model"), help: ArgumentHelp("The safetensors file `blasnet train --save` wrote.",
                                                           valueName: "file"))
    var modelPath: String

    @Argument(help: ArgumentHelp("IDX image files or PGM (P5) files.", valueName: "input"))
    var inputs: [String]

    @Option(parsing: .unconditional, help: ArgumentHelp("Show the N most likely labels of each image (models of 3 or more classes).",
                               valueName: "N"))
    var top: Int = 1

    @Flag(help: "Print one JSON array instead of text.")
    var json = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file (IDX images or PGM)") }
        if modelPath.isEmpty { throw ValidationError("--model must not be empty") }
        if top < 1 { throw ValidationError("--top must be at least 1 (got \(top))") }
    }

    struct Prediction: Encodable {
        struct Candidate: Encodable {
            let label: Int
            let probability: Float
        }
        let file: String
        let index: Int
        let label: Int
        let probability: Float
        /// The `--top` most likely labels, most likely first.
        let top: [Candidate]
    }

    func run() throws {
        let model = try ModelFile.load(modelPath)
        let labels = model.classLabels
        guard top == 1 || labels.count >= 3 else {
            throw ValidationError("--top needs a model of 3 or more classes; \(modelPath) knows \(labelList(labels))")
        }
        let shown = min(top, labels.count)
        let training = TrainingMetadata(strings: model.metadata)
        let engine = makeEngine(training?.engine ?? model.kind.defaultEngine, threads: 1)
        let side = Int(Double(model.network.inputSize).squareRoot())
        guard side * side == model.network.inputSize else {
            throw ValidationError("\(modelPath) takes \(model.network.inputSize) features, not a square image")
        }
        var predictions: [Prediction] = []
        for path in inputs {
            let pixels = try DigitImageFile.read(at: path, rows: side, columns: side)
            let result = try model.network.predict(pixels, engine: engine)
            for index in result.classes.indices {
                let row = Array(result.probabilities[(index * result.classCount)..<((index + 1) * result.classCount)])
                let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
                let best = result.classes[index]
                predictions.append(Prediction(
                    file: path, index: index, label: labels[best], probability: row[best],
                    top: order.prefix(shown).map { .init(label: labels[$0], probability: row[$0]) }))
            }
        }
        if json {
            print(try jsonLine(predictions))
            return
        }
        print("\(modelPath) knows \(labels.count) classes: \(labelList(labels))")
        for prediction in predictions {
            let answer = "\(prediction.file)[\(prediction.index)]: \(prediction.label) (P = "
                + String(format: "%.4f", prediction.probability) + ")"
            if shown > 1 {
                print(answer + "; top \(shown): " + prediction.top.map { "\($0.label) " + String(format: "%.4f", $0.probability) }
                    .joined(separator: ", "))
            } else {
                print(answer)
            }
        }
    }
}
