import ArgumentParser
import BlasNet
import Foundation

extension ModelKind: ExpressibleByArgument {}
extension EngineKind: ExpressibleByArgument {}
extension KeptWeights: ExpressibleByArgument {}

/// Where the MNIST files are: shared by every command that reads the data set.
struct DataDirectoryOption: ParsableArguments {
    @Option(help: ArgumentHelp("Directory holding the four uncompressed MNIST IDX files.",
                               discussion: "Default: $BLASNET_DATA_DIR, else data/mnist.",
                               valueName: "dir"))
    var dataDir: String?

    var directory: String { dataDir ?? MNISTDataset.defaultDirectory }

    func validate() throws {
        if let dataDir, dataDir.isEmpty { throw ValidationError("--data-dir must not be empty") }
    }
}

/// Where the data files are and which classes to tell apart.
struct DataOptions: ParsableArguments {
    @OptionGroup var location: DataDirectoryOption

    @Option(help: ArgumentHelp(
        "The classes: 'all' (every label in the data) or two or more distinct labels.",
        discussion: """
            Class i is the i-th listed label: 0,1 (the default) trains the original two-digit model with one \
            sigmoid output; 3,5,8 or all train one softmax output per class.
            """,
        valueName: "all|A,B[,C…]"))
    var classes: String = "0,1"

    var directory: String { location.directory }

    var selection: ClassSelection {
        get throws {
            do { return try ClassSelection(parsing: classes) } catch { throw ValidationError("--classes: \(error)") }
        }
    }

    func validate() throws {
        _ = try selection
    }

    /// The data set; a listed label the data lacks is a usage error naming --classes.
    func load() throws -> LoadedDataset {
        do {
            return try MNISTDataset.load(directory: directory, classes: try selection)
        } catch let error as DatasetError {
            guard case .missingClasses = error else { throw error }
            throw ValidationError("--classes \(classes): \(error)")
        }
    }
}

/// How a data set's classes are named in messages: "digits" for MNIST itself, "labels" for other data.
func classNoun(_ dataset: LoadedDataset) -> String {
    dataset.fingerprint == MNISTDataset.fingerprint ? "digits" : "labels"
}

/// Labels joined for messages: "0, 1" or "3, 5, 8"; "0–9" for a run of ten or more consecutive labels.
func labelList(_ labels: [Int]) -> String {
    if labels.count >= 10, labels == Array(labels[0]...labels[labels.count - 1]) {
        return "\(labels[0])–\(labels[labels.count - 1])"
    }
    return labels.map(String.init).joined(separator: ", ")
}

/// How training arithmetic treats subnormal floats (shared by `train` and `bench`).
struct ArithmeticOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Keep IEEE subnormal floats instead of flushing them to zero.",
        discussion: """
            By default training flushes subnormals (below 1.2e-38) to zero, as TensorFlow and JAX do: on x86 \
            each one costs a slow microcode assist, and late in training Adam's moments of rarely lit pixels \
            decay through that range. The weights do not change: 10 epochs from seed 42 on one thread end \
            with the same weights bit for bit either way. blasnet's worker threads (--threads 2 and up) run \
            in the same mode.
            """))
    var keepSubnormals = false

    var flushesSubnormals: Bool { !keepSubnormals }
}

