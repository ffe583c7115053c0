/// A fixed-size, zero-initialised Float buffer with a stable address: the storage behind parameters,
/// gradients and per-batch activations. Allocated once; kernels write through `pointer` without
/// copy-on-write or exclusivity checks in the training step. The storage starts on a 64-byte cache line,
/// so slices that start at multiples of 16 floats (as Adam's per-thread slices do) never share a line.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let capacity = max(count, 1)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

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
