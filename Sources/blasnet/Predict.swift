import ArgumentParser
import BlasNet
import BlasNetPictures
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a saved model: PNG pictures, IDX image files (every image) or PGM (P5) 28×28 files.",
        discussion: """
            PNG files (8/16-bit grey, RGB, RGBA, palette; any size) are prepared the way MNIST's digits were: \
            made grey (transparency over white), inverted when the picture is dark ink on light paper, the \
            ink's bounding box fitted into 20×20 keeping its aspect ratio and placed in 28×28 with its centre \
            of mass at the centre; --no-preprocess feeds a PNG of the model's size as it is (white = 1). IDX \
            and PGM pixels are scaled as in training (sample ÷ maximum, so 0…1). Prints the classes the model \
            knows, then per image the predicted label and its probability (--top N: the N most likely \
            labels). A directory stands for the files in it. A file that cannot be read gets its error line \
            and the others are still answered; the exit status is then 1.
            """)

    @Option(name: .customLong("model"), help: ArgumentHelp("The safetensors file `blasnet train --save` wrote.",
                                                           valueName: "file"))
    var modelPath: String

    @Argument(help: ArgumentHelp("PNG, IDX image or PGM (P5) files, or directories of them.", valueName: "input"))
    var inputs: [String]

    @Flag(help: "Feed PNG pixels as they are (grey, white = 1), without MNIST's inversion, fitting and centring.")
    var noPreprocess = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Show the N most likely labels of each image (models of 3 or more classes).",
                               valueName: "N"))
    var top: Int = 1

    @Flag(help: "Print one JSON array instead of text.")
    var json = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file (PNG, IDX images or PGM)") }
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
        /// For a prepared PNG: whether it was inverted (dark ink on light).
        let inverted: Bool?
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
        var failures = 0
        let files = Self.expandingDirectories(inputs)
        guard !files.isEmpty else { throw CommandFailure("no input files: \(inputs.joined(separator: ", ")) holds none") }
        for path in files {
            let pixels: [Float], inverted: Bool?
            do {
                (pixels, inverted) = try readImages(at: path, side: side)
            } catch {
                printError("blasnet: \(error)")
                failures += 1
                continue
            }
            let result = try model.network.predict(pixels, engine: engine)
            for index in result.classes.indices {
                let row = Array(result.probabilities[(index * result.classCount)..<((index + 1) * result.classCount)])
                let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
                let best = result.classes[index]
                predictions.append(Prediction(
                    file: path, index: index, label: labels[best], probability: row[best],
                    top: order.prefix(shown).map { .init(label: labels[$0], probability: row[$0]) }, inverted: inverted))
            }
        }
        defer { if failures > 0 { printError("blasnet: \(failures) of \(files.count) input files could not be read") } }
        if json {
            print(try jsonLine(predictions))
            if failures > 0 { throw ExitCode(1) }
            return
        }
        print("\(modelPath) knows \(labels.count) classes: \(labelList(labels))")
        for prediction in predictions {
            let prepared = prediction.inverted.map { $0 ? " [prepared as MNIST: inverted dark-on-light, fitted, centred]"
                                                        : " [prepared as MNIST: fitted, centred]" } ?? ""
            let answer = "\(prediction.file)[\(prediction.index)]: \(prediction.label) (P = "
                + String(format: "%.4f", prediction.probability) + ")" + prepared
            if shown > 1 {
                print(answer + "; top \(shown): " + prediction.top.map { "\($0.label) " + String(format: "%.4f", $0.probability) }
                    .joined(separator: ", "))
            } else {
                print(answer)
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// The images of one input file as [N, side·side] pixels, and for a prepared PNG whether it was inverted.
    private func readImages(at path: String, side: Int) throws -> (pixels: [Float], inverted: Bool?) {
        let data = try IDXReader.readFile(path)
        if data.starts(with: PNGReader.signature) {
            let image = try PNGReader.read(data, path: path)
            if noPreprocess {
                guard image.width == side, image.height == side else {
                    throw CommandFailure("\(path): a \(image.width)×\(image.height) PNG; with --no-preprocess the model takes \(side)×\(side)")
                }
                return (image.luminance, nil)
            }
            guard side == DigitPreparation.fieldSide else {
                throw CommandFailure("\(path): MNIST preparation makes 28×28 digits, the model takes \(side)×\(side); use --no-preprocess")
            }
            let prepared = DigitPreparation.prepare(luminance: image.luminance, width: image.width, height: image.height)
            return (prepared.pixels, prepared.inverted)
        }
        if let format = Self.unsupportedFormat(data) {
            throw CommandFailure("\(path): \(format) is not supported; convert it to PNG")
        }
        do {
            return (try DigitImageFile.read(data, path: path, rows: side, columns: side), nil)
        } catch DigitImageFile.FormatError.unknownFormat {
            throw CommandFailure("\(path): not a PNG, an IDX image file (magic 2051) or a binary PGM (P5) image")
        }
    }

    /// `inputs` with each directory replaced by the files in it (sorted by name, hidden files left out).
    static func expandingDirectories(_ inputs: [String]) -> [String] {
        inputs.flatMap { input -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: input) else { return [input] }
            return names.filter { !$0.hasPrefix(".") }.sorted().map { (input as NSString).appendingPathComponent($0) }
        }
    }

    /// The name of a picture format people try that predict does not read, from its first bytes.
    static func unsupportedFormat(_ data: Data) -> String? {
        let bytes = [UInt8](data.prefix(12))
        func starts(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
        if starts([0xFF, 0xD8, 0xFF]) { return "JPEG" }
        if starts(Array("GIF8".utf8)) { return "GIF" }
        if starts(Array("BM".utf8)) { return "BMP" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if starts(Array("RIFF".utf8)) && bytes.count >= 12 && Array(bytes[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        return nil
    }
}
