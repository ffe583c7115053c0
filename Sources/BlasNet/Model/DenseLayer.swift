/// Shape and placement of one fully connected layer, y = f(x·Wᵀ + b). W is [outputSize, inputSize]
/// row-major (PyTorch `nn.Linear` layout), followed by b [outputSize], inside the network's flat
/// parameter vector.
public struct DenseLayer: Sendable, Equatable {
    public let inputSize: Int
    public let outputSize: Int
    public let activation: Activation
    /// Offset of W in the flat parameter (and gradient) vector.
    public let weightOffset: Int
    /// Offset of b, right after W.
    public var biasOffset: Int { weightOffset + weightCount }
    public var weightCount: Int { inputSize * outputSize }
    public var parameterCount: Int { weightCount + outputSize }
}
