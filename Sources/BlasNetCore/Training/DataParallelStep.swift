// DataParallelStep: one Adam step on a worker pool, in two hand-offs.
// Phase 0 splits the batch's rows: each task gathers its contiguous share into the shared batch input
// and runs the forward pass, the loss and the backward pass of ∂L/∂Z on it, with single-threaded
// products, into its rows of one shared workspace. Phase 1 splits the parameters: each task forms the
// weight gradients of its own rows of W over the whole batch (one product with k = batch, the way one
// thread would) and applies Adam to exactly those parameters while they are in its cache. No gradient
// is summed across tasks, so nothing is reduced; each gradient element comes from one product of a
// shape fixed by the thread count and batch size, so the same thread count always gives the same
// weights (a different count splits the products differently, which changes the last bits).
//
// The split is a plan of tasks (one per configured thread in each phase), not an assignment: a task
// computes the same numbers whichever worker runs it. Each worker first claims the task of its own
// index, so that step after step the same core runs the same share — and keeps that share's weights,
// gradients and Adam moments in its cache, instead of fetching them from the other core — then claims
// whatever task is still unclaimed, so a late worker delays nothing. And when the second core does not
// pay — the host busy, or the transfers between the two virtual cores slow — the step can run every
// task on the calling thread instead (`solo`) with the same results. The step times itself both ways
// for a few steps now and then and keeps the faster.
import Dispatch
import Synchronization
import SwiftKernels

final class DataParallelStep: WorkerJob {
    let pool: WorkerPool
    /// One single-threaded engine per worker.
    let engines: [ComputeEngine]
    /// Activations and ∂L/∂Z of the whole batch (each worker writes its rows) and the gradients.
    private let workspace: NetworkWorkspace
    private let network: Network
    /// Phase 1's tasks: each the parameter blocks it differentiates and updates.
    private let blocks: [[GradientBlock]]
    /// Tasks per phase: the configured thread count.
    private let taskCount: Int
    /// Bit t set: task t of the current phase has been claimed.
    private let claimed = Atomic<Int>(0)
    /// Each phase-0 task's share of the batch statistics. Raw storage: workers write their own element
    /// at the same time, which an Array property would report as overlapping accesses.
    private let statistics: UnsafeMutablePointer<BatchStatistics>
    /// Whether the tasks run on the calling thread alone, and the timing that decides it.
    private(set) var solo = false
    private var chooser = ModeChooser()
    /// Tests set this to run every step one way (true: solo) instead of the chooser's.
    var forcedSolo: Bool?

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
        precondition(workers <= Int.bitWidth, "one claim bit per task")
        pool = WorkerPool(count: workers)
        engines = (0..<workers).map { _ in makeEngine(kind, threads: 1) }
        workspace = NetworkWorkspace(network: network, capacity: batchSize)
        self.network = network
        blocks = Self.plan(network.layers, tasks: workers)
        taskCount = workers
        statistics = .allocate(capacity: workers)
        statistics.initialize(repeating: BatchStatistics(lossSum: 0, correct: 0), count: workers)
    }

    deinit { statistics.deallocate() }

    /// Below this many weights per task a layer is not split: one task takes it whole.
    static let minimumSplit = 4096

    /// Phase 1's tasks. A layer with at least `minimumSplit` weights per task is split by rows of W into
    /// one even block per task (the bias with the last); a smaller one goes whole to the task with the
    /// fewest weights so far (the lowest index on ties). Every parameter lies in exactly one block.
    static func plan(_ layers: [DenseLayer], tasks workers: Int) -> [[GradientBlock]] {
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

    /// Task `task`'s rows of a batch of `count`: contiguous, sizes differing by at most one.
    private func share(_ task: Int, of count: Int) -> Range<Int> {
        (count * task / taskCount)..<(count * (task + 1) / taskCount)
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
        let trySolo = forcedSolo ?? chooser.nextStepSolo(chosen: solo)
        let started = DispatchTime.now().uptimeNanoseconds
        run(phase: 0, solo: trySolo)
        var total = BatchStatistics(lossSum: 0, correct: 0)
        for part in UnsafeBufferPointer(start: statistics, count: taskCount) {  // task order: the same sum every time
            total.lossSum += part.lossSum
            total.correct += part.correct
        }
        // A diverged batch must not reach the weights (the trainer stops on it).
        guard total.lossSum.isFinite, total.lossSum / Double(rows.count) <= Trainer.divergedLoss else { return total }
        adam = optimizer.beginStep(parameters: network.parameters, gradients: workspace.gradients)
        run(phase: 1, solo: trySolo)
        adam = nil
        solo = chooser.record(solo: trySolo, nanoseconds: DispatchTime.now().uptimeNanoseconds - started, chosen: solo)
        return total
    }

    /// Runs every task of `phase`: on the calling thread alone, or claimed by the pool's workers.
    private func run(phase: Int, solo: Bool) {
        if solo || pool.count == 1 {
            pool.rest()  // workers spinning through work done alone would only compete for the host
            for task in 0..<taskCount { perform(task: task, phase: phase, engine: engines[0]) }
        } else {
            claimed.store(0, ordering: .relaxed)
            pool.run(self, phase: phase)
        }
    }

    /// Runs task `worker` if no one has claimed it yet, then every other task still unclaimed.
    func perform(phase: Int, worker: Int) {
        for offset in 0..<taskCount {
            let task = (worker + offset) % taskCount
            let bit = 1 << task
            if claimed.bitwiseOr(bit, ordering: .relaxed).oldValue & bit == 0 {
                perform(task: task, phase: phase, engine: engines[worker])
            }
        }
    }

    private func perform(task: Int, phase: Int, engine: ComputeEngine) {
        guard let batchInput else { return }
        if phase == 0 {
            let range = share(task, of: rows.count)
            statistics[task] = BatchStatistics(lossSum: 0, correct: 0)
            guard !range.isEmpty, let images, let labels, let batchLabels else { return }
            let width = images.width
            let start = rows.startIndex + range.lowerBound
            let mine = rows[start..<(start + range.count)]
            images.gather(rows: mine, into: batchInput + range.lowerBound * width)
            for (offset, index) in mine.enumerated() { batchLabels[range.lowerBound + offset] = Float(labels[index]) }
            statistics[task] = network.computeDeltas(
                input: batchInput + range.lowerBound * width, labels: batchLabels + range.lowerBound,
                batch: range.count, meanOver: rows.count, workspace: workspace, rowOffset: range.lowerBound,
                engine: engine)
        } else if let adam {
            for block in blocks[task] {
                let input = block.layer == 0 ? UnsafePointer(batchInput)
                    : UnsafePointer(workspace.outputs[block.layer - 1].pointer)
                network.addWeightGradient(block.layer, inputRows: block.inputRows, withBias: block.withBias,
                                          input: input, batch: rows.count, workspace: workspace, engine: engine)
                adam.update(block.parameters)
            }
        }
    }
}

