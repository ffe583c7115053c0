#if arch(x86_64) && canImport(Glibc)
import Glibc
#endif

/// Whether a thread's float arithmetic flushes subnormal numbers (0 < |x| < 1.18e-38) to zero.
///
/// Why it matters: on x86-64 an SSE/AVX operation that reads or produces a subnormal takes a microcode
/// assist costing on the order of 100 cycles. Late in training, Adam's first moments of rarely lit pixels decay
/// through the subnormal range (×0.9 per step, about 150 steps from 1.2e-38 to zero), and with a few
/// thousand of them in flight the update of the dense model runs at a fraction of its speed
/// (docs/performance.md has the measurement). TensorFlow and JAX
/// flush on the CPU by default; PyTorch does after `torch.set_flush_denormal(True)`. Flushing changes an
/// Adam step by at most about learning rate × 1.2e-38 / ε ≈ 1e-34, far below a weight's last bit: `blasnet
/// train` (10 epochs, seed 42, one thread) ended with the same weights bit for bit either way.
///
/// The mode is per thread (the MXCSR register's FTZ and DAZ bits), so code that hands work to other
/// threads passes the caller's `current` mode on (`perform` inside each work item). On other
/// architectures or C libraries `canFlushSubnormals` is false and `perform` only runs its body.
public struct FloatingPointMode: Equatable, Sendable {
    /// Subnormal results become zero (FTZ) and subnormal inputs are read as zero (DAZ).
    public var flushesSubnormals: Bool

    public init(flushesSubnormals: Bool) {
        self.flushesSubnormals = flushesSubnormals
    }

    /// IEEE 754 arithmetic with gradual underflow: the default of every thread.
    public static let ieee = FloatingPointMode(flushesSubnormals: false)
    /// Subnormals flushed to zero.
    public static let flushSubnormals = FloatingPointMode(flushesSubnormals: true)

    #if arch(x86_64) && canImport(Glibc)
    /// MXCSR bits: flush-to-zero (15) and denormals-are-zero (6).
    private static let flushBits: UInt32 = 0x8040

    public static let canFlushSubnormals = true

    /// The calling thread's mode.
    public static var current: FloatingPointMode {
        var environment = fenv_t()
        fegetenv(&environment)
        return FloatingPointMode(flushesSubnormals: environment.__mxcsr & flushBits == flushBits)
    }

    /// Runs `body` on the calling thread in this mode, then restores the thread's previous mode (also when
    /// `body` throws). Costs a few hundred cycles: use it around whole passes, not inside loops.
    public func perform<Result>(_ body: () throws -> Result) rethrows -> Result {
        var environment = fenv_t()
        fegetenv(&environment)
        let savedBits = environment.__mxcsr & Self.flushBits
        let wantedBits = flushesSubnormals ? Self.flushBits : 0
        if wantedBits == savedBits { return try body() }
        Self.setFlushBits(wantedBits)
        defer { Self.setFlushBits(savedBits) }
        return try body()
    }

    /// Sets only the FTZ and DAZ bits: the rounding mode and exception flags stay as they are.
    private static func setFlushBits(_ bits: UInt32) {
        var environment = fenv_t()
        fegetenv(&environment)
        environment.__mxcsr = environment.__mxcsr & ~flushBits | bits
        fesetenv(&environment)
    }
    #else
    public static let canFlushSubnormals = false
    public static var current: FloatingPointMode { .ieee }
    public func perform<Result>(_ body: () throws -> Result) rethrows -> Result { try body() }
    #endif
}
