// DataParallelStep: one Adam step on a worker pool, in two hand-offs, arranged so that the two cores
// share little data: on a virtual machine they may sit on different chiplets of the host, where every
// cache line one core wrote and the other reads costs a slow transfer (docs/performance.md: the
// round trip between the two cores changed several-fold while a process ran). The first layer holds
// nearly all the weights, so it is split by its inputs — rows of W_0 — and each task keeps its rows of
// W_0, their gradients and Adam's moments, and its columns of the batch input, on its own core:
//   phase 0, per task: gather its input columns X[:, K_t] of the whole batch from the read-only images
//     and form its part of the first layer, P_t = X[:, K_t] · W_0[K_t, :] ([batch, out]);
//   phase 1, per task: its share of the batch's rows: Z_0 = b_0 + Σ_t P_t (summed in task order), the
//     activation, the later layers, the loss and the backward pass of ∂L/∂Z (single-threaded
//     products, into its rows of one shared workspace); then, for each later layer whose parts are
//     smaller than the rows' activations and deltas (`rowPartLayers`), its gradient over these rows,
//     into the task's own part;
//   phase 2, per task: the weight gradients of its blocks of parameters over the whole batch — its rows
//     K_t of W_0 from its own X[:, K_t]; a later layer's rows of W as `plan` assigns them, summed from
//     the row tasks' parts or formed from the whole batch's activations and deltas — and Adam on
//     exactly those parameters; then, when the caller has said which rows the next step trains on,
//     that step's phase 0 for the same task. It needs only what the task itself just updated (its rows
//     K_t of W_0) and the read-only images, so it needs no hand-off of its own: a step whose phase 0 was
//     done this way starts at phase 1.
// What crosses between the cores is the parts P_t, ∂L/∂Z_0, the later layers' weights and their
// gradient parts or the other rows' activations and deltas (whichever is smaller), not the first
// layer's weights or the images. Each sum across tasks runs in task order and each product has a
// shape fixed by the thread count and batch size, so the same thread count always gives the same
// weights (a different count splits the sums differently, which changes the last bits).
//
// Below `ColumnSplit.batchLimit` rows, where the engine's products allow it (`ColumnSplit`), the first
// layer is split by its output columns N_t instead: phase 0 forms Z_0[:, N_t] = b_0[N_t] + X · W_0[:, N_t]
// from the whole batch input (each task gathers all of it), phase 1 copies its rows of Z_0, phase 2 forms
// dW_0[:, N_t] and updates W_0[:, N_t], and no later layer is summed from row parts. Columns of a
// row-major W_0 interleave in memory, and two cores updating alternate 256-byte pieces of the same rows
// ran slower together than one alone (docs/performance.md), so each task keeps its columns, their bias,
// gradient and Adam moments in its own contiguous block during an epoch (`ColumnBlock`), and writes them
// back to the network and the optimizer when the epoch ends. Every sum then runs as on one thread, so any
// thread count gives the one-thread weights; a batch of fewer rows (an epoch's last) trains as on one thread.
//
// The split is a plan of tasks (one per configured thread in each phase), not an assignment: a task
// computes the same numbers whichever worker runs it. Each worker first claims the task of its own
// index, so that step after step the same core runs the same share and keeps its data in cache, then
// claims whatever task is still unclaimed, so a late worker delays nothing. And when the second core
// does not pay — the host busy, or the transfers between the two virtual cores slow — the step can run
// every task on the calling thread instead (`solo`) with the same results. The step times itself both
// ways now and then and keeps the faster (`ModeChooser`).
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
    /// Phase 2's tasks: each the parameter blocks it differentiates and updates.
    private let blocks: [[GradientBlock]]
    /// Whether the first layer is split by output columns (`ColumnSplit`), which keeps the one-thread numbers.
    let splitsByColumns: Bool
    /// The batch size the step was built for: with the column split, a smaller batch trains as on one thread.
    private let batchCapacity: Int
    /// With the column split: each task's own copy of its columns of the first layer.
    private let columnBlocks: [ColumnBlock]
    /// Whether `columnBlocks` hold the first layer's current weights and moments (else the network and the
    /// optimizer do): loaded at the first step of an epoch, written back by `publishParameters`.
    private var columnBlocksLoaded = false
    /// The optimizer whose moments the column blocks hold while loaded.
    private var columnOptimizer: AdamOptimizer?
    /// With the column split: the first layer's Z for the batch, [batch, out_0]; task t writes columns N_t.
    private let firstLayerZ: FloatBuffer
    /// Each task's inputs of the first layer, K_t: the input rows of its layer-0 block (empty if none).
    private let firstLayerInputs: [Range<Int>]
    /// Each task's columns X[:, K_t] of the batch input, [batch, K_t.count].
    private let inputs: [FloatBuffer]
    /// Each task's part of the first layer's Z, [batch, out_0] (unused for an empty K_t).
    private let parts: [FloatBuffer]
    /// The parts that exist, in task order: what phase 1 sums.
    private let partPointers: [UnsafePointer<Float>]
    /// The later layers whose gradient phase 1 forms in parts over the row shares, which phase 2's owner
    /// sums (see `rowPartLayers(_:plan:batchSize:)`).
    let rowPartLayers: [Int]
    /// Per task, per entry of `rowPartLayers`: that layer's gradient over the task's rows, laid out like
    /// the layer's parameters.
    private let layerParts: [[FloatBuffer]]
    /// Tasks per phase: the configured thread count.
    private let taskCount: Int
    /// Bit t set: task t of the current phase has been claimed.
    private let claimed = Atomic<Int>(0)
    /// Each phase-1 task's share of the batch statistics. Raw storage: workers write their own element
    /// at the same time, which an Array property would report as overlapping accesses.
    private let statistics: UnsafeMutablePointer<BatchStatistics>
    /// Whether the tasks run on the calling thread alone, from the step's timings.
    private var chooser = ModeChooser()
    /// Tests set this to run every step one way (true: solo) instead of the chooser's.
    var forcedSolo: Bool?

    // The current step, set by `step` before each hand-off.
    private var images: TrainingImages?
    private var rows: ArraySlice<Int> = [][...]
    /// The next batch's rows: each task forms their phase 0 once its phase 2 is done.
    private var nextRows: ArraySlice<Int> = [][...]
    /// The rows whose phase 0 is in `inputs` and `parts` (formed by the last step's phase 2), if any.
    private var preparedRows: [Int] = []
    /// Tests clear this to build steps with the input split at every batch size, so that both splits are
    /// tested on every machine. Set only while no step is being built.
    nonisolated(unsafe) static var allowsColumnSplit = true
    /// Tests clear this to run every phase 0 at the start of its own step (the numbers must not change).
    var preparesNextBatch = true
    private var labels: UnsafePointer<Int>?
    private var batchLabels: UnsafeMutablePointer<Float>?
    private var adam: AdamSlices?


    /// `workers` workers of `kind` engines for batches of up to `batchSize` rows.
    init(network: Network, kind: EngineKind, workers: Int, batchSize: Int) {
        precondition(workers <= Int.bitWidth, "one claim bit per task")
        pool = WorkerPool(count: workers)
        engines = (0..<workers).map { _ in makeEngine(kind, threads: 1) }
        workspace = NetworkWorkspace(network: network, capacity: batchSize)
        self.network = network
        let layers = network.layers
        let byColumns = Self.allowsColumnSplit
            && ColumnSplit.keepsOneThreadNumbers(layers, engine: engines[0], tasks: workers, batchSize: batchSize)
        splitsByColumns = byColumns
        batchCapacity = batchSize
        let plan = Self.plan(layers, tasks: workers, firstLayerByColumns: byColumns)
        blocks = plan
        firstLayerInputs = plan.map { $0.first { $0.layer == 0 }?.inputRows ?? 0..<0 }
        columnBlocks = plan.compactMap { $0.first { $0.layer == 0 }?.columns }.map {
            ColumnBlock(columns: $0, inputs: layers[0].inputSize)
        }
        firstLayerZ = FloatBuffer(count: byColumns ? batchSize * layers[0].outputSize : 1)
        inputs = firstLayerInputs.map { FloatBuffer(count: max(1, batchSize * $0.count)) }
        parts = firstLayerInputs.map { FloatBuffer(count: $0.isEmpty || byColumns ? 1 : batchSize * layers[0].outputSize) }
        partPointers = byColumns ? [] : zip(firstLayerInputs, parts).filter { !$0.0.isEmpty }.map { UnsafePointer($0.1.pointer) }
        let rowPartLayers = byColumns ? [] : Self.rowPartLayers(layers, plan: plan, batchSize: batchSize)
        self.rowPartLayers = rowPartLayers
        layerParts = (0..<workers).map { _ in rowPartLayers.map { FloatBuffer(count: layers[$0].parameterCount) } }
        taskCount = workers
        preparedRows.reserveCapacity(batchSize)
        statistics = .allocate(capacity: workers)
        statistics.initialize(repeating: BatchStatistics(lossSum: 0, correct: 0), count: workers)
    }

    deinit { statistics.deallocate() }

    /// Forgets the first-layer parts formed for the next batch: the trainer calls this where a step may follow
    /// that is not the one the last `next` named (a new epoch or a new `train`, possibly on other images or
    /// weights).
    func discardPreparedBatch() {
        preparedRows.removeAll(keepingCapacity: true)
    }

    /// Task `task`'s rows of a batch of `count`: contiguous, sizes differing by at most one.
    private func share(_ task: Int, of count: Int) -> Range<Int> {
        ColumnSplit.share(task, of: count, tasks: taskCount)
    }

    /// Trains on the batch `rows` (indices into `images` and `labels`): gradients, then Adam. Each task
    /// gathers its columns of the rows; their labels go to `batchLabels`. `next` is the rows the following
    /// call trains on, of the same `images`, or empty where the caller does not know them: each task then
    /// forms its part of their first layer as soon as it has updated its weights. The weights must not be
    /// changed between the two calls (the following call redoes phase 0 when its rows differ).
    func step(rows: ArraySlice<Int>, next: ArraySlice<Int> = [][...], images: TrainingImages, labels: UnsafePointer<Int>,
              batchLabels: UnsafeMutablePointer<Float>,
              optimizer: AdamOptimizer) -> BatchStatistics {
        self.rows = rows
        self.nextRows = next
        self.images = images
        self.labels = labels
        self.batchLabels = batchLabels
        if splitsByColumns && rows.count != batchCapacity {
            return stepAsOneThread(rows: rows, images: images, labels: labels, batchLabels: batchLabels, optimizer: optimizer)
        }
        if splitsByColumns && !columnBlocksLoaded { loadColumnBlocks(optimizer: optimizer) }
        let trySolo = forcedSolo ?? chooser.nextStepSolo
        let started = DispatchTime.now().uptimeNanoseconds
        if !rows.elementsEqual(preparedRows) { run(phase: 0, solo: trySolo) }
        preparedRows.removeAll(keepingCapacity: true)
        run(phase: 1, solo: trySolo)
        var total = BatchStatistics(lossSum: 0, correct: 0)
        for part in UnsafeBufferPointer(start: statistics, count: taskCount) {  // task order: the same sum every time
            total.lossSum += part.lossSum
            total.correct += part.correct
        }
        // Under the column split every number matches one thread's, the reported loss too: its rows' losses
        // in row order, not the tasks' partial sums (which differ in the last bits, and could decide the
        // divergence check below differently).
        if splitsByColumns {
            total.lossSum = network.lossSumInRowOrder(labels: batchLabels, batch: rows.count, workspace: workspace)
        }
        // A diverged batch must not reach the weights (the trainer stops on it).
        guard !Trainer.hasDiverged(total, rows: rows.count) else { return total }
        adam = optimizer.beginStep(parameters: network.parameters, gradients: workspace.gradients)
        run(phase: 2, solo: trySolo)
        if preparesNextBatch { preparedRows.append(contentsOf: nextRows) }  // capacity: the batch size, reserved at init
        adam = nil
        chooser.record(solo: trySolo, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return total
    }

    /// Copies the first layer's weights and Adam moments from the network and `optimizer` into the tasks'
    /// column blocks (and zeroes their gradients, as the optimizer leaves its own).
    private func loadColumnBlocks(optimizer: AdamOptimizer) {
        let layer = network.layers[0], (first, second) = optimizer.moments
        for block in columnBlocks {
            block.copy(from: network.parameters.pointer, layer: layer, into: block.weights.pointer)
            block.copy(from: first.pointer, layer: layer, into: block.firstMoment.pointer)
            block.copy(from: second.pointer, layer: layer, into: block.secondMoment.pointer)
            block.gradients.pointer.update(repeating: 0, count: block.gradients.count)
        }
        columnOptimizer = optimizer
        columnBlocksLoaded = true
    }

    /// Writes the column blocks' weights and moments back to the network and the optimizer, where anything
    /// else reads them (an evaluation, a save, a step on one thread). The trainer calls this at the end of
    /// every epoch; a step that follows loads them again.
    func publishParameters() {
        guard columnBlocksLoaded, let optimizer = columnOptimizer else { return }
        let layer = network.layers[0], (first, second) = optimizer.moments
        for block in columnBlocks {
            block.copy(block.weights.pointer, layer: layer, to: network.parameters.pointer)
            block.copy(block.firstMoment.pointer, layer: layer, to: first.pointer)
            block.copy(block.secondMoment.pointer, layer: layer, to: second.pointer)
        }
        columnBlocksLoaded = false
        columnOptimizer = nil
    }

    /// A batch of other than the step's size under the column split (an epoch's last): trained on the
    /// calling thread exactly as a one-thread trainer trains it — the whole batch through
    /// `Network.computeGradients`, then Adam — since its shares would slice the products differently.
    private func stepAsOneThread(rows: ArraySlice<Int>, images: TrainingImages, labels: UnsafePointer<Int>,
                                 batchLabels: UnsafeMutablePointer<Float>, optimizer: AdamOptimizer) -> BatchStatistics {
        preparedRows.removeAll(keepingCapacity: true)
        publishParameters()
        let input = inputs[0].pointer  // [batchCapacity, in_0]: every task's inputs are the whole batch here
        images.gather(rows: rows, into: input)
        for (offset, row) in rows.enumerated() { batchLabels[offset] = Float(labels[row]) }
        let total = network.computeGradients(input: input, labels: batchLabels, batch: rows.count,
                                             workspace: workspace, engine: engines[0])
        guard !Trainer.hasDiverged(total, rows: rows.count) else { return total }
        optimizer.update(parameters: network.parameters, gradients: workspace.gradients)
        return total
    }

    /// Runs every task of `phase`: on the calling thread alone, or claimed by the pool's workers.
    private func run(phase: Int, solo: Bool) {
        if solo || pool.count == 1 {
            // Chosen alone, workers spinning would only compete for the host; with pool steps to follow
            // soon, they should be up when those begin.
            if chooser.poolSoon { pool.wake() } else { pool.rest() }
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
        let count = rows.count
        switch phase {
        case 0:
            formFirstLayerPart(task: task, rows: rows, engine: engine)
        case 1:
            let range = share(task, of: count)
            statistics[task] = BatchStatistics(lossSum: 0, correct: 0)
            guard !range.isEmpty, let labels, let batchLabels else { return }
            for offset in range { batchLabels[offset] = Float(labels[rows[rows.startIndex + offset]]) }
            if splitsByColumns {
                network.activateFirstLayer(from: firstLayerZ.pointer, batch: range.count, rowOffset: range.lowerBound,
                                           workspace: workspace)
            } else {
                network.finishFirstLayer(parts: partPointers, batch: range.count, rowOffset: range.lowerBound,
                                         workspace: workspace)
            }
            statistics[task] = network.computeDeltas(
                input: inputs[task].pointer /* not read: the first layer is done */, labels: batchLabels + range.lowerBound,
                batch: range.count, meanOver: count,
                workspace: workspace, rowOffset: range.lowerBound, firstLayerDone: true, engine: engine)
            for (slot, layer) in rowPartLayers.enumerated() {
                network.weightGradientPart(layer, rows: range, workspace: workspace, into: layerParts[task][slot].pointer,
                                           engine: engine)
            }
        default:
            guard let adam else { return }
            // The next batch's columns are gathered at this phase's end: ask for them now.
            images?.prefetch(rows: nextRows, columns: firstLayerInputs[task])
            for block in blocks[task] {
                if block.columns != nil {  // the first layer's columns N_t, in this task's own block
                    let own = columnBlocks[task]
                    own.addGradient(input: inputs[task].pointer, delta: workspace.deltas[0].pointer, batch: count,
                                    width: network.layers[0].outputSize, engine: engine)
                    adam.on(parameters: own.weights, gradients: own.gradients, firstMoment: own.firstMoment,
                            secondMoment: own.secondMoment).update(0..<own.weights.count)
                    continue
                } else if block.layer == 0 {
                    network.addWeightGradient(0, inputRows: block.inputRows, withBias: block.withBias,
                                              input: inputs[task].pointer, batch: count, workspace: workspace,
                                              inputHoldsOnlyTheseRows: true, engine: engine)
                } else if let slot = rowPartLayers.firstIndex(of: block.layer) {
                    // The block's elements of the row tasks' parts (laid out like the layer's parameters),
                    // summed in task order: the same sum every time.
                    let gradient = workspace.gradients.pointer + block.parameters.lowerBound
                    let offset = block.parameters.lowerBound - network.layers[block.layer].weightOffset
                    for part in 0..<taskCount where !share(part, of: count).isEmpty {
                        let values = layerParts[part][slot].pointer + offset
                        for index in 0..<block.parameters.count { gradient[index] += values[index] }
                    }
                } else {
                    network.addWeightGradient(block.layer, inputRows: block.inputRows, withBias: block.withBias,
                                              input: workspace.outputs[block.layer - 1].pointer, batch: count,
                                              workspace: workspace, engine: engine)
                }
                adam.update(block.parameters)
            }
            // The next step's phase 0 overwrites this task's inputs and part, which only its own blocks
            // above read in this phase.
            if preparesNextBatch && !nextRows.isEmpty { formFirstLayerPart(task: task, rows: nextRows, engine: engine) }
        }
    }

    /// Phase 0 of task `task` for the batch `rows`: its columns X[:, K_t] into `inputs[task]` and its part
    /// of the first layer, X[:, K_t] · W_0[K_t, :], into `parts[task]` ([rows.count, out_0]).
    private func formFirstLayerPart(task: Int, rows: ArraySlice<Int>, engine: ComputeEngine) {
        let columns = firstLayerInputs[task]
        guard !columns.isEmpty, let images else { return }
        if splitsByColumns {  // X is the whole batch input; Z_0[:, N_t] into the shared Z
            images.gather(rows: rows, into: inputs[task].pointer)
            columnBlocks[task].formZ(input: inputs[task].pointer, batch: rows.count, into: firstLayerZ.pointer,
                                     width: network.layers[0].outputSize, engine: engine)
            return
        }
        images.gather(rows: rows, columns: columns, into: inputs[task].pointer)
        network.firstLayerPart(inputs: columns, input: inputs[task].pointer, batch: rows.count,
                               into: parts[task].pointer, engine: engine)
    }
}
