import ArgumentParser
import BlasNet
import BlasNetPictures
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write pictures of both models: a predictions grid and their training curves (PNG or SVG).",
        discussion: """
            Trains the dense model on OpenBLAS and the sigmoid model on pure Swift (or loads them with \
            --dense / --sigmoid), then writes DIR/predictions.png — --cells test digits, each captioned \
            with its label and both models' predicted digit and ŷ = P(second digit); mistakes come first \
            and are framed red, disagreements ringed orange — and DIR/training-curves.png — training loss \
            (log scale) and test accuracy per epoch for both models. With three or more classes it also             writes DIR/confusion-matrix.png: both models' test confusion matrices, true label by predicted             label. --format svg writes .svg files instead.
            """)

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("Directory for the pictures (created if missing).", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("Use this saved dense model instead of training one.", valueName: "file"))
    var dense: String?

    @Option(help: ArgumentHelp("Use this saved sigmoid model instead of training one.", valueName: "file"))
    var sigmoid: String?

    @Option(parsing: .unconditional, help: "Epochs for the models trained here.")
    var epochs: Int = 10

    @Option(parsing: .unconditional, help: "Seed for the models trained here.")
    var seed: UInt64 = TrainingConfiguration.defaultSeed

    @Option(parsing: .unconditional, help: ArgumentHelp("Test digits in the grid: mistakes first, then correct ones spread over the set. "
                               + "Never exceeded: if there are more mistakes, the grid says how many it leaves out."))
    var cells: Int = 64

    @Option(help: ArgumentHelp("File format of the pictures: png or svg.", valueName: "format"))
    var format: PictureFormat = .png

    @Flag(help: "Also save the models trained here as DIR/dense.safetensors and DIR/sigmoid.safetensors.")
    var saveModels = false

    func validate() throws {
        try validateOutputDirectory(out, option: "--out")
        if epochs < 1 { throw ValidationError("--epochs must be at least 1 (got \(epochs))") }
        if cells < 1 || cells > 1024 { throw ValidationError("--cells must be within 1…1024 (got \(cells))") }
    }

    /// A model ready for the pictures: its test probabilities and its curves.
    struct ModelResult {
        let name: String
        /// The model's short name in the grid's captions.
        let key: String
        /// The model on the test set.
        let evaluation: Evaluation
        let series: TrainingSeries
        /// A model trained here, to be saved once everything has succeeded (with --save-models).
        var save: (() throws -> Void)? = nil
    }

    func run() throws {
        let dataset = try data.load()
        let createdOut = !FileManager.default.fileExists(atPath: out)
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("--out \(out): cannot create the directory: \(fileErrorReason(error))")
        }
        do {
            try writePictures(dataset: dataset)
        } catch {
            // An interrupted or failed report leaves no empty directory behind.
            if createdOut, (try? FileManager.default.contentsOfDirectory(atPath: out))?.isEmpty == true {
                try? FileManager.default.removeItem(atPath: out)
            }
            throw error
        }
    }

    private func writePictures(dataset: LoadedDataset) throws {
        let (train, test) = (dataset.train, dataset.test)
        Interrupt.install()
        let denseResult = try model(.dense, engine: .blas, file: dense, dataset: dataset)
        let sigmoidResult = try model(.sigmoid, engine: .swift, file: sigmoid, dataset: dataset)
        if Interrupt.requested {
            printError("blasnet: interrupted; no pictures or models written")
            throw Interrupt.exitCode
        }
        try denseResult.save?()
        try sigmoidResult.save?()

        // Captions show the data's labels, not class indices. Two classes: ŷ = P(second class), as the
        // sigmoid gives it; more: ŷ = the probability of the predicted class.
        let classLabels = train.classLabels
        let binary = classLabels.count == 2
        let labels = test.labels.map { classLabels[$0] }
        let models = [denseResult, sigmoidResult].map { result in
            PredictionGrid.Model(name: result.name, key: result.key,
                                 predictions: result.evaluation.predictions.map { classLabels[$0] },
                                 scores: binary ? (0..<test.count).map { result.evaluation.probability(sample: $0, class: 1) }
                                     : result.evaluation.confidences)
        }
        let noun = classNoun(dataset)
        let selection = PredictionGrid.select(labels: labels, models: models, cells: cells)
        let gridPicture = try PredictionGrid.render(
            images: test.images, imageWidth: dataset.imageColumns, imageHeight: dataset.imageRows, labels: labels,
            models: models, selection: selection,
            title: "\(dataset.name == "mnist" ? "MNIST" : dataset.name) test \(noun) \(labelList(classLabels)): predictions of two networks",
            scoreMeaning: binary ? "ŷ = P(\(noun == "digits" ? "digit" : "label") \(classLabels[1]))" : "ŷ = P(predicted)",
            format: format)
        let curves = try TrainingCurves.render(series: [denseResult.series, sigmoidResult.series], format: format)
        let matrix = binary ? nil : try ConfusionMatrixChart.render(
            classLabels: classLabels.map(String.init),
            models: [denseResult, sigmoidResult].map { ConfusionMatrixChart.Model(name: $0.name, counts: $0.evaluation.confusion) },
            title: "Confusion matrices on the \(dataset.name == "mnist" ? "MNIST" : dataset.name) test set", format: format)
        let gridPath = (out as NSString).appendingPathComponent("predictions.\(format.fileExtension)")
        let curvesPath = (out as NSString).appendingPathComponent("training-curves.\(format.fileExtension)")
        let matrixPath = (out as NSString).appendingPathComponent("confusion-matrix.\(format.fileExtension)")
        try AtomicFile.write(gridPicture.data, to: gridPath)
        try AtomicFile.write(curves.data, to: curvesPath)
        if let matrix { try AtomicFile.write(matrix.data, to: matrixPath) }
        let grid = "\(gridPath) (\(selection.indices.count) \(noun == "digits" ? "digits" : "images"); \(selection.subtitle))"
        print(matrix == nil ? "wrote \(grid) and \(curvesPath)" : "wrote \(grid), \(curvesPath) and \(matrixPath)")
    }

    private func model(_ kind: ModelKind, engine kindOfEngine: EngineKind, file: String?,
                       dataset: LoadedDataset) throws -> ModelResult {
        let (train, test) = (dataset.train, dataset.test)
        let engine = makeEngine(kindOfEngine, threads: ThreadDefaults.threads(
            batchSize: TrainingConfiguration().batchSize, for: train, hiddenLayers: TrainingConfiguration().hiddenLayers,
            engine: kindOfEngine))
        let name = "\(kind) on \(kindOfEngine == .blas ? "OpenBLAS" : "Swift")"
        if let file {
            let loaded = try ModelFile.load(file)
            guard loaded.kind == kind else {
                throw ValidationError("--\(kind) \(file) holds a \(loaded.kind) model")
            }
            let metadata = TrainingMetadata(strings: loaded.metadata)
            try checkModelMatches(loaded, dataset: dataset, modelPath: file, allowMismatch: false)
            let evaluation = BlasNet.evaluate(loaded.network, on: test, engine: engine,
                                              workspace: NetworkWorkspace(network: loaded.network, capacity: NetworkWorkspace.evaluationCapacity))
            return ModelResult(name: name, key: kind.rawValue, evaluation: evaluation,
                               series: TrainingSeries(name: name, losses: metadata?.epochLosses ?? [],
                                                      testAccuracies: metadata?.epochTestAccuracies ?? []))
        }
        printError("… training the \(kind) model on \(kindOfEngine) (\(epochs) epoch\(epochs == 1 ? "" : "s"))")
        let configuration = TrainingConfiguration(model: kind, epochs: epochs, seed: seed)
        let trainer = try Trainer(configuration: configuration, engine: engine, for: train)
        let result: TrainingResult
        do {
            result = try trainer.train(on: train, test: test, shouldStop: { Interrupt.requested })
        } catch TrainingError.interrupted(let epoch, let step) {
            printError("blasnet: interrupted at epoch \(epoch), step \(step); no pictures or models written")
            throw Interrupt.exitCode
        }
        var modelResult = ModelResult(name: name, key: kind.rawValue, evaluation: result.test,
                                      series: TrainingSeries(name: name, losses: result.epochs.map(\.trainLoss),
                                                             testAccuracies: result.epochs.compactMap(\.testAccuracy)))
        if saveModels {
            let path = (out as NSString).appendingPathComponent("\(kind).safetensors")
            let metadata = TrainingMetadata(configuration: configuration, engine: engine, result: result)
            let network = trainer.network
            let identity = DatasetIdentity(name: dataset.name, fingerprint: dataset.fingerprint)
            modelResult.save = {
                try ModelFile.save(network: network, kind: kind, classLabels: train.classLabels, dataset: identity,
                                   metadata: metadata.strings, to: path)
            }
        }
        return modelResult
    }
}

extension PictureFormat: ExpressibleByArgument {}
