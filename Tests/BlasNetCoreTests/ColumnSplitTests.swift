// Tests of the column split (ColumnSplit, DataParallelStep): the check before training tells engines whose
// products keep their bits in slices from those whose do not, and where it passes, two threads train to
// the one-thread weights and epoch losses bit for bit — pool or solo, with an epoch's last, smaller batch,
// over epochs.
@testable import BlasNetCore
import XCTest

final class ColumnSplitTests: XCTestCase {
    /// A single-threaded engine whose products carry a trace of their width: a product narrower than
    /// `fullWidth` columns gets its first element moved up by one ulp, as a kernel with another code path
    /// for narrow slices would. The check must refuse to split on it.
    private final class SliceSensitiveEngine: ComputeEngine {
        let kind = EngineKind.swift
        let threadCount = 1
        let elementwiseThreadCount = 1
        let details = "slice-sensitive test engine"
        let base = SwiftEngine(threads: 1)
        let fullWidth: Int
        init(fullWidth: Int) { self.fullWidth = fullWidth }

        func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
            base.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc)
            if n < fullWidth && m > 0 && n > 0 { c[0] = c[0].nextUp }
        }
    }

    private func layers(_ sizes: [Int]) throws -> [DenseLayer] {
        try Network(layerSizes: sizes, hiddenActivation: .relu).layers
    }

    func testTheCheckRefusesProductsThatDependOnTheSlice() throws {
        let sizes = [96, 32, 16, 1]
        XCTAssertTrue(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: SliceSensitiveEngine(fullWidth: 0),
                                                        tasks: 2, batchSize: 16), "a faithful wrapper passes")
        XCTAssertFalse(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: SliceSensitiveEngine(fullWidth: 32),
                                                         tasks: 2, batchSize: 16), "first-layer columns")
        // The later layers' products are cut by rows: an engine that marks products of 8 rows (half a
        // batch of 16) must be refused too.
        final class RowSensitiveEngine: ComputeEngine {
            let kind = EngineKind.swift, threadCount = 1, elementwiseThreadCount = 1, details = "row-sensitive"
            let base = SwiftEngine(threads: 1)
            func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
                base.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b,
                          ldb: ldb, beta: beta, c: c, ldc: ldc)
                if m == 8 { c[0] = c[0].nextUp }  // half of a batch of 16
            }
        }
        XCTAssertFalse(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: RowSensitiveEngine(), tasks: 2,
                                                         batchSize: 16), "later layers' rows")
    }

    func testTheCheckOnlyAppliesToSmallBatchesOnSeveralTasks() throws {
        let sizes = [96, 32, 1], engine = SliceSensitiveEngine(fullWidth: 0)
        XCTAssertTrue(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: engine, tasks: 2, batchSize: 2))
        XCTAssertFalse(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: engine, tasks: 1, batchSize: 16))
        XCTAssertFalse(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: engine, tasks: 2, batchSize: 1))
        XCTAssertFalse(ColumnSplit.keepsOneThreadNumbers(try layers(sizes), engine: engine, tasks: 2,
                                                         batchSize: ColumnSplit.batchLimit))
        XCTAssertFalse(ColumnSplit.keepsOneThreadNumbers(layerSizes: [96], kind: .swift, tasks: 2, batchSize: 16),
                       "not a network")
    }

    /// The pure-Swift kernels form each element of C the same way in any slice (`Gemm.swift`), so the
    /// check passes for them on every build.
    func testTheSwiftEnginePassesTheCheck() {
        for batchSize in [16, 32, 64] {
            XCTAssertTrue(ColumnSplit.keepsOneThreadNumbers(layerSizes: [784, 128, 64, 1], kind: .swift, tasks: 2,
                                                            batchSize: batchSize), "batch \(batchSize)")
        }
        XCTAssertTrue(ColumnSplit.keepsOneThreadNumbers(layerSizes: [784, 128, 64, 10], kind: .swift, tasks: 2,
                                                        batchSize: 32), "ten classes")
    }

    /// Where the check passes, two threads give the one-thread weights bit for bit: on the pool, on the
    /// calling thread alone and as the chooser mixes them, over two epochs of 70 MNIST-sized rows in batches
    /// of 32 (the last batch of each epoch has 6 rows and trains as on one thread). Where it fails (OpenBLAS's
    /// Haswell and Zen kernels), the step must not have split by columns.
    func testWhereTheCheckPassesTwoThreadsGiveTheOneThreadWeights() throws {
        try XCTSkipIf(ThreadPolicy.onlineCores < 2, "one core: engines cap at 1 thread, no parallel step to test")
        var generator = SeededGenerator(seed: 21)
        for (classes, model) in [(2, ModelKind.dense), (3, .sigmoid)] {
            let labels = (0..<70).map { $0 % classes }
            let images = labels.flatMap { label in
                (0..<784).map { pixel in min(1, (pixel * classes / 784 == label ? 0.6 : 0.1) + generator.nextUnitFloat() * 0.3) }
            }
            let data = try LabeledImages(images: images, width: 784, labels: labels)
            for kind in [EngineKind.blas, .swift] {
                let configuration = TrainingConfiguration(model: model, epochs: 2, batchSize: 32, seed: 5)
                // The weights' bits, then each epoch's mean loss's bits (the reported numbers must match too).
                func weights(threads: Int, forcedSolo: Bool? = nil) throws -> (bits: [UInt32], losses: [UInt64], byColumns: Bool) {
                    let trainer = try Trainer(configuration: configuration, engine: makeEngine(kind, threads: threads),
                                              for: data)
                    trainer.parallelStep?.forcedSolo = forcedSolo
                    let result = try trainer.train(on: data, test: data)
                    return (trainer.network.parameters.array.map(\.bitPattern), result.epochs.map(\.trainLoss.bitPattern),
                            trainer.parallelStep?.splitsByColumns ?? false)
                }
                let passes = ColumnSplit.keepsOneThreadNumbers(
                    layerSizes: [784] + configuration.hiddenLayers + [Network.outputWidth(classCount: classes)],
                    kind: kind, tasks: 2, batchSize: 32)
                let one = try weights(threads: 1), pool = try weights(threads: 2, forcedSolo: false)
                XCTAssertEqual(pool.byColumns, passes, "\(kind), \(classes) classes: the step follows the check")
                XCTAssertFalse(one.byColumns)
                guard passes else {
                    print("\(kind), \(classes) classes: the products change in slices here (\(kind == .blas ? OpenBLASEngine.core.description : "Swift")); input split")
                    continue
                }
                XCTAssertTrue(pool.bits == one.bits, "\(kind), \(classes) classes: pool against one thread")
                XCTAssertEqual(pool.losses, one.losses, "\(kind), \(classes) classes: epoch losses, pool against one thread")
                let solo = try weights(threads: 2, forcedSolo: true), mixed = try weights(threads: 2)
                XCTAssertTrue(solo.bits == one.bits, "\(kind): solo")
                XCTAssertEqual(solo.losses, one.losses, "\(kind): epoch losses, solo")
                XCTAssertTrue(mixed.bits == one.bits, "\(kind): the chooser's mix")
                XCTAssertEqual(mixed.losses, one.losses, "\(kind): epoch losses, the chooser's mix")
            }
        }
    }

    /// An evaluation from inside an epoch (the `onStep` callback) sees the current weights, not the
    /// epoch's starting first layer, and training goes on as if it had not happened: the accuracies after
    /// every third step and the final weights match one thread's bit for bit.
    func testAnEvaluationMidEpochSeesTheCurrentWeights() throws {
        try XCTSkipIf(ThreadPolicy.onlineCores < 2, "one core: engines cap at 1 thread, no parallel step to test")
        var generator = SeededGenerator(seed: 22)
        let labels = (0..<100).map { $0 % 2 }
        let images = labels.flatMap { label in
            (0..<96).map { pixel in min(1, (pixel * 2 / 96 == label ? 0.6 : 0.1) + generator.nextUnitFloat() * 0.3) }
        }
        let data = try LabeledImages(images: images, width: 96, labels: labels)
        let configuration = TrainingConfiguration(model: .sigmoid, epochs: 2, batchSize: 8, learningRate: 0.01, seed: 3)
        func run(threads: Int) throws -> (losses: [Double], weights: [UInt32], byColumns: Bool) {
            let trainer = try Trainer(configuration: configuration, engine: SwiftEngine(threads: threads), for: data)
            var losses: [Double] = []
            _ = try trainer.train(on: data, test: data, onStep: { progress in
                if progress.step % 3 == 0 { losses.append(trainer.evaluate(on: data).meanLoss) }
            })
            return (losses, trainer.network.parameters.array.map(\.bitPattern), trainer.parallelStep?.splitsByColumns ?? false)
        }
        let one = try run(threads: 1), two = try run(threads: 2)
        XCTAssertTrue(two.byColumns, "the Swift engine passes the check")
        XCTAssertEqual(one.losses.count, 8)
        XCTAssertEqual(two.losses.map(\.bitPattern), one.losses.map(\.bitPattern), "mid-epoch evaluations")
        XCTAssertTrue(two.weights == one.weights, "final weights")
    }

    /// Under the column split the reported loss is the one-thread sum too: each step adds its rows' losses
    /// in row order, not the two tasks' partial sums. The two orders round alike while a batch's losses are
    /// within about 2^25 of each other (each is a Float added in Double) and can differ beyond; the output
    /// layer's weights scaled up here give logits of tens, so the rows' losses range from ~1e-18
    /// (confidently right) to tens. Every step's running loss is compared, for two seeds and both losses.
    /// With the tasks' partial sums the two-class runs differ here. The three-class (softmax) runs, whose
    /// Float losses are 0 or above ~1e-7 (logf of a Float sum ≥ 1), round alike either way; they check that
    /// the softmax loss re-added from the logits is the value the gradient pass added.
    func testTheStepLossesAreTheOneThreadSums() throws {
        try XCTSkipIf(ThreadPolicy.onlineCores < 2, "one core: engines cap at 1 thread, no parallel step to test")
        var generator = SeededGenerator(seed: 23)
        for classes in [2, 3] {  // binary cross-entropy, softmax cross-entropy
            let labels = (0..<128).map { $0 % classes }
            let images = labels.flatMap { label in
                (0..<96).map { pixel in min(1, (pixel * classes / 96 == label ? 0.6 : 0.1) + generator.nextUnitFloat() * 0.3) }
            }
            let data = try LabeledImages(images: images, width: 96, labels: labels)
            for seed: UInt64 in [4, 9] {
                let configuration = TrainingConfiguration(model: .dense, hiddenLayers: [32, 16], epochs: 3, batchSize: 32,
                                                          seed: seed)
                func losses(threads: Int) throws -> (losses: [UInt64], byColumns: Bool) {
                    let trainer = try Trainer(configuration: configuration, engine: SwiftEngine(threads: threads), for: data)
                    let output = trainer.network.layers[trainer.network.layers.count - 1]
                    let weights = trainer.network.parameters.pointer + output.weightOffset
                    for index in 0..<output.weightCount { weights[index] *= 400 }
                    var losses: [UInt64] = []
                    let result = try trainer.train(on: data, test: data, onStep: { losses.append($0.runningLoss.bitPattern) })
                    return (losses + result.epochs.map(\.trainLoss.bitPattern), trainer.parallelStep?.splitsByColumns ?? false)
                }
                let one = try losses(threads: 1), two = try losses(threads: 2)
                XCTAssertTrue(two.byColumns, "\(classes) classes: the Swift engine passes the check")
                XCTAssertEqual(one.losses.count, 3 * 4 + 3)
                XCTAssertEqual(two.losses, one.losses, "\(classes) classes, seed \(seed): every step's and epoch's loss, bit for bit")
            }
        }
    }

    /// The default thread count is two below batch 128 exactly where the check passes, and two from 128 on.
    func testTheDefaultThreadsFollowTheCheck() throws {
        try XCTSkipIf(ThreadPolicy.onlineCores < 2, "one core: the default is always 1")
        let sizes = [784, 128, 64, 1]
        for kind in [EngineKind.blas, .swift] {
            let passes = ColumnSplit.keepsOneThreadNumbers(layerSizes: sizes, kind: kind, tasks: 2, batchSize: 32)
            XCTAssertEqual(ThreadPolicy.defaultThreads(layerSizes: sizes, engine: kind, batchSize: 32), passes ? 2 : 1)
            XCTAssertEqual(ThreadPolicy.defaultThreads(layerSizes: sizes, engine: kind, batchSize: 256), 2)
        }
        XCTAssertEqual(ThreadPolicy.defaultThreads(layerSizes: sizes, engine: .swift, batchSize: 32), 2)
    }
}
