// DataParallelStep: one Adam step on a worker pool, in two hand-offs.
// Phase 0 splits the batch's rows: each worker gathers its contiguous share into the shared batch input
// and runs the forward pass, the loss and the backward pass of ∂L/∂Z on it, with single-threaded
// products, into its rows of one shared workspace. Phase 1 splits the parameters: each worker forms the
// weight gradients of its own rows of W over the whole batch (one product with k = batch, the way one
// thread would) and applies Adam to exactly those parameters while they are in its cache. No gradient
// is summed across workers, so nothing is reduced; each gradient element comes from one product of a
// shape fixed by the thread count and batch size, so the same thread count always gives the same
// weights (a different count splits the products differently, which changes the last bits).
import SwiftKernels

final class DataParallelStep: WorkerJob {
    let pool: WorkerPool
    /// One single-threaded engine per worker.
    let engines: [ComputeEngine]
    /// Activations and ∂L/∂Z of the whole batch (each worker writes its rows) and the gradients.
    private let workspace: NetworkWorkspace
    private let network: Network
    /// Phase 1's work: for each worker, the parameter blocks it differentiates and updates.
    private let blocks: [[GradientBlock]]
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

    /// Rows `inputRows` of layer `layer`'s W [in, out] (with its bias when `withBias`): a contiguous range
    /// of the parameters, `parameters`.
    struct GradientBlock: Equatable {
        let layer: Int
        let inputRows: Range<Int>
        let withBias: Bool
        let parameters: Range<Int>
    }

    /// `workers` workers of `kind` engines for batches of up to `batchSize` rows.
    init(network: Network, kind: EngineKind, workers: Int, batchSize: Int) {
        pool = WorkerPool(count: workers)
        engines = (0..<workers).map { _ in makeEngine(kind, threads: 1) }
        workspace = NetworkWorkspace(network: network, capacity: batchSize)
        self.network = network
        blocks = Self.plan(network.layers, workers: workers)
        statistics = .allocate(capacity: workers)
        statistics.initialize(repeating: BatchStatistics(lossSum: 0, correct: 0), count: workers)
    }

    deinit { statistics.deallocate() }

    /// Below this many weights per worker a layer is not split: one worker takes it whole.
    static let minimumSplit = 4096

    /// Phase 1's blocks. A layer with at least `minimumSplit` weights per worker is split by rows of W into
    /// one even block per worker (the bias with the last); a smaller one goes whole to the worker with the
    /// fewest weights so far (the lowest index on ties). Every parameter lies in exactly one block.
    static func plan(_ layers: [DenseLayer], workers: Int) -> [[GradientBlock]] {
        var blocks = [[GradientBlock]](repeating: [], count: workers)
        var load = [Int](repeating: 0, count: workers)
        func add(_ layer: DenseLayer, _ index: Int, rows: Range<Int>, withBias: Bool, to worker: Int) {
            let start = layer.weightOffset + rows.lowerBound * layer.outputSize
            let end = withBias ? layer.biasOffset + layer.outputSize : layer.weightOffset + rows.upperBound * layer.outputSize
            blocks[worker].append(GradientBlock(layer: index, inputRows: rows, withBias: withBias, parameters: start..<end))
            load[worker] += end - start
        }
        for (index, layer) in layers.enumerated() {
            if layer.inputSize >= workers && layer.inputSize * layer.outputSize >= minimumSplit * workers {
                for worker in 0..<workers {
                    let rows = (layer.inputSize * worker / workers)..<(layer.inputSize * (worker + 1) / workers)
                    add(layer, index, rows: rows, withBias: worker == workers - 1, to: worker)
                }
            } else {
                let worker = load.indices.min { load[$0] < load[$1] }!
                add(layer, index, rows: 0..<layer.inputSize, withBias: true, to: worker)
            }
        }
        return blocks
    }

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
        adam = optimizer.beginStep(parameters: network.parameters, gradients: workspace.gradients)
        pool.run(self, phase: 1)
        adam = nil
        return total
    }

    func perform(phase: Int, worker: Int) {
        guard let batchInput else { return }
        if phase == 0 {
            let range = share(worker, of: rows.count)
            statistics[worker] = BatchStatistics(lossSum: 0, correct: 0)
            guard !range.isEmpty, let images, let labels, let batchLabels else { return }
            let width = images.width
            let start = rows.startIndex + range.lowerBound
            let mine = rows[start..<(start + range.count)]
            images.gather(rows: mine, into: batchInput + range.lowerBound * width)
            for (offset, index) in mine.enumerated() { batchLabels[range.lowerBound + offset] = Float(labels[index]) }
            statistics[worker] = network.computeDeltas(
                input: batchInput + range.lowerBound * width, labels: batchLabels + range.lowerBound,
                batch: range.count, meanOver: rows.count, workspace: workspace, rowOffset: range.lowerBound,
                engine: engines[worker])
        } else if let adam {
            for block in blocks[worker] {
                let input = block.layer == 0 ? UnsafePointer(batchInput)
                    : UnsafePointer(workspace.outputs[block.layer - 1].pointer)
                network.addWeightGradient(block.layer, inputRows: block.inputRows, withBias: block.withBias,
                                          input: input, batch: rows.count, workspace: workspace,
                                          engine: engines[worker])
                adam.update(block.parameters)
            }
        }
    }
}
