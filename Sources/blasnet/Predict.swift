import ArgumentParser
import BlasNet
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a saved model: IDX image files (every image) or binary PGM (P5) 28×28 files.",
        discussion: """
            Pixels are scaled as in training (sample ÷ maximum, so 0…1). Prints, per image, the \
            probability of the model's second digit and the predicted digit.
            """)

    @Option(name: .customLong("model"), help: ArgumentHelp("The safetensors file `blasnet train --save` wrote.",
                                                           valueName: "file"))
    var modelPath: String

    @Argument(help: ArgumentHelp("IDX image files or PGM (P5) files.", valueName: "input"))
    var inputs: [String]

    @Flag(help: "Print one JSON array instead of text.")
    var json = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file (IDX images or PGM)") }
        if modelPath.isEmpty { throw ValidationError("--model must not be empty") }
    }

    struct Prediction: Encodable {
        let file: String
        let index: Int
        let probability: Float
        let digit: Int
    }

    func run() throws {
        let model = try ModelFile.load(modelPath)
        let training = TrainingMetadata(strings: model.metadata)
        let digits = training?.classes ?? (0, 1)
        let engine = makeEngine(training?.engine ?? model.kind.defaultEngine, threads: 1)
        let workspace = NetworkWorkspace(network: model.network, capacity: NetworkWorkspace.evaluationCapacity)
        var predictions: [Prediction] = []
        for path in inputs {
            let pixels = try DigitImageFile.read(at: path)
            let count = pixels.count / LabeledImages.pixelCount
            let images = LabeledImages(images: pixels, labels: [Float](repeating: 0, count: count), classes: digits)
            let probabilities = BlasNet.evaluate(model.network, on: images, engine: engine, workspace: workspace).probabilities
            for (index, probability) in probabilities.enumerated() {
                predictions.append(Prediction(file: path, index: index, probability: probability,
                                              digit: probability > 0.5 ? digits.1 : digits.0))
            }
        }
        if json {
            print(try jsonLine(predictions))
        } else {
            for prediction in predictions {
                print("\(prediction.file)[\(prediction.index)]: P(\(digits.1)) = "
                      + String(format: "%.4f", prediction.probability) + " → \(prediction.digit)")
            }
        }
    }
}
