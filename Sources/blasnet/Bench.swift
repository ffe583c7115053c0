import ArgumentParser
import BlasNet
import BlasNetBench
import BlasNetPictures
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure accuracy and training throughput of every model × engine × threads × batch size.",
        discussion: """
            Each configuration trains from the same seed on the same data: one warm-up epoch, then \
            --repeats timed epochs (training steps only). Without --classes the matrix holds every model on \
            digits 0 vs 1 and the dense model on all ten digits; the ten-digit rows time --repeats ÷ 5 epochs \
            (at least 1: each has about five times the samples). Reports median and min samples/s, ms per \
            step, GFLOP/s (forward + backward, from the real layer sizes), the GFLOP/s of a 2048³ SGEMM timed on \
            the same engine and thread count right after the configuration (SGEMM) and the share of it \
            reached (%peak), the final test accuracy, and the peak resident memory while the configuration \
            ran (data set included). Ratios (BLAS/Swift, 2 threads/1 thread) come from this run only. A \
            ridge-regression row (LAPACKE_sposv) shows what a plain linear classifier reaches. Use a release \
            build: debug numbers are meaningless.
            """)

    @OptionGroup var data: DataDirectoryOption

    @Option(help: ArgumentHelp("The task for every row: 'all' or a list of labels, as in train.",
                               discussion: "Default: 0,1 for every model, plus all ten digits for the dense model.",
                               valueName: "all|A,B[,C…]"))
    var classes: String?
    @OptionGroup var arithmetic: ArithmeticOptions

    @Option(help: "Comma-separated models.")
    var models: String = "dense,sigmoid"

    @Option(help: "Comma-separated engines.")
    var engines: String = "blas,swift"

    @Option(help: ArgumentHelp("Comma-separated thread counts.",
                               discussion: """
            Each is capped at the online core count (\(ThreadPolicy.onlineCores) here), with a note. Default: 1 \
            and the online core count.
            """))
    var threads: String?

    @Option(help: "Comma-separated batch sizes.")
    var batchSizes: String = "32,256"

    @Option(parsing: .unconditional, help: "Timed epochs per configuration (after one warm-up epoch).")
    var repeats: Int = 5

    @Option(parsing: .unconditional, help: "Seed for every configuration.")
    var seed: UInt64 = TrainingConfiguration.defaultSeed

    @Flag(help: "Skip the 2048³ SGEMM timed after each configuration (no SGEMM or %peak; faster).")
    var noPeak = false

    @Option(help: ArgumentHelp("Also draw the results as a bar chart (samples/s per configuration, with each row's "
                               + "SGEMM ceiling marked) into this .png or .svg file.", valueName: "file"))
    var plot: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Print CSV rows instead of the table.")
    var csv = false

    func validate() throws {
        if let classes {
            do { _ = try ClassSelection(parsing: classes) } catch { throw ValidationError("--classes: \(error)") }
        }
        _ = try parsedConfigurations()
        if repeats < 1 { throw ValidationError("--repeats must be at least 1 (got \(repeats))") }
        if json && csv { throw ValidationError("--json and --csv are exclusive") }
        if let plot, PictureFormat(path: plot) == nil {
            throw ValidationError("--plot \(plot): the file name must end in .png or .svg")
        }
        if let plot { try validateOutputPath(plot, option: "--plot") }
    }

    func parsedConfigurations() throws -> [BenchmarkConfiguration] {
        let modelList = try parseList(models, option: "--models") { ModelKind(rawValue: $0) }
        let engineList = try parseList(engines, option: "--engines") { EngineKind(rawValue: $0) }
        let threadList = try parseList(threads ?? (ThreadPolicy.onlineCores > 1 ? "1,\(ThreadPolicy.onlineCores)" : "1"),
                                       option: "--threads") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
        let batchList = try parseList(batchSizes, option: "--batch-sizes") {
            Int($0).flatMap { (1...TrainingConfiguration.maximumBatchSize).contains($0) ? $0 : nil }
        }
        let cappedThreads = threadList.map { ThreadPolicy.resolve(requested: $0).threads }.uniqued()
        // (task, models): the given task for every model, or the default matrix.
        let tasks: [(classes: String, models: [ModelKind], repeats: Int)] = classes.map { [($0, modelList, repeats)] }
            ?? [("0,1", modelList, repeats)] + (modelList.contains(.dense) ? [("all", [.dense], max(1, repeats / 5))] : [])
        return tasks.flatMap { task in task.models.flatMap { model in engineList.flatMap { engine in
            cappedThreads.flatMap { threads in
                batchList.map {
                    BenchmarkConfiguration(model: model, classes: task.classes, engine: engine, threads: threads,
                                           batchSize: $0, repeats: task.repeats)
                }
            }
        } } }
    }

    /// The thread counts asked for beyond the core count, with what they were capped to.
    private var cappedThreadNotes: [String] {
        let requested = (try? parseList(threads ?? "1", option: "--threads") { Int($0) }) ?? []
        return requested.compactMap { count in
            let (used, capped) = ThreadPolicy.resolve(requested: count)
            return capped ? "note: --threads \(count) exceeds the \(used) online cores; using \(used)" : nil
        }.uniqued()
    }

    func run() throws {
        let configurations = try parsedConfigurations()
        Interrupt.exitOnInterrupt("blasnet bench: interrupted; no results printed or written")
        for note in cappedThreadNotes { printError(note) }
        var datasets: [String: LoadedDataset] = [:]
        for task in configurations.map(\.classes).uniqued() {
            datasets[task] = try MNISTDataset.load(directory: data.directory, classes: try ClassSelection(parsing: task))
        }
        let environment = BenchmarkEnvironment.current(flushesSubnormals: arithmetic.flushesSubnormals)
        if !json && !csv { print(environment.headerLines.joined(separator: "\n")) }
        if environment.isDebugBuild { printError(BenchmarkEnvironment.debugWarning) }
        for note in kernelNotes(for: configurations.map(\.engine)) { printError(note) }

        var measurements: [BenchmarkMeasurement] = []
        for (index, configuration) in configurations.enumerated() {
            progress("[\(index + 1)/\(configurations.count)] \(configuration.model) (classes \(configuration.classes)) on "
                     + "\(configuration.engine), \(configuration.threads) thread(s), batch \(configuration.batchSize)")
            let dataset = datasets[configuration.classes]!
            measurements.append(try ThroughputBenchmark.measure(configuration, train: dataset.train, test: dataset.test,
                                                                seed: seed, measuringPeak: !noPeak,
                                                                flushesSubnormals: arithmetic.flushesSubnormals))
        }
        var ridges: [BenchmarkReport.RidgeResult] = []
        for task in configurations.map(\.classes).uniqued() {
            progress("fitting the ridge reference for classes \(task) (LAPACKE_sposv)")
            let dataset = datasets[task]!
            let ridge = try RidgeClassifier.fit(dataset.train)
            ridges.append(.init(classes: task, classifier: ridge, errors: ridge.errors(on: dataset.test),
                                testCount: dataset.test.count))
        }
        let report = BenchmarkReport(environment: environment, measurements: measurements, ridges: ridges)
        // The results first: a chart that fails to write must not cost the measurements.
        if json {
            print(try report.jsonString())
        } else if csv {
            print(report.csvLines.joined(separator: "\n"))
        } else {
            print(report.tableLines.joined(separator: "\n"))
        }
        if let plot { try drawChart(measurements, environment: environment, to: plot) }
    }

    /// The chart: a group per model and batch size, a bar per engine and thread count.
    private func drawChart(_ measurements: [BenchmarkMeasurement], environment: BenchmarkEnvironment, to path: String) throws {
        let bars = measurements.map { measurement -> BenchmarkChart.Bar in
            let configuration = measurement.configuration
            let engine = configuration.engine == .blas ? "OpenBLAS" : "Swift"
            let threads = configuration.threads == 1 ? "1 thread" : "\(configuration.threads) threads"
            // The ceiling: the samples/s at which this configuration's FLOPs would run at the SGEMM rate.
            let ceiling = measurement.sgemmPeakGflops.flatMap { peak in
                measurement.gflops > 0 ? measurement.medianSamplesPerSecond * peak / measurement.gflops : nil
            }
            return BenchmarkChart.Bar(group: "\(configuration.model) \(configuration.classes == "all" ? "10 digits" : configuration.classes), "
                                          + "batch \(configuration.batchSize)",
                                      series: "\(engine), \(threads)", samplesPerSecond: measurement.medianSamplesPerSecond,
                                      ceiling: ceiling)
        }
        let chart = try BenchmarkChart.render(
            bars: bars, title: "Training throughput, median of the timed epochs",
            subtitle: environment.chartSubtitle, format: PictureFormat(path: path) ?? .png)
        try AtomicFile.write(chart.data, to: path)
        progress("wrote \(path)")
    }

    private func progress(_ message: String) {
        guard isatty(STDERR_FILENO) != 0 || !(json || csv) else { return }
        fflush(nil)  // what stdout holds so far comes first, whole, when both streams go to one place
        printError("… " + message)
    }
}

/// Parses "a,b,c" with `parse`, naming the option and the bad item on failure.
func parseList<T>(_ text: String, option: String, _ parse: (String) -> T?) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !items.isEmpty, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
        throw ValidationError("\(option) needs at least one value")
    }
    return try items.map { item in
        guard let value = parse(item) else { throw ValidationError("\(option): invalid value '\(item)'") }
        return value
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
