// Tests of the multi-threaded training step (DataParallelStep on a WorkerPool): repeated runs at one
// thread count give the same weights bit for bit, the split step computes the same step as one thread
// (up to the order of the sums), and OpenBLAS may be called from several workers at once at 1 thread.
@testable import BlasNetCore
import BlasNetTestSupport
import SwiftKernels
import XCTest

final class DataParallelStepTests: XCTestCase {
    /// `count` synthetic samples of `width` pixels in `classes` classes: class c brightens band c.
    private func syntheticData(count: Int, width: Int = 784, classes: Int = 2, seed: UInt64) -> LabeledImages {
        var generator = SeededGenerator(seed: seed)
        var images: [Float] = [], labels: [Int] = []
        for index in 0..<count {
            let label = index % classes
            labels.append(label)
            for pixel in 0..<width {
                let bright = pixel * classes / width == label
                images.append(min(1, (bright ? 0.6 : 0.1) + generator.nextUnitFloat() * 0.3))
            }
        }
        return try! LabeledImages(images: images, width: width, labels: labels)
    }

    private func trainedWeights(_ kind: ModelKind, engine: ComputeEngine, data: LabeledImages,
                                batchSize: Int, epochs: Int = 2) throws -> [Float] {
        let configuration = TrainingConfiguration(model: kind, epochs: epochs, batchSize: batchSize, seed: 5)
        let trainer = try Trainer(configuration: configuration, engine: engine, for: data)
        _ = try trainer.train(on: data, test: data)
        return trainer.network.parameters.array
    }

    /// Runs `body` with the column split allowed where it applies (`ColumnSplit`), then with the input
    /// split at every batch size, so that both splits are tested on every machine.
    private func forEachSplit(_ body: (String) throws -> Void) rethrows {
        defer { DataParallelStep.allowsColumnSplit = true }
        for allowed in [true, false] {
            DataParallelStep.allowsColumnSplit = allowed
            try body(allowed ? "column split where it applies" : "input split")
        }
    }

    private func requireTwoCores() throws {
        try XCTSkipIf(ThreadPolicy.onlineCores < 2, "one core: engines cap at 1 thread, no parallel step to test")
    }

