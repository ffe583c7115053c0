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
            --repeats timed epochs (training steps only). Reports median and min samples/s, ms per step, \
            GFLOP/s (forward + backward, 450,944 FLOPs per sample), the GFLOP/s of a 2048³ SGEMM timed on \
            the same engine and thread count right before the configuration (SGEMM) and the share of it \
            reached (%peak), the final test accuracy, and the peak resident memory while the configuration \
            ran (data set included). Ratios (BLAS/Swift, 2 threads/1 thread) come from this run only. A \
            ridge-regression row (LAPACKE_sposv) shows what a plain linear classifier reaches. Use a release \
            build: debug numbers are meaningless.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var arithmetic: ArithmeticOptions

    @Option(help: "Comma-separated models.")
    var models: String = "dense,sigmoid"

    @Option(help: "Comma-separated engines.")
    var engines: String = "blas,swift"

    @Option(help: ArgumentHelp("Comma-separated thread counts (each capped at the core count).",
                               discussion: "Default: 1 and the online core count."))
    var threads: String?

    @Option(help: "Comma-separated batch sizes.")
    var batchSizes: String = "32,256"

    @Option(help: "Timed epochs per configuration (after one warm-up epoch).")
    var repeats: Int = 5

    @Option(help: "Seed for every configuration.")
    var seed: UInt64 = TrainingConfiguration.defaultSeed

    @Flag(help: "Skip the 2048³ SGEMM timed before each configuration (no SGEMM or %peak; faster).")
    var noPeak = false

    @Option(help: ArgumentHelp("Also draw the results as a bar chart (samples/s per configuration, with each row's "
                               + "SGEMM ceiling marked) into this .png or .svg file.", valueName: "file"))
    var plot: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Print CSV rows instead of the table.")
    var csv = false

    func validate() throws {
        _ = try parsedConfigurations()
        if repeats < 1 { throw ValidationError("--repeats must be at least 1 (got \(repeats))") }
        if json && csv { throw ValidationError("--json and --csv are exclusive") }
        if let plot, PictureFormat(path: plot) == nil {
            throw ValidationError("--plot \(plot): the file name must end in .png or .svg")
        }
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
        return modelList.flatMap { model in engineList.flatMap { engine in cappedThreads.flatMap { threads in
            batchList.map { BenchmarkConfiguration(model: model, engine: engine, threads: threads, batchSize: $0) }
        } } }
    }

    func run() throws {
        let configurations = try parsedConfigurations()
        let dataset = try data.load()
        let (train, test) = (dataset.train, dataset.test)
        let environment = BenchmarkEnvironment.current(flushesSubnormals: arithmetic.flushesSubnormals)
        if !json && !csv { print(environment.headerLines.joined(separator: "\n")) }
        if environment.isDebugBuild { printError(BenchmarkEnvironment.debugWarning) }

        var measurements: [BenchmarkMeasurement] = []
        for (index, configuration) in configurations.enumerated() {
            progress("[\(index + 1)/\(configurations.count)] \(configuration.model) on \(configuration.engine), "
                     + "\(configuration.threads) thread(s), batch \(configuration.batchSize)")
            measurements.append(try ThroughputBenchmark.measure(configuration, train: train, test: test,
                                                                repeats: repeats, seed: seed, measuringPeak: !noPeak,
                                                                flushesSubnormals: arithmetic.flushesSubnormals))
        }
        progress("fitting the ridge reference (LAPACKE_sposv)")
        let ridge = try RidgeClassifier.fit(train)
        let report = BenchmarkReport(environment: environment, measurements: measurements,
                                     ridge: ridge, ridgeErrors: ridge.errors(on: test), testCount: test.count,
                                     repeats: repeats)
        if let plot { try drawChart(measurements, environment: environment, to: plot) }
        if json {
            print(try report.jsonString())
        } else if csv {
            print(report.csvLines.joined(separator: "\n"))
        } else {
            print(report.tableLines.joined(separator: "\n"))
        }
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
            return BenchmarkChart.Bar(group: "\(configuration.model), batch \(configuration.batchSize)",
                                      series: "\(engine), \(threads)", samplesPerSecond: measurement.medianSamplesPerSecond,
                                      ceiling: ceiling)
        }
        let chart = try BenchmarkChart.render(
            bars: bars, title: "Training throughput, median of \(repeats) timed epoch\(repeats == 1 ? "" : "s")",
            subtitle: environment.chartSubtitle, format: PictureFormat(path: path) ?? .png)
        try AtomicFile.write(chart.data, to: path)
        progress("wrote \(path)")
    }

    private func progress(_ message: String) {
        if isatty(STDERR_FILENO) != 0 || !(json || csv) { printError("… " + message) }
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
