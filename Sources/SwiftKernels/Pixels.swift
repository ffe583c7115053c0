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

/// The inverse of `scalePixelBytes` where it exists: bytes[i] = k for values[i] that is exactly Float(k) / 255
/// (k in 0…255, the same bits, so −0 and NaN do not qualify). Returns false at the first value that is not.
/// Here rather than beside its caller so that it runs optimised in debug builds too (10 M pixels per check).
public func exactPixelBytes(_ values: UnsafePointer<Float>, into bytes: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
    for i in 0..<count {
        let value = values[i]
        let level = (value * 255).rounded()
        guard level >= 0, level <= 255 else { return false }  // NaN fails both
        let byte = UInt8(level)
        guard (Float(byte) / 255).bitPattern == value.bitPattern else { return false }
        bytes[i] = byte
    }
    return true
}
