// DataParallelStep: one Adam step on a worker pool. The batch's rows are split into one contiguous
// share per worker; each worker gathers its rows and runs the whole forward and backward pass on them
// with single-threaded products, into its own gradient buffer. Then each worker takes one slice of the
// parameters, adds the other workers' gradients into worker 0's in worker order, and applies Adam to
// the slice. Two hand-offs per step instead of one per product, and the sums run in a fixed order, so
// the same thread count always gives the same weights (a different count sums differently).
import SwiftKernels

final class DataParallelStep: WorkerJob {
    let pool: WorkerPool
    /// One single-threaded engine per worker.
    let engines: [ComputeEngine]
    private let workspaces: [NetworkWorkspace]
    private let network: Network
    /// Each worker's share of the batch statistics. Raw storage: workers write their own element at the
    /// same time, which an Array property would report as overlapping accesses.
    private let statistics: UnsafeMutablePointer<BatchStatistics>

    // The current step, set by `step` before each hand-off.
    private var images: TrainingImages?
    private var rows: ArraySlice<Int> = [][...]
    private var labels: UnsafePointer<Int>?
    private var batchInput: UnsafeMutablePointer<Float>?
    private var batchLabels: UnsafeMutablePointer<Float>?
    private var adam: AdamSlices?

    /// `workers` workers of `kind` engines for batches of up to `batchSize` rows.
    init(network: Network, kind: EngineKind, workers: Int, batchSize: Int) {
        pool = WorkerPool(count: workers)
        engines = (0..<workers).map { _ in makeEngine(kind, threads: 1) }
        let share = (batchSize + workers - 1) / workers
        workspaces = (0..<workers).map { _ in NetworkWorkspace(network: network, capacity: share) }
        self.network = network
        statistics = .allocate(capacity: workers)
        statistics.initialize(repeating: BatchStatistics(lossSum: 0, correct: 0), count: workers)
    }

    deinit { statistics.deallocate() }

    /// Worker `worker`'s rows of a batch of `count`: contiguous, sizes differing by at most one.
    private func share(_ worker: Int, of count: Int) -> Range<Int> {
        let workers = pool.count
        return (count * worker / workers)..<(count * (worker + 1) / workers)
    }

    /// Trains on the batch `rows` (indices into `images` and `labels`): gradients, then Adam. The rows are
    /// gathered into `batchInput` [rows, width] and their labels into `batchLabels`.
    func step(rows: ArraySlice<Int>, images: TrainingImages, labels: UnsafePointer<Int>,
              batchInput: UnsafeMutablePointer<Float>, batchLabels: UnsafeMutablePointer<Float>,
              optimizer: AdamOptimizer) -> BatchStatistics {
        self.rows = rows
        self.images = images
        self.labels = labels
        self.batchInput = batchInput
        self.batchLabels = batchLabels
        pool.run(self, phase: 0)
        var total = BatchStatistics(lossSum: 0, correct: 0)
        for part in UnsafeBufferPointer(start: statistics, count: pool.count) {  // worker order: the same sum every time
            total.lossSum += part.lossSum
            total.correct += part.correct
        }
        // A diverged batch must not reach the weights (the trainer stops on it).
        guard total.lossSum.isFinite, total.lossSum / Double(rows.count) <= Trainer.divergedLoss else { return total }
        adam = optimizer.beginStep(parameters: network.parameters, gradients: workspaces[0].gradients)
        pool.run(self, phase: 1)
        adam = nil
        return total
    }

    func perform(phase: Int, worker: Int) {
        if phase == 0 {
            let range = share(worker, of: rows.count)
            statistics[worker] = BatchStatistics(lossSum: 0, correct: 0)
            guard !range.isEmpty, let images, let labels, let batchInput, let batchLabels else { return }
            let width = images.width
            let start = rows.startIndex + range.lowerBound
            let mine = rows[start..<(start + range.count)]
            images.gather(rows: mine, into: batchInput + range.lowerBound * width)
            for (offset, index) in mine.enumerated() { batchLabels[range.lowerBound + offset] = Float(labels[index]) }
            statistics[worker] = network.computeGradients(
                input: batchInput + range.lowerBound * width, labels: batchLabels + range.lowerBound,
                batch: range.count, meanOver: rows.count, workspace: workspaces[worker], engine: engines[worker])
        } else if let adam {
            let range = adam.range(part: worker, of: pool.count)
            guard !range.isEmpty else { return }
            let total = workspaces[0].gradients.pointer + range.lowerBound
            for other in 1..<pool.count {
                addAndClear(total, workspaces[other].gradients.pointer + range.lowerBound, count: range.count)
            }
            adam.update(range)
        }
    }
}