    /// 70 rows in batches of 32: the last batch has 6 rows, so the shares differ in size.
    func testSameThreadCountGivesBitIdenticalWeightsOnBothEngines() throws {
        try requireTwoCores()
        let data = syntheticData(count: 70, seed: 3)
        try forEachSplit { split in
            for (name, kind) in [("blas", EngineKind.blas), ("swift", EngineKind.swift)] {
                let first = try trainedWeights(.dense, engine: makeEngine(kind, threads: 2), data: data, batchSize: 32)
                let second = try trainedWeights(.dense, engine: makeEngine(kind, threads: 2), data: data, batchSize: 32)
                XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern), "\(name), \(split): two runs on 2 threads")
            }
        }
    }

    /// Two threads take the same steps as one, the sums only grouped differently: after two epochs the
    /// weights agree to float rounding. A lost share, a gradient counted twice or a wrong mean would
    /// move them by a learning-rate step (1e-3) or more. Batch 16 forms the hidden layers' gradients
    /// from the whole batch, batch 80 from the row tasks' parts (170 rows: the last batch has 10).
    func testTwoThreadsTrainLikeOneWithinRounding() throws {
        try requireTwoCores()
        try forEachSplit { split in
        for (classes, kind) in [(2, ModelKind.dense), (3, .sigmoid)] {
            let data = syntheticData(count: 170, width: 96, classes: classes, seed: 4)
            for engine in [EngineKind.blas, .swift] {
                for batchSize in [16, 80] {
                    let one = try trainedWeights(kind, engine: makeEngine(engine, threads: 1), data: data, batchSize: batchSize)
                    let two = try trainedWeights(kind, engine: makeEngine(engine, threads: 2), data: data, batchSize: batchSize)
                    let difference = zip(one, two).map { abs($0 - $1) }.max() ?? .infinity
                    XCTAssertLessThan(difference, 1e-4, "\(engine), \(classes) classes, batch \(batchSize), \(split): 1 vs 2 threads")
                    XCTAssertNotEqual(one, [], "weights")
                }
            }
        }
        }
    }

    /// Any depth: no hidden layer (the first layer is the output layer) and three hidden layers train on
    /// two threads as on one, to rounding, on both engines.
    func testOtherDepthsTrainOnTwoThreadsLikeOne() throws {
        try requireTwoCores()
        let data = syntheticData(count: 70, width: 96, classes: 3, seed: 9)
        try forEachSplit { split in
        for hidden in [[], [48, 32, 16]] {
            for engine in [EngineKind.blas, .swift] {
                func weights(threads: Int) throws -> [Float] {
                    let configuration = TrainingConfiguration(model: .dense, hiddenLayers: hidden, epochs: 2, batchSize: 16,
                                                              seed: 5)
                    let trainer = try Trainer(configuration: configuration, engine: makeEngine(engine, threads: threads),
                                              for: data)
                    XCTAssertEqual(trainer.parallelStep != nil, threads > 1)
                    _ = try trainer.train(on: data, test: data)
                    return trainer.network.parameters.array
                }
                let one = try weights(threads: 1), two = try weights(threads: 2)
                XCTAssertEqual(one.count, two.count)
                XCTAssertLessThan(zip(one, two).map { abs($0 - $1) }.max() ?? .infinity, 1e-4,
                                  "\(engine), hidden \(hidden), \(split)")
            }
        }
        }
    }

    /// The step may run its tasks on the pool or on the calling thread alone (when the second core does
    /// not pay): both ways, and the chooser switching between them, must give the same weights bit for bit.
    func testPoolAndSoloStepsGiveTheSameWeights() throws {
        try requireTwoCores()
        let data = syntheticData(count: 70, width: 96, classes: 3, seed: 6)
        try forEachSplit { split in
        for engine in [EngineKind.blas, .swift] {
            func weights(forcedSolo: Bool?, preparesNextBatch: Bool = true) throws -> [UInt32] {
                let configuration = TrainingConfiguration(model: .dense, epochs: 2, batchSize: 16, seed: 5)
                let trainer = try Trainer(configuration: configuration, engine: makeEngine(engine, threads: 2), for: data)
                let step = try XCTUnwrap(trainer.parallelStep, "two threads train on the parallel step")
                step.forcedSolo = forcedSolo
                step.preparesNextBatch = preparesNextBatch
                _ = try trainer.train(on: data, test: data)
                return trainer.network.parameters.array.map(\.bitPattern)
            }
            let pool = try weights(forcedSolo: false)
            XCTAssertEqual(try weights(forcedSolo: true), pool, "\(engine): solo steps")
            XCTAssertEqual(try weights(forcedSolo: nil), pool, "\(engine): the chooser's trials mix both ways")
            XCTAssertEqual(try weights(forcedSolo: false, preparesNextBatch: false), pool,
                           "\(engine): each phase 0 at its own step's start")
            XCTAssertEqual(try weights(forcedSolo: true, preparesNextBatch: false), pool,
                           "\(engine), \(split): solo, each phase 0 at its own step's start")
        }
        }
    }

    /// A step whose rows are not the ones the previous step was told come next (and prepared phase 0 for)
    /// must form its own first-layer parts: the same weights, bit for bit, as steps that never prepare.
    func testAStepOnOtherRowsThanAnnouncedRedoesItsFirstLayer() throws {
        try requireTwoCores()
        let data = syntheticData(count: 24, width: 96, seed: 12)
        let images = TrainingImages(data)
        let rows = Array(0..<24)
        try forEachSplit { split in
        for kind in [EngineKind.blas, .swift] {
            func weights(prepares: Bool) throws -> [UInt32] {
                let network = try Network(layerSizes: [96, 32, 16, 1], hiddenActivation: .relu)
                var generator = SeededGenerator(seed: 7)
                network.initializeGlorotUniform(using: &generator)
                let optimizer = AdamOptimizer(parameterCount: network.parameterCount)
                let step = DataParallelStep(network: network, kind: kind, workers: 2, batchSize: 8)
                step.forcedSolo = false
                step.preparesNextBatch = prepares
                let batchLabels = FloatBuffer(count: 8)
                data.labels.withUnsafeBufferPointer { labels in
                    // Announces rows 8..<16, then trains on 16..<24.
                    _ = step.step(rows: rows[0..<8], next: rows[8..<16], images: images, labels: labels.baseAddress!,
                                  batchLabels: batchLabels.pointer, optimizer: optimizer)
                    _ = step.step(rows: rows[16..<24], images: images, labels: labels.baseAddress!,
                                  batchLabels: batchLabels.pointer, optimizer: optimizer)
                }
                step.publishParameters()  // the column split holds the first layer in its own blocks until then
                return network.parameters.array.map(\.bitPattern)
            }
            let prepared = try weights(prepares: true), unprepared = try weights(prepares: false)
            XCTAssertEqual(prepared.count, 96 * 32 + 32 + 32 * 16 + 16 + 16 + 1)
            XCTAssertTrue(prepared == unprepared, "\(kind), \(split): weights differ")
        }
        }
    }

    /// Phase 2's plan covers every parameter exactly once, splits the large layer by rows of W evenly and
    /// gives small layers to the least-loaded task.
    func testGradientPlanCoversEveryParameterOnce() throws {
        let network = try Network(layerSizes: [784, 128, 64, 10], hiddenActivation: .relu)
        for tasks in 1...4 {
            let plan = DataParallelStep.plan(network.layers, tasks: tasks)
            XCTAssertEqual(plan.count, tasks)
            var covered = [Int](repeating: 0, count: network.parameterCount)
            for block in plan.joined() { for index in block.parameters { covered[index] += 1 } }
            XCTAssertEqual(Set(covered), [1], "\(tasks) tasks: each parameter in exactly one block")
            let firstLayer = plan.map { $0.filter { $0.layer == 0 }.map(\.inputRows.count).reduce(0, +) }
            XCTAssertLessThanOrEqual(firstLayer.max()! - firstLayer.min()!, 1, "\(tasks) tasks: 784 rows split evenly")
        }
        let two = DataParallelStep.plan(network.layers, tasks: 2)
        // 784×128 and 128×64 (8,192 weights) split; task 1 holds their biases, so the 64×10 layer goes to task 0.
        XCTAssertEqual(two[0].map(\.layer), [0, 1, 2])
        XCTAssertEqual(two[1].map(\.layer), [0, 1])
        XCTAssertEqual(two[1].map(\.withBias), [true, true])
    }

    /// A later layer's gradient comes from the row tasks' parts once they are smaller than the
    /// activations and deltas its blocks would read from the other rows: for the 128 → 64 layer, split
    /// on two tasks, from batch 65 on; for the 64 → 1 output layer, owned whole, from batch 4.
    func testRowPartsWhereTheyCrossLessThanTheRows() throws {
        let network = try Network(layerSizes: [784, 128, 64, 1], hiddenActivation: .relu)
        let plan = DataParallelStep.plan(network.layers, tasks: 2)
        func layers(batch: Int) -> [Int] { DataParallelStep.rowPartLayers(network.layers, plan: plan, batchSize: batch) }
        XCTAssertEqual(layers(batch: 3), [])
        XCTAssertEqual(layers(batch: 4), [2])
        XCTAssertEqual(layers(batch: 64), [2])
        XCTAssertEqual(layers(batch: 65), [1, 2])
        XCTAssertEqual(layers(batch: 256), [1, 2])
        XCTAssertEqual(DataParallelStep.rowPartLayers([network.layers[0]], plan: [[], []], batchSize: 256), [],
                       "no later layer")
    }

    /// A batch of one row leaves task 0 without rows in phase 1: its step must still be the one-row step,
    /// up to the rounding of the first layer's two summed halves (a lost or doubled share would move the
    /// weights by a learning-rate step, 1e-3). Repeated, it gives the same bits.
    func testBatchesOfOneRowOnTwoThreads() throws {
        try requireTwoCores()
        let data = syntheticData(count: 5, width: 64, seed: 8)
        let one = try trainedWeights(.dense, engine: OpenBLASEngine(threads: 1), data: data, batchSize: 1, epochs: 1)
        let two = try trainedWeights(.dense, engine: OpenBLASEngine(threads: 2), data: data, batchSize: 1, epochs: 1)
        let again = try trainedWeights(.dense, engine: OpenBLASEngine(threads: 2), data: data, batchSize: 1, epochs: 1)
        XCTAssertLessThan(zip(one, two).map { abs($0 - $1) }.max() ?? .infinity, 1e-5, "one row: 1 vs 2 threads")
        XCTAssertEqual(two.map(\.bitPattern), again.map(\.bitPattern), "one row, 2 threads, twice")
        // Batches of four, the last of one row: the second task's rows are empty after full batches, and
        // the output layer's gradient is summed from the row tasks' parts (see the plan test).
        let fourOne = try trainedWeights(.dense, engine: OpenBLASEngine(threads: 1), data: data, batchSize: 4, epochs: 2)
        let fourTwo = try trainedWeights(.dense, engine: OpenBLASEngine(threads: 2), data: data, batchSize: 4, epochs: 2)
        XCTAssertLessThan(zip(fourOne, fourTwo).map { abs($0 - $1) }.max() ?? .infinity, 1e-5,
                          "a last batch of one row: 1 vs 2 threads")
    }

    /// Debian's pthread OpenBLAS, called from two threads at once with its own threading at 1 (as the
    /// parallel step does), must give each caller exactly the serial result: products of several shapes
    /// and transpositions, 200 rounds on each worker, compared bit for bit.
    func testOpenBLASCalledFromTwoWorkersAtOnceGivesTheSerialResults() throws {
        try requireTwoCores()
        let stress = ConcurrentProducts(workers: 2, rounds: 200)
        let serial = stress.runSerially()
        WorkerPool(count: 2).run(stress, phase: 0)
        for worker in 0..<2 {
            XCTAssertEqual(stress.results[worker].map(\.bitPattern), serial[worker].map(\.bitPattern), "worker \(worker)")
        }
    }
}

