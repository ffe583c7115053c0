/// destination[i] = Float(source[i]) / 255: pixel bytes to [0, 1], the scaling the MNIST loader applies.
/// A true IEEE division (not a multiply by 1/255), so every build of this kernel gives the loader's bits.
/// Eight lanes at a time, written out (the plain loop stayed scalar); `@inlinable @inline(__always)` so
/// that the AVX2 module compiles its own copy.
@inlinable @inline(__always)
public func scalePixelBytes(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i &+ 8 <= count {
        let bytes = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<UInt8>.self)
        let scaled = SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes)) / 255
        UnsafeMutableRawPointer(destination + i).storeBytes(of: scaled, as: SIMD8<Float>.self)
        i &+= 8
    }
    while i < count {
        destination[i] = Float(source[i]) / 255
        i &+= 1
    }
}

/// The portable build of `scalePixelBytes`.
public func scalePixelBytesBaseline(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<Float>,
                                    count: Int) {
    scalePixelBytes(source, into: destination, count: count)
}
