import ArgumentParser
import BlasNet
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write pictures of both models: a predictions grid and their training curves (PNG).",
        discussion: """
            Trains the dense model on OpenBLAS and the sigmoid model on pure Swift (or loads them with \
            --dense / --sigmoid), then writes DIR/predictions.png — at least 64 test digits, each titled \
            with its label and both models' predictions, every misclassified image included and marked \
            red, disagreements marked orange — and DIR/training-curves.png — loss and test accuracy per \
            epoch for both models.
            """)

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("Directory for the pictures (created if missing).", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("Use this saved dense model instead of training one.", valueName: "file"))
    var dense: String?

    @Option(help: ArgumentHelp("Use this saved sigmoid model instead of training one.", valueName: "file"))
    var sigmoid: String?

    @Option(help: "Epochs for the models trained here.")
    var epochs: Int = 10

    @Option(help: "Seed for the models trained here.")
    var seed: UInt64 = TrainingConfiguration.defaultSeed

    @Option(help: "Test digits in the grid (the misclassified are always added).")
    var cells: Int = 64

    @Flag(help: "Also save the models trained here as DIR/dense.safetensors and DIR/sigmoid.safetensors.")
    var saveModels = false

    func validate() throws {
        if out.isEmpty { throw ValidationError("--out must not be empty") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1 (got \(epochs))") }
        if cells < 1 || cells > 1024 { throw ValidationError("--cells must be within 1…1024 (got \(cells))") }
    }

    /// A model ready for the pictures: its test probabilities and its curves.
    struct ModelResult {
        let name: String
        let probabilities: [Float]
        let series: TrainingSeries
        /// A model trained here, to be saved once everything has succeeded (with --save-models).
        var save: (() throws -> Void)? = nil
    }

    func run() throws {
        let (train, test) = try data.load()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        Interrupt.install()
        let denseResult = try model(.dense, engine: .blas, file: dense, train: train, test: test)
        let sigmoidResult = try model(.sigmoid, engine: .swift, file: sigmoid, train: train, test: test)
        if Interrupt.requested {
            printError("blasnet: interrupted; no pictures or models written")
            throw Interrupt.exitCode
        }
        try denseResult.save?()
        try sigmoidResult.save?()

        let labels = test.labels.map { Int($0) }
        var mustShow: [Int] = []
        for index in 0..<test.count {
            let denseClass = denseResult.probabilities[index] > 0.5 ? 1 : 0
            let sigmoidClass = sigmoidResult.probabilities[index] > 0.5 ? 1 : 0
            if denseClass != labels[index] || sigmoidClass != labels[index] { mustShow.append(index) }
        }
        let indices = gridSelection(total: test.count, mustShow: mustShow, count: cells)
        let grid = PredictionGrid.render(images: test.images, labels: labels, denseProbabilities: denseResult.probabilities,
                                         sigmoidProbabilities: sigmoidResult.probabilities, indices: indices)
        let gridPath = (out as NSString).appendingPathComponent("predictions.png")
        try grid.writePNG(to: gridPath)
        let curves = TrainingCurves.render(series: [denseResult.series, sigmoidResult.series])
        let curvesPath = (out as NSString).appendingPathComponent("training-curves.png")
        try curves.writePNG(to: curvesPath)
        print("wrote \(gridPath) (\(indices.count) digits, \(mustShow.count) misclassified by either model) "
              + "and \(curvesPath)")
    }

    private func model(_ kind: ModelKind, engine kindOfEngine: EngineKind, file: String?, train: LabeledImages,
                       test: LabeledImages) throws -> ModelResult {
        let engine = makeEngine(kindOfEngine, threads: ThreadPolicy.resolve(requested: 2).threads)
        let name = "\(kind) (\(kindOfEngine))"
        if let file {
            let loaded = try ModelFile.load(file)
            guard loaded.kind == kind else {
                throw ValidationError("--\(kind) \(file) holds a \(loaded.kind) model")
            }
            let metadata = TrainingMetadata(strings: loaded.metadata)
            if let classes = metadata?.classes, classes != train.classes {
                throw ValidationError("--\(kind) \(file) separates digits \(classes.0) and \(classes.1), "
                                      + "but --classes is \(train.classes.0),\(train.classes.1)")
            }
            let evaluation = BlasNet.evaluate(loaded.network, on: test, engine: engine,
                                              workspace: NetworkWorkspace(network: loaded.network, capacity: NetworkWorkspace.evaluationCapacity))
            return ModelResult(name: name, probabilities: evaluation.probabilities,
                               series: TrainingSeries(name: name, losses: metadata?.epochLosses ?? [],
                                                      testAccuracies: metadata?.epochTestAccuracies ?? []))
        }
        printError("… training the \(kind) model on \(kindOfEngine) (\(epochs) epochs)")
        let configuration = TrainingConfiguration(model: kind, epochs: epochs, seed: seed)
        let trainer = try Trainer(configuration: configuration, engine: engine)
        let result: TrainingResult
        do {
            result = try trainer.train(on: train, test: test, shouldStop: { Interrupt.requested })
        } catch TrainingError.interrupted(let epoch, let step) {
            printError("blasnet: interrupted at epoch \(epoch), step \(step); no pictures or models written")
            throw Interrupt.exitCode
        }
        var modelResult = ModelResult(name: name, probabilities: result.test.probabilities,
                                      series: TrainingSeries(name: name, losses: result.epochs.map(\.trainLoss),
                                                             testAccuracies: result.epochs.map(\.testAccuracy)))
        if saveModels {
            let path = (out as NSString).appendingPathComponent("\(kind).safetensors")
            let metadata = TrainingMetadata(configuration: configuration, engine: engine, classes: train.classes, result: result)
            let network = trainer.network
            modelResult.save = { try ModelFile.save(network: network, kind: kind, metadata: metadata.strings, to: path) }
        }
        return modelResult
    }
}
