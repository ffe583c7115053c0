import BlasNet
import BlasNetBench
import Foundation

/// Where and how a benchmark ran.
struct BenchmarkEnvironment: Encodable {
    let cpu: String
    let cores: Int
    let openblas_config: String
    let openblas_core: String
    /// OPENBLAS_CORETYPE when it is set (it forced `openblas_core`), else nil: OpenBLAS chose.
    let openblas_coretype: String?
    /// The family OpenBLAS picked itself when blasnet replaced it (its pre-0.3.25 fallback), else nil.
    let openblas_core_replaced: String?
    let swift_kernel: String
    /// "flushed to zero" or "kept (IEEE)": how training treated subnormal floats.
    let subnormals: String
    let build: String
    let date: String
    let git_commit: String?

    var isDebugBuild: Bool { build == "debug" }

    var core: OpenBLASCore {
        OpenBLASCore(name: openblas_core, forcedBy: openblas_coretype, replaced: openblas_core_replaced)
    }

    static func current(flushesSubnormals: Bool) -> BenchmarkEnvironment {
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        return BenchmarkEnvironment(
            cpu: CPUFeatures.current.modelName, cores: ThreadPolicy.onlineCores,
            openblas_config: OpenBLASEngine.configuration, openblas_core: OpenBLASEngine.core.name,
            openblas_coretype: OpenBLASEngine.core.forcedBy, openblas_core_replaced: OpenBLASEngine.core.replaced,
            swift_kernel: SwiftEngine(threads: 1).details,
            subnormals: flushesSubnormals ? "flushed to zero" : "kept (IEEE)", build: build,
            date: ISO8601DateFormatter().string(from: Date()), git_commit: gitCommit())
    }

    static let debugWarning = "WARNING: this is a DEBUG build: its throughput numbers are meaningless. "
        + "Use `swift run -c release blasnet bench`."

    var headerLines: [String] {
        ["blasnet bench — \(date)" + (git_commit.map { ", commit \($0)" } ?? ""),
         "cpu: \(cpu), \(cores) cores; build: \(build)" + (isDebugBuild ? " (NUMBERS ARE MEANINGLESS)" : ""),
         "openblas: \(openblas_config) (core \(core.description))",
         "swift engine: \(swift_kernel)",
         "subnormal floats: \(subnormals)"]
    }

    /// One line for the chart: machine, build, date.
    var chartSubtitle: String {
        "\(cpu), \(cores) cores; OpenBLAS core \(openblas_core)"
            + (openblas_coretype.map { " (OPENBLAS_CORETYPE=\($0))" } ?? "")
            + (openblas_core_replaced.map { " (blasnet's choice; OpenBLAS picked \($0))" } ?? "") + "; \(swift_kernel); \(build) build; "
            + String(date.prefix(10)) + (git_commit.map { ", commit \($0)" } ?? "")
    }

    private static func gitCommit() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

/// The benchmark's results and the ratios between them, as a table, CSV or JSON.
struct BenchmarkReport {
    let environment: BenchmarkEnvironment
    let measurements: [BenchmarkMeasurement]
    /// The ridge reference of each task.
    let ridges: [RidgeResult]

    struct RidgeResult {
        let classes: String
        let classifier: RidgeClassifier
        let errors: Int
        let testCount: Int
        var accuracy: Double { Double(testCount - errors) / Double(testCount) }
    }

    struct Ratio: Encodable {
        let what: String
        let ratio: Double
    }

    /// BLAS/Swift for each model, threads and batch, then N threads / 1 thread for each model, engine and
    /// batch (grouped by kind, each group in the order the configurations ran).
    var ratios: [Ratio] {
        var engineRatios: [Ratio] = [], threadRatios: [Ratio] = []
        func find(_ c: BenchmarkConfiguration) -> BenchmarkMeasurement? {
            measurements.first { $0.configuration == c }
        }
        for measurement in measurements {
            let c = measurement.configuration
            if c.engine == .blas {
                var other = c
                other.engine = .swift
                if let swift = find(other) {
                    engineRatios.append(Ratio(what: "\(c.model) [\(c.classes)] b\(c.batchSize) t\(c.threads): blas / swift",
                                        ratio: measurement.medianSamplesPerSecond / swift.medianSamplesPerSecond))
                }
            }
            if c.threads > 1 {
                var single = c
                single.threads = 1
                if let one = find(single) {
                    threadRatios.append(Ratio(what: "\(c.model) [\(c.classes)] \(c.engine) b\(c.batchSize): \(c.threads) threads / 1",
                                        ratio: measurement.medianSamplesPerSecond / one.medianSamplesPerSecond))
                }
            }
        }
        return engineRatios + threadRatios
    }

