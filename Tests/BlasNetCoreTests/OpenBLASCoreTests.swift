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
                       + "whose kernels run when the variable is unset (faster products)")
        XCTAssertNil(forcedHaswell.warning(on: zen3), "an AVX2 CPU loses nothing to the Haswell kernels")
        XCTAssertNil(OpenBLASCore(name: "SkylakeX", forcedBy: "SkylakeX").warning(on: zen5))
        XCTAssertNil(OpenBLASCore(name: "Haswell", forcedBy: nil).warning(on: zen5), "OpenBLAS's own choice")
        XCTAssertEqual(OpenBLASCore(name: "Cooperlake", forcedBy: nil).description, "Cooperlake, chosen by OpenBLAS")
    }

    /// OpenBLAS < 0.3.25's Prescott fallback on an Intel model it does not know (an Emerald Rapids Xeon,
    /// family 6 model 207, under Debian's 0.3.21) is replaced by the family the CPU's features call for.
    func testOnlyAFamilyWithoutAVX2IsReplacedOnACPUWithIt() {
        let zen5 = cpu(zen5Flags), skylakeX = cpu(skylakeXFlags), zen3 = cpu(zen3Flags)
        XCTAssertEqual(OpenBLASCore.replacement(for: "Prescott", on: zen5), "Cooperlake")
        XCTAssertEqual(OpenBLASCore.replacement(for: "Prescott", on: skylakeX), "SkylakeX")
        XCTAssertEqual(OpenBLASCore.replacement(for: "Prescott", on: zen3), "Haswell")
        XCTAssertEqual(OpenBLASCore.replacement(for: "Sandybridge", on: zen3), "Haswell")
        XCTAssertEqual(OpenBLASCore.replacement(for: "NEHALEM", on: skylakeX), "SkylakeX", "names compare caselessly")
        XCTAssertNil(OpenBLASCore.replacement(for: "Prescott", on: cpu("avx")), "a CPU without AVX2 keeps it")
        for kept in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertNil(OpenBLASCore.replacement(for: kept, on: zen5), kept)
        }
        XCTAssertEqual(OpenBLASCore(name: "Cooperlake", forcedBy: nil, replaced: "Prescott").description,
                       "Cooperlake, chosen by blasnet from the CPU's features; OpenBLAS picked Prescott")
    }

    /// This process: the name is OpenBLAS's, "forced" exactly when the variable is set, and without the
    /// variable no family below the CPU's vector units is left loaded.
    func testTheCurrentCoreIsReadFromOpenBLASAndTheEnvironment() {
        let core = OpenBLASCore.current
        XCTAssertFalse(core.name.isEmpty)
        XCTAssertNotEqual(core.name, "unknown")
        XCTAssertEqual(OpenBLASEngine(threads: 1).details.hasSuffix("(core \(core.description))"), true)
        XCTAssertTrue(OpenBLASEngine.configuration.contains(" \(core.name) "), OpenBLASEngine.configuration)
        let variable = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        XCTAssertEqual(core.forcedBy, variable?.isEmpty == false ? variable : nil)
        if let variable, !variable.isEmpty {
            // OpenBLAS loaded the family named (names are case-insensitive to it).
            XCTAssertEqual(core.name.lowercased(), variable.lowercased())
            XCTAssertNil(core.replaced)
        } else {  // unset or empty: OpenBLAS picks, and blasnet may replace a fallback
            XCTAssertNil(OpenBLASCore.replacement(for: core.name, on: .current),
                         "\(core.description) on \(CPUFeatures.current.modelName)")
            if let replaced = core.replaced {
                XCTAssertEqual(OpenBLASCore.replacement(for: replaced, on: .current), core.name)
            }
            XCTAssertEqual(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "", "",
                           "the variable is left unset (or empty)")
        }
    }
}
