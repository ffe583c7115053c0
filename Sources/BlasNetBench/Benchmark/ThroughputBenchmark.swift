import COpenBLAS
import BlasNet
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One cell of the benchmark matrix.
public struct BenchmarkConfiguration: Sendable, Hashable {
    public var model: ModelKind
    /// The task, as `--classes` names it: "0,1", "all", "3,5,8".
    public var classes: String
    public var engine: EngineKind
    public var threads: Int
    public var batchSize: Int
    /// Timed epochs after the warm-up epoch.
    public var repeats: Int

    public init(model: ModelKind, classes: String = "0,1", engine: EngineKind, threads: Int, batchSize: Int,
                repeats: Int = 5) {
        self.model = model
        self.classes = classes
        self.engine = engine
        self.threads = threads
        self.batchSize = batchSize
        self.repeats = repeats
    }
}

/// What one configuration measured. Rates are over training steps only (no evaluation, no data loading).
public struct BenchmarkMeasurement: Sendable {
    public let configuration: BenchmarkConfiguration
    /// Samples per second of each timed epoch, in order.
    public let epochRates: [Double]
    public let medianSamplesPerSecond: Double
    public let minSamplesPerSecond: Double
    public let millisecondsPerStep: Double
    /// Forward + backward FLOPs per second at the median rate.
    public let gflops: Double
    public let testAccuracy: Double
    public let testErrors: Int
    public let testCount: Int
    /// Peak resident memory of the process while this configuration ran (VmHWM, reset before it), MiB:
    /// the data set plus this configuration's buffers.
    public let peakResidentMiB: Double
    /// GFLOP/s of a 2048³ SGEMM on the same engine and threads, measured right after this configuration
    /// trained (the machine's speed drifts over minutes, so a peak taken earlier can be far off; before
    /// the training, OpenBLAS's own worker threads would still be spinning from it); nil when not measured.
    public let sgemmPeakGflops: Double?

    /// `gflops` as a share of `sgemmPeakGflops`.
    public var peakFraction: Double? { sgemmPeakGflops.map { gflops / $0 } }
}

public enum ThroughputBenchmark {
    /// Trains `configuration` (on its task's `train` and `test`) for one warm-up epoch and its `repeats`
    /// timed epochs from `seed`; the test accuracy is the network's after all of them. With
    /// `measuringPeak`, then times a 2048³ SGEMM on the same engine (see `gemmPeak`): after the training,
    /// and followed by a pause for OpenBLAS, because a multi-threaded OpenBLAS product leaves OpenBLAS's
    /// worker threads spinning for a while, and they would take the second core from the training's own
    /// workers (docs/performance.md).
    /// `flushesSubnormals`: see `TrainingConfiguration`.
    public static func measure(_ configuration: BenchmarkConfiguration, train: LabeledImages, test: LabeledImages,
                               seed: UInt64 = TrainingConfiguration.defaultSeed,
                               measuringPeak: Bool = true, flushesSubnormals: Bool = true) throws -> BenchmarkMeasurement {
        let engine = makeEngine(configuration.engine, threads: configuration.threads)
        ProcessMemory.resetPeak()
        let trainer = try Trainer(configuration: TrainingConfiguration(
            model: configuration.model, epochs: 1 + configuration.repeats, batchSize: configuration.batchSize, seed: seed,
            flushesSubnormals: flushesSubnormals),
            engine: engine, for: train)
        let result = try trainer.train(on: train, test: test)
        let peakResident = ProcessMemory.peakResidentMiB
        let sgemmPeak = measuringPeak ? gemmPeak(engine: engine) : nil
        if measuringPeak && engine.kind == .blas && engine.threadCount > 1 {
            // OpenBLAS's workers spin for a while after a threaded product before they sleep (its
            // THREAD_TIMEOUT); the next configuration must not train beside them.
            Thread.sleep(forTimeInterval: 0.3)
        }
        let rates = result.epochs.dropFirst().map(\.samplesPerSecond)
        let median = medianOf(Array(rates))
        let stepsPerEpoch = Double((train.count + configuration.batchSize - 1) / configuration.batchSize)
        return BenchmarkMeasurement(
            configuration: configuration, epochRates: Array(rates),
            medianSamplesPerSecond: median, minSamplesPerSecond: rates.min() ?? 0,
            millisecondsPerStep: 1000 * Double(train.count) / median / stepsPerEpoch,
            gflops: median * Double(trainer.network.flopsPerSample) / 1e9,
            testAccuracy: result.test.accuracy, testErrors: result.test.errors, testCount: result.test.count,
            peakResidentMiB: peakResident, sgemmPeakGflops: sgemmPeak)
    }

    /// GFLOP/s of one square `size`³ SGEMM on `engine`: the median of `runs` timed calls after one warm-up.
    public static func gemmPeak(engine: ComputeEngine, size: Int = 2048, runs: Int = 3) -> Double {
        let a = FloatBuffer(count: size * size), b = FloatBuffer(count: size * size), c = FloatBuffer(count: size * size)
        var generator = SeededGenerator(seed: 1)
        for i in 0..<(size * size) {
            a.pointer[i] = generator.nextFloat(symmetric: 1)
            b.pointer[i] = generator.nextFloat(symmetric: 1)
        }
        var rates: [Double] = []
        for run in 0...runs {
            let started = DispatchTime.now().uptimeNanoseconds
            engine.gemm(transposeA: false, transposeB: false, m: size, n: size, k: size, a: a.pointer, lda: size,
                        b: b.pointer, ldb: size, beta: 0, c: c.pointer, ldc: size)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            if run > 0 { rates.append(2 * Double(size * size) * Double(size) / seconds / 1e9) }
        }
        return medianOf(rates)
    }

    /// The middle value, or the mean of the two middle values for an even count.
    static func medianOf(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The process's memory, from /proc/self/status (Linux); 0 elsewhere.
public enum ProcessMemory {
    /// Resets the peak (VmHWM) to the current resident size: Linux's `echo 5 > /proc/self/clear_refs`.
    /// First hands freed heap memory back to the system (glibc keeps large freed blocks, e.g. the
    /// 2048² SGEMM matrices, once its mmap threshold has grown), so that memory earlier work freed does
    /// not count as this configuration's (seen: 208 MiB reported for a 93 MiB configuration).
    public static func resetPeak() {
        if let trim = mallocTrim { _ = trim(0) }
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return }
        try? handle.write(contentsOf: Data("5".utf8))
        try? handle.close()
    }

    /// glibc's `malloc_trim`, looked up at run time (Swift's Glibc module does not declare it; other C
    /// libraries do not have it).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    public static var peakResidentMiB: Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kilobytes / 1024
        }
        return 0
    }
}