    var tableLines: [String] {
        let headers = ["model", "classes", "engine", "thr", "batch", "epochs", "median/s", "min/s", "ms/step", "GFLOP/s", "SGEMM", "%peak",
                       "test acc", "errors", "peak MiB"]
        var rows = measurements.map { m -> [String] in
            let c = m.configuration
            return [c.model.rawValue, c.classes, c.engine.rawValue, "\(c.threads)", "\(c.batchSize)", "\(c.repeats)",
                    String(format: "%.0f", m.medianSamplesPerSecond), String(format: "%.0f", m.minSamplesPerSecond),
                    String(format: "%.3f", m.millisecondsPerStep), String(format: "%.1f", m.gflops),
                    m.sgemmPeakGflops.map { String(format: "%.1f", $0) } ?? "-",
                    m.peakFraction.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
                    String(format: "%.2f%%", m.testAccuracy * 100), "\(m.testErrors)/\(m.testCount)",
                    String(format: "%.0f", m.peakResidentMiB)]
        }
        for ridge in ridges {
            rows.append(["ridge", ridge.classes, "lapacke", "-", "-", "-", "-", "-", "-", "-", "-", "-",
                         String(format: "%.2f%%", ridge.accuracy * 100),
                         "\(ridge.errors)/\(ridge.testCount)", String(format: "fit %.2f s", ridge.classifier.fitSeconds)])
        }
        let widths = headers.indices.map { column in ([headers] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index < 3 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) : pad(cell, widths[index])
            }.joined(separator: "  ")
        }
        var lines = ["", line(headers)] + rows.map(line)
        lines.append("")
        lines.append("(epochs = timed epochs after 1 warm-up"
                     + (measurements.contains { $0.sgemmPeakGflops != nil }
                        ? "; SGEMM = GFLOP/s of a 2048³ SGEMM on the same engine and threads, timed right after the row; "
                          + "%peak = GFLOP/s ÷ SGEMM)" : ")"))
        if !ratios.isEmpty {
            lines.append("ratios (same run, median samples/s):")
            lines += ratios.map { "  \($0.what) = \(String(format: "%.2f", $0.ratio))×" }
        }
        return lines
    }

    var csvLines: [String] {
        ["model,classes,engine,threads,batch_size,timed_epochs,median_samples_per_second,min_samples_per_second,ms_per_step,gflops,"
            + "sgemm_peak_gflops,peak_fraction,test_accuracy,test_errors,test_count,peak_resident_mib"]
            + measurements.map { m in
                let c = m.configuration
                return "\(c.model),\"\(c.classes)\",\(c.engine),\(c.threads),\(c.batchSize),\(c.repeats),\(m.medianSamplesPerSecond),"
                    + "\(m.minSamplesPerSecond),\(m.millisecondsPerStep),\(m.gflops),\(m.sgemmPeakGflops.map { "\($0)" } ?? ""),\(m.peakFraction.map { "\($0)" } ?? ""),"
                    + "\(m.testAccuracy),\(m.testErrors),\(m.testCount),\(m.peakResidentMiB)"
            }
    }

    func jsonString() throws -> String {
        struct Row: Encodable {
            let model: String, classes: String, engine: String, threads: Int, batch_size: Int, timed_epochs: Int
            let median_samples_per_second: Double, min_samples_per_second: Double, epoch_samples_per_second: [Double]
            let ms_per_step: Double, gflops: Double, sgemm_peak_gflops: Double?, peak_fraction: Double?
            let test_accuracy: Double, test_errors: Int, test_count: Int, peak_resident_mib: Double
        }
        struct Ridge: Encodable {
            let classes: String, fit_seconds: Double, test_accuracy: Double, test_errors: Int, test_count: Int
        }
        struct Document: Encodable {
            let environment: BenchmarkEnvironment
            let results: [Row]
            let ridge: [Ridge]
            let ratios: [Ratio]
        }
        let document = Document(
            environment: environment,
            results: measurements.map { m in
                Row(model: m.configuration.model.rawValue, classes: m.configuration.classes,
                    engine: m.configuration.engine.rawValue,
                    threads: m.configuration.threads, batch_size: m.configuration.batchSize,
                    timed_epochs: m.configuration.repeats,
                    median_samples_per_second: m.medianSamplesPerSecond, min_samples_per_second: m.minSamplesPerSecond,
                    epoch_samples_per_second: m.epochRates, ms_per_step: m.millisecondsPerStep, gflops: m.gflops,
                    sgemm_peak_gflops: m.sgemmPeakGflops, peak_fraction: m.peakFraction, test_accuracy: m.testAccuracy, test_errors: m.testErrors,
                    test_count: m.testCount, peak_resident_mib: m.peakResidentMiB)
            },
            ridge: ridges.map {
                Ridge(classes: $0.classes, fit_seconds: $0.classifier.fitSeconds, test_accuracy: $0.accuracy,
                      test_errors: $0.errors, test_count: $0.testCount)
            },
            ratios: ratios)
        return try jsonLine(document)
    }
}
