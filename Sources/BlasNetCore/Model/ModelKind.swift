/// The two kinds of network blasnet trains, named by their hidden units. The original models are
/// 784 → 128 → 64 → 1 with a sigmoid output and binary cross-entropy; any hidden sizes and 2–10 classes
/// are built from the same kinds (see `Network(inputSize:hiddenLayers:classCount:hiddenActivation:)`).
public enum ModelKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// ReLU hidden units, the Keras model of the original project.
    case dense
    /// Sigmoid hidden units, the hand-written network of the original project.
    case sigmoid

    public static let layerSizes = [LabeledImages.mnistPixelCount] + defaultHiddenLayers + [1]
    /// The hidden layers of the original models.
    public static let defaultHiddenLayers = [128, 64]

    public var hiddenActivation: Activation { self == .dense ? .relu : .sigmoid }

    /// The engine each model was paired with in the original project.
    public var defaultEngine: EngineKind { self == .dense ? .blas : .swift }

    public var description: String { rawValue }

    /// The kind whose hidden units are `activation`, if any.
    public init?(hiddenActivation activation: Activation) {
        switch activation {
        case .relu: self = .dense
        case .sigmoid: self = .sigmoid
        case .identity: return nil
        }
    }
}
