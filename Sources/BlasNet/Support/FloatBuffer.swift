/// A fixed-size, zero-initialised Float buffer with a stable address: the storage behind parameters,
/// gradients and per-batch activations. Allocated once; kernels write through `pointer` without
/// copy-on-write or exclusivity checks in the training step.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { pointer.deallocate() }

    public subscript(index: Int) -> Float {
        get { precondition(index >= 0 && index < count, "FloatBuffer index out of range"); return pointer[index] }
        set { precondition(index >= 0 && index < count, "FloatBuffer index out of range"); pointer[index] = newValue }
    }

    /// A copy of the contents.
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Copies `values` in; the count must match.
    public func assign(_ values: [Float]) {
        precondition(values.count == count, "FloatBuffer.assign: \(values.count) values for \(count) slots")
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: count) }
        }
    }
}
