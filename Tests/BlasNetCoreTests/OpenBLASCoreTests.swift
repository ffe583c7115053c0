@testable import BlasNetCore
import XCTest

/// The CPU's features as read from /proc/cpuinfo, and the OpenBLAS kernel family blasnet settles on.
final class OpenBLASCoreTests: XCTestCase {
    private func cpu(_ flags: String) -> CPUFeatures {
        CPUFeatures(cpuinfo: "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 \(flags)\n")
    }

    private let zen3Flags = "avx avx2 fma bmi2"
    private let skylakeXFlags = "avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl"
    private let zen5Flags = "avx avx2 fma avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16"

    func testFlagsAreReadFromCPUInfo() {
        let zen3 = cpu(zen3Flags), skylakeX = cpu(skylakeXFlags), zen5 = cpu(zen5Flags)
        XCTAssertEqual(zen3.modelName, "Test CPU")
        XCTAssertTrue(zen3.hasAVX2FMA)
        XCTAssertFalse(zen3.hasAVX512)
        XCTAssertTrue(skylakeX.hasAVX512)
        XCTAssertFalse(skylakeX.hasAVX512BF16)
        XCTAssertTrue(zen5.hasAVX512)
        XCTAssertTrue(zen5.hasAVX512BF16)
        // AVX-512 F alone (or BF16 without the rest) is not the set the AVX-512 kernels need.
        XCTAssertFalse(cpu("avx2 fma avx512f").hasAVX512)
        XCTAssertFalse(cpu("avx2 fma avx512f avx512_bf16").hasAVX512BF16)
        XCTAssertFalse(cpu("avx2").hasAVX2FMA)
    }

    func testAWarningOnlyWhenTheEnvironmentHoldsAnAVX512CPUToOlderKernels() {
        let zen5 = cpu(zen5Flags), zen3 = cpu(zen3Flags)
        let forcedHaswell = OpenBLASCore(name: "Haswell", forcedBy: "Haswell")
        XCTAssertEqual(forcedHaswell.description, "Haswell, set by OPENBLAS_CORETYPE=Haswell")
        XCTAssertEqual(forcedHaswell.warning(on: zen5),
                       "note: OPENBLAS_CORETYPE=Haswell holds OpenBLAS to its Haswell kernels; this CPU has AVX-512, "
                       + "whose kernels OpenBLAS picks itself when the variable is unset (faster products)")
        XCTAssertNil(forcedHaswell.warning(on: zen3), "an AVX2 CPU loses nothing to the Haswell kernels")
        XCTAssertNil(OpenBLASCore(name: "SkylakeX", forcedBy: "SkylakeX").warning(on: zen5))
        XCTAssertNil(OpenBLASCore(name: "Haswell", forcedBy: nil).warning(on: zen5), "OpenBLAS's own choice")
        XCTAssertEqual(OpenBLASCore(name: "Cooperlake", forcedBy: nil).description, "Cooperlake, chosen by OpenBLAS")
    }

    /// This process: the name is OpenBLAS's, and "forced" exactly when the variable is set.
    func testTheCurrentCoreIsReadFromOpenBLASAndTheEnvironment() {
        let core = OpenBLASCore.current
        XCTAssertFalse(core.name.isEmpty)
        XCTAssertNotEqual(core.name, "unknown")
        XCTAssertEqual(OpenBLASEngine(threads: 1).details.hasSuffix("(core \(core.description))"), true)
        let variable = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        XCTAssertEqual(core.forcedBy, variable?.isEmpty == false ? variable : nil)
        if let variable, !variable.isEmpty {
            // OpenBLAS loaded the family named (names are case-insensitive to it).
            XCTAssertEqual(core.name.lowercased(), variable.lowercased())
        }
    }
}