/// Model, engine and the hyper-parameters of a training run.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Model: 'dense' (ReLU hidden units) or 'sigmoid' (sigmoid hidden units).")
    var model: ModelKind = .dense

    @Option(help: ArgumentHelp("Widths of the hidden layers, input side first.", valueName: "sizes"))
    var hidden: String = "128,64"

    @Option(help: ArgumentHelp("Engine: 'blas' (OpenBLAS) or 'swift' (pure Swift).",
                               discussion: "Default: blas for the dense model, swift for the sigmoid model."))
    var engine: EngineKind?

    @Option(parsing: .unconditional, help: ArgumentHelp("Passes over the training set.", discussion: "Default: 10."))
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Samples per Adam step (the last partial batch is kept).")
    var batchSize: Int = 32

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam learning rate.",
                               discussion: """
            Default: 0.001 (Keras's Adam default) for both models; the sigmoid net trains well with it too.
            """))
    var learningRate: Float?

    @Option(parsing: .unconditional, help: "Seed of the one random generator behind the initial weights and the batch order.")
    var seed: UInt64 = TrainingConfiguration.defaultSeed

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Threads that train: each step's rows, then its parameters, are split into this many tasks.",
        discussion: """
            The tasks run on a pool of worker threads, each product single-threaded; every few hundred \
            steps the step times itself on the pool and on the calling thread alone and keeps the faster \
            way (a busy or shared second core can make one thread faster), which changes only the speed. \
            The same seed, engine and thread count always give the same weights bit for bit. Below batch \
            size \(ColumnSplit.batchLimit), where the engine's products give the same bits cut into slices \
            (blasnet checks this before training), every sum is formed as on one thread, so any \
            thread count gives the one-thread weights; otherwise another count splits the sums \
            differently and the last bits differ. Capped at the online core count \
            (\(ThreadPolicy.onlineCores) here), with a note: more threads than cores only wait for each \
            other. Default: \(ThreadDefaults.describe).
            """))
    var threads: Int?

    @OptionGroup var arithmetic: ArithmeticOptions

    var resolvedEngine: EngineKind { engine ?? model.defaultEngine }

    /// The hidden sizes as numbers (validated by `validate`).
    var hiddenLayers: [Int] {
        hidden.split(separator: ",", omittingEmptySubsequences: false).compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    var configuration: TrainingConfiguration {
        TrainingConfiguration(model: model, hiddenLayers: hiddenLayers, epochs: epochs ?? 10, batchSize: batchSize,
                              learningRate: learningRate ?? 1e-3, seed: seed,
                              flushesSubnormals: arithmetic.flushesSubnormals)
    }

    func validate() throws {
        let parts = hidden.split(separator: ",", omittingEmptySubsequences: false)
        guard !hidden.isEmpty, parts.allSatisfy({ Int($0.trimmingCharacters(in: .whitespaces)) != nil }) else {
            throw ValidationError("--hidden must be layer widths separated by commas, like 128,64 (got '\(hidden)')")
        }
        do {
            try configuration.validate()
        } catch TrainingError.invalidSetting(let setting, let requirement, let value) {
            throw ValidationError("--\(setting.rawValue) must be \(requirement) (got \(value))")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    /// The engine for training on `data`, its thread count resolved and capped; says so on stderr when capped.
    func makeEngine(for data: LabeledImages) -> ComputeEngine {
        let requested = threads ?? ThreadDefaults.threads(batchSize: batchSize, for: data, hiddenLayers: hiddenLayers,
                                                          engine: resolvedEngine)
        let (count, capped) = ThreadPolicy.resolve(requested: requested)
        if capped {
            printError("note: --threads \(requested) exceeds the \(count) online cores; using \(count)")
        }
        for note in kernelNotes(for: [resolvedEngine]) { printError(note) }
        return BlasNet.makeEngine(resolvedEngine, threads: count)
    }
}

/// The thread count used when --threads is not given: `ThreadPolicy.defaultThreads`, described for --help.
enum ThreadDefaults {
    static let describe = "2 (1 on a 1-core machine), except below batch size \(ColumnSplit.batchLimit) where the "
        + "products would not give the one-thread weights bit for bit: 1 there"

    static func threads(batchSize: Int, for data: LabeledImages, hiddenLayers: [Int], engine: EngineKind) -> Int {
        ThreadPolicy.defaultThreads(
            layerSizes: [data.width] + hiddenLayers + [Network.outputWidth(classCount: data.classCount)],
            engine: engine, batchSize: batchSize)
    }
}

/// What the environment did to the kernels of `engines`, one line each: OPENBLAS_CORETYPE holding an
/// AVX-512 CPU to older OpenBLAS kernels, a BLASNET_KERNEL that could not be followed.
func kernelNotes(for engines: [EngineKind]) -> [String] {
    (engines.contains(.blas) ? [OpenBLASEngine.core.warning()].compactMap { $0 } : [])
        + (engines.contains(.swift) ? [KernelSet.requestNote].compactMap { $0 } : [])
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Rejects, before any work, an output file path that cannot be written: empty, a directory, inside a
/// directory that does not exist (or a path through a regular file), or in a directory this process
/// cannot create files in.
func validateOutputPath(_ path: String, option: String) throws {
    guard !path.isEmpty else { throw ValidationError("\(option) must not be empty") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ValidationError("\(option) \(path) is a directory")
    }
    let parent = (path as NSString).deletingLastPathComponent
    let directory = parent.isEmpty ? "." : parent
    try validateWritableDirectory(directory, for: path, option: option)
}

/// Rejects, before any work, an output directory that cannot be made or written: an existing regular
/// file, or a place where it cannot be created (checked at its nearest existing ancestor).
func validateOutputDirectory(_ path: String, option: String) throws {
    guard !path.isEmpty else { throw ValidationError("\(option) must not be empty") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw ValidationError("\(option) \(path) is a file, not a directory") }
        try validateWritableDirectory(path, for: path, option: option)
        return
    }
    var ancestor = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: ancestor.path) && ancestor.path != "/" {
        ancestor = ancestor.deletingLastPathComponent()
    }
    try validateWritableDirectory(ancestor.path, for: path, option: option)
}

/// Throws unless `directory` is a directory in which this process can create a file: it creates and
/// removes a hidden probe file, so read-only file systems and permissions both count.
private func validateWritableDirectory(_ directory: String, for path: String, option: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
        throw ValidationError("\(option) \(path): directory \(directory) does not exist")
    }
    guard isDirectory.boolValue else { throw ValidationError("\(option) \(path): \(directory) is not a directory") }
    let probe = (directory as NSString).appendingPathComponent(".blasnet-write-test-\(getpid())")
    let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard descriptor >= 0 else {
        let reason = String(cString: strerror(errno))
        throw ValidationError("\(option) \(path): cannot write in \(directory): \(reason)")
    }
    close(descriptor)
    unlink(probe)
}

/// A command's failure after its options were accepted, printed as one line (exit 1).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The reason of a Foundation file error in words ("Read-only file system"), not its NSError dump.
func fileErrorReason(_ error: Error) -> String {
    let error = error as NSError
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
    switch error.code {
    case NSFileWriteFileExistsError: return "a file is in the way"
    case NSFileWriteVolumeReadOnlyError: return "read-only file system"
    case NSFileWriteNoPermissionError: return "permission denied"
    case NSFileWriteOutOfSpaceError: return "no space left on device"
    default: return error.localizedDescription
    }
}
