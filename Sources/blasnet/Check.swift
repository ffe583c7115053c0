import ArgumentParser
import BlasNet
import BlasNetBench
import Foundation

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The CI accuracy gate: train the baseline's configurations and compare with their floors.",
        discussion: """
            Trains every configuration in the baseline file (two-class and ten-class) on the real data with \
            its fixed seed and short schedule, on its own engine and on the other one. Passes (exit 0) when each reaches its floor \
            and the two engines agree within the baseline's tolerance; otherwise exits 1 naming each \
            configuration that failed. No timing is checked: throughput is `blasnet bench`'s job.

            --calibrate re-measures the floors: each configuration over --seeds seeds on both engines; the \
            proposed floor is one error below the worst seed. It writes a proposed baseline to --output \
            (never over an existing file unless --force); review it and copy it over the baseline.
            """)

    @OptionGroup var data: DataDirectoryOption

    @Option(help: "The baseline file.")
    var baseline: String = "data/baseline.json"

    @Flag(help: "Measure the configurations over many seeds and write a proposed baseline.")
    var calibrate = false

    @Option(parsing: .unconditional, help: ArgumentHelp("With --calibrate: how many seeds (1…N).", discussion: "Default: 20."))
    var seeds: Int?

    private var seedCount: Int { seeds ?? 20 }

    @Option(help: "With --calibrate: where to write the proposed baseline.")
    var output: String = "data/baseline.proposed.json"

    @Flag(help: "With --calibrate: overwrite --output if it exists.")
    var force = false

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        if seedCount < 1 { throw ValidationError("--seeds must be at least 1 (got \(seedCount))") }
        if !calibrate && (force || output != "data/baseline.proposed.json" || seeds != nil) {
            throw ValidationError("--seeds, --output and --force only apply with --calibrate")
        }
        if calibrate { try validateOutputPath(output, option: "--output") }
    }

    func run() throws {
        let baselineFile = try Baseline.load(from: baseline)
        Interrupt.exitOnInterrupt(calibrate ? "blasnet check: interrupted; no baseline written"
                                            : "blasnet check: interrupted; the accuracy gate did not run to the end")
        var datasets = DatasetCache(directory: data.directory)
        if calibrate {
            try runCalibration(baselineFile, datasets: &datasets)
        } else {
            try runCheck(baselineFile, datasets: &datasets)
        }
    }

    /// Each class selection's data, loaded once.
    struct DatasetCache {
        let directory: String
        var loaded: [ClassSelection: LoadedDataset] = [:]

        mutating func sets(for configuration: CheckedConfiguration) throws -> (train: LabeledImages, test: LabeledImages) {
            let selection = try configuration.classSelection()
            if loaded[selection] == nil { loaded[selection] = try MNISTDataset.load(directory: directory, classes: selection) }
            return (loaded[selection]!.train, loaded[selection]!.test)
        }
    }

    private func runCheck(_ baselineFile: Baseline, datasets: inout DatasetCache) throws {
        var outcomes: [RegressionCheck.Outcome] = []
        for configuration in baselineFile.configurations {
            if !json { printError("… checking \(configuration.name)") }
            let (train, test) = try datasets.sets(for: configuration)
            outcomes.append(try RegressionCheck.run(configuration,
                                                    tolerance: configuration.engineAgreementTolerance ?? baselineFile.engineAgreementTolerance,
                                                    train: train, test: test))
        }
        if json {
            struct Row: Encodable {
                let name: String, floor_accuracy: Double, accuracy: Double, errors: Int, test_count: Int
                let other_engine: String, other_engine_accuracy: Double, tolerance: Double, passed: Bool, failure: String?
            }
            let rows = outcomes.map {
                Row(name: $0.name, floor_accuracy: $0.floorAccuracy, accuracy: $0.accuracy, errors: $0.errors,
                    test_count: $0.testCount, other_engine: $0.otherEngine.rawValue,
                    other_engine_accuracy: $0.otherEngineAccuracy, tolerance: $0.tolerance, passed: $0.passed,
                    failure: $0.failure)
            }
            print(try jsonLine(rows))
        } else {
            let header = ["configuration", "floor", "measured", "errors", "other engine", "verdict"]
            let rows = outcomes.map { outcome -> [String] in
                [outcome.name, percent4(outcome.floorAccuracy), percent4(outcome.accuracy),
                 "\(outcome.errors)/\(outcome.testCount)",
                 "\(outcome.otherEngine) \(percent4(outcome.otherEngineAccuracy))",
                 outcome.passed ? "pass" : "FAIL"]
            }
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            for row in [header] + rows {
                print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
        }
        let failures = outcomes.compactMap(\.failure)
        guard failures.isEmpty else {
            for failure in failures { printError("FAILED \(failure)") }
            throw ExitCode(1)
        }
    }

    private func runCalibration(_ baselineFile: Baseline, datasets: inout DatasetCache) throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw ValidationError("\(output) exists; pass --force to overwrite it or choose another --output")
        }
        let machine = "\(CPUFeatures.current.modelName), \(ThreadPolicy.onlineCores) cores"
        let date = ISO8601DateFormatter().string(from: Date())
        var proposed = baselineFile
        var tolerance = 0.0
        for (index, configuration) in baselineFile.configurations.enumerated() {
            let (train, test) = try datasets.sets(for: configuration)
            let (calibrated, configurationTolerance) = try RegressionCheck.calibrate(
                configuration, seeds: (1...UInt64(seedCount)).map { $0 }, train: train, test: test, machine: machine,
                date: date, progress: { printError("… " + $0) })
            proposed.configurations[index] = calibrated
            // Each task's own tolerance: ten classes on 10,000 images round differently from 0 vs 1.
            proposed.configurations[index].engineAgreementTolerance = configurationTolerance
            tolerance = max(tolerance, configurationTolerance)
            if let calibration = calibrated.calibration {
                print("\(configuration.name): accuracy over \(seedCount) seeds min \(percent4(calibration.minAccuracy)) "
                      + "median \(percent4(calibration.medianAccuracy)) max \(percent4(calibration.maxAccuracy)); "
                      + "proposed floor \(percent4(calibrated.floorAccuracy)) (was \(percent4(configuration.floorAccuracy)))")
            }
        }
        proposed.engineAgreementTolerance = tolerance
        print("proposed engine agreement tolerance \(percent4(tolerance)) (was \(percent4(baselineFile.engineAgreementTolerance)))")
        try AtomicFile.write(proposed.encoded(), to: output)
        print("wrote \(output); review it, then copy it over \(baseline)")
    }
}

func percent4(_ fraction: Double) -> String { String(format: "%.4f%%", fraction * 100) }
