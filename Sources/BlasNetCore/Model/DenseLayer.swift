/// Shape and placement of one fully connected layer, y = f(x·W + b). W is [inputSize, outputSize]
/// row-major (the Keras `Dense` kernel layout; the transpose of PyTorch `nn.Linear`'s [out, in]),
/// followed by b [outputSize], inside the network's flat parameter vector. Model files still hold
/// W as [out, in] (`ModelFile` transposes when saving and loading).
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