/// Decides whether a step's tasks run on the pool or on the calling thread alone: every
/// `interval` steps it times `trials` steps on the pool, then `trials` alone (with the workers asleep,
/// as they are while running alone), and keeps the way whose median step was faster — the pool unless
/// running alone beats it by `soloMargin`, so timing noise does not flip a pool that pays. The two ways
/// are timed in blocks, not alternately: after a step alone the workers sleep, and waking them would
/// burden every pool step. It decides only the speed: both ways compute the same numbers.
struct ModeChooser {
    static let interval = 256
    static let trials = 8
    /// Solo's median step must be below this share of the pool's to be chosen (percent).
    static let soloMargin: UInt64 = 95
    private var step = 0
    private var poolTimes: [UInt64] = []
    private var soloTimes: [UInt64] = []

    init() {
        poolTimes.reserveCapacity(Self.trials)
        soloTimes.reserveCapacity(Self.trials)
    }

    /// Whether the coming step runs solo: the pool, then solo, during a trial, else as `chosen`.
    func nextStepSolo(chosen: Bool) -> Bool {
        let phase = step % Self.interval
        return phase < 2 * Self.trials ? phase >= Self.trials : chosen
    }

    /// Records a step's time; returns the way chosen from now on.
    mutating func record(solo: Bool, nanoseconds: UInt64, chosen: Bool) -> Bool {
        defer { step += 1 }
        let phase = step % Self.interval
        guard phase < 2 * Self.trials else { return chosen }
        if solo { soloTimes.append(nanoseconds) } else { poolTimes.append(nanoseconds) }
        guard phase == 2 * Self.trials - 1 else { return chosen }
        // A caller that forced one way (tests) timed only that way: nothing to compare.
        guard !poolTimes.isEmpty, !soloTimes.isEmpty else {
            poolTimes.removeAll(keepingCapacity: true)
            soloTimes.removeAll(keepingCapacity: true)
            return chosen
        }
        poolTimes.sort()
        soloTimes.sort()
        let decision = soloTimes[soloTimes.count / 2] * 100 < poolTimes[poolTimes.count / 2] * Self.soloMargin
        poolTimes.removeAll(keepingCapacity: true)
        soloTimes.removeAll(keepingCapacity: true)
        return decision
    }
}
