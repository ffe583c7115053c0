// The plan of a parallel step's tasks: which blocks of parameters each task differentiates and updates in
// phase 2 (and, through the first layer's blocks, what it forms in phase 0), and which later layers form
// their gradient in row parts. A plan depends only on the layers, the task count and the split, so the same
// thread count always gives the same plan — and the same sums.

extension DataParallelStep {
    /// Rows `inputRows` of layer `layer`'s W [in, out] (with its bias when `withBias`): a contiguous range
    /// of the parameters, `parameters`. With `columns`, only those columns of the rows and the bias — not
    /// contiguous; `parameters` is then empty.
    struct GradientBlock: Equatable {
        let layer: Int
        let inputRows: Range<Int>
        let withBias: Bool
        let parameters: Range<Int>
        var columns: Range<Int>? = nil
    }

    /// Below this many weights per task a layer is not split: one task takes it whole.
    static let minimumSplit = 4096

    /// Phase 2's tasks (and, through layer 0's blocks, phase 0's inputs K_t). A layer with at least
    /// `minimumSplit` weights per task is split by rows of W into one even block per task (the bias with
    /// the last); a smaller one goes whole to the task with the fewest weights so far (the lowest index on
    /// ties). Every parameter lies in exactly one block. `firstLayerByColumns`: the first layer is split
    /// by its output columns instead, one even block per task, each with its columns of the bias.
    static func plan(_ layers: [DenseLayer], tasks workers: Int, firstLayerByColumns: Bool = false) -> [[GradientBlock]] {
        var blocks = [[GradientBlock]](repeating: [], count: workers)
        var load = [Int](repeating: 0, count: workers)
        func add(_ layer: DenseLayer, _ index: Int, rows: Range<Int>, withBias: Bool, to worker: Int) {
            let start = layer.weightOffset + rows.lowerBound * layer.outputSize
            let end = withBias ? layer.biasOffset + layer.outputSize : layer.weightOffset + rows.upperBound * layer.outputSize
            blocks[worker].append(GradientBlock(layer: index, inputRows: rows, withBias: withBias, parameters: start..<end))
            load[worker] += end - start
        }
        for (index, layer) in layers.enumerated() {
            if index == 0 && firstLayerByColumns {
                for worker in 0..<workers {
                    let columns = ColumnSplit.share(worker, of: layer.outputSize, tasks: workers)
                    blocks[worker].append(GradientBlock(layer: 0, inputRows: 0..<layer.inputSize, withBias: true,
                                                        parameters: layer.weightOffset..<layer.weightOffset,
                                                        columns: columns))
                    load[worker] += (layer.inputSize + 1) * columns.count
                }
            } else if layer.inputSize >= workers && layer.inputSize * layer.outputSize >= minimumSplit * workers {
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

    /// The later layers (index ≥ 1) whose gradient is better formed in parts over the row shares: the
    /// floats that then cross between the cores — each block's rows of the other T − 1 parts, (T − 1) ·
    /// (in + 1) · out over the layer — are fewer than those the blocks' owners would otherwise read of
    /// the other rows' activations and deltas: B (T − 1) / T · (in + out) for a layer one task owns
    /// whole, B (T − 1) · (in / T + out) for one split by rows of W among the T tasks (B the batch
    /// size). For 128 → 64 split on two tasks that holds from batch 65 on; for a 64 → 1 output layer
    /// from batch 4.
    static func rowPartLayers(_ layers: [DenseLayer], plan: [[GradientBlock]], batchSize: Int) -> [Int] {
        let tasks = plan.count
        return (1..<max(1, layers.count)).filter { index in
            let layer = layers[index]
            let split = plan.joined().filter { $0.layer == index }.count > 1
            let parts = (tasks - 1) * layer.parameterCount
            let rows = split ? batchSize * (tasks - 1) * (layer.inputSize / tasks + layer.outputSize)
                             : batchSize * (tasks - 1) / tasks * (layer.inputSize + layer.outputSize)
            return parts < rows
        }
    }
}