/// Each worker multiplies its own matrices, round after round, on its own single-threaded engine, and
/// keeps a checksum of every result (the sum of each product's elements, appended per round).
private final class ConcurrentProducts: WorkerJob {
    let rounds: Int
    let engines: [OpenBLASEngine]
    let inputs: [[Float]]
    /// One box per worker: workers write their own at the same time, which one array would report as
    /// overlapping accesses.
    private let boxes: [ResultBox]
    var results: [[Float]] { boxes.map(\.value) }
    /// (m, n, k, transposeA, transposeB) for round r: shapes like one training step's products.
    static let shapes: [(Int, Int, Int, Bool, Bool)] = [(32, 128, 784, false, true), (64, 128, 32, true, false),
                                                        (16, 64, 128, false, true), (128, 784, 16, true, false),
                                                        (32, 10, 64, false, true), (32, 1, 64, false, true)]

    init(workers: Int, rounds: Int) {
        self.rounds = rounds
        engines = (0..<workers).map { _ in OpenBLASEngine(threads: 1) }
        var generator = SeededGenerator(seed: 11)
        inputs = (0..<workers).map { _ in (0..<(2 * 128 * 784)).map { _ in generator.nextUnitFloat() - 0.5 } }
        boxes = (0..<workers).map { _ in ResultBox() }
    }

    func perform(phase: Int, worker: Int) { boxes[worker].value = products(worker) }

    func runSerially() -> [[Float]] { (0..<engines.count).map(products) }

    private func products(_ worker: Int) -> [Float] {
        var sums: [Float] = []
        sums.reserveCapacity(rounds)
        var output = [Float](repeating: 0, count: 128 * 784)
        inputs[worker].withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { c in
                for round in 0..<rounds {
                    let (m, n, k, transposeA, transposeB) = Self.shapes[round % Self.shapes.count]
                    let a = input.baseAddress! + round % 7, b = input.baseAddress! + 128 * 784 + round % 5
                    engines[worker].gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                         a: a, lda: transposeA ? m : k, b: b, ldb: transposeB ? k : n,
                                         beta: 0, c: c.baseAddress!, ldc: n)
                    sums.append(c[0..<(m * n)].reduce(0, +))
                }
            }
        }
        return sums
    }
}

private final class ResultBox { var value: [Float] = [] }
