/// The two networks blasnet trains. Both are 784 → 128 → 64 → 1 with a sigmoid output and binary
/// cross-entropy; they differ in their hidden units.
public enum ModelKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// ReLU hidden units, the Keras model of the original project.
    case dense
    /// Sigmoid hidden units, the hand-written network of the original project.
    case sigmoid

    public static let layerSizes = [LabeledImages.pixelCount, 128, 64, 1]

    public var hiddenActivation: Activation { self == .dense ? .relu : .sigmoid }

    /// The engine each model was paired with in the original project.
    public var defaultEngine: EngineKind { self == .dense ? .blas : .swift }

    public var description: String { rawValue }
}
