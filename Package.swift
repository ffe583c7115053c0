// swift-tools-version:6.2
// 6.2: the first SwiftPM that accepts the kernels' unsafeFlags from a package depended on by version
// (docs/library.md).
import PackageDescription

// The pure-Swift matrix kernels are compiled twice: once for the baseline CPU (SSE2 on x86_64, NEON on
// arm64) and once, on x86_64 hosts, with AVX2 + FMA enabled. The engine picks the variant at run time
// from the CPU's features, so the default build runs everywhere and uses FMA where the CPU has it.
// (Without the flag Swift emits no FMA: `addProduct` would become a library call per element.)
//
// Both kernel modules are optimised even in debug builds (`-O` comes after SwiftPM's `-Onone`): unoptimised
// SIMD code runs orders of magnitude slower, which would make `swift test` crawl through every pure-Swift product.
let optimizedKernelSettings: [SwiftSetting] = [.unsafeFlags(["-O"])]
#if arch(x86_64)
// Only AVX2 and FMA — exactly what the run-time check looks for. (-march=x86-64-v3 would also allow
// BMI1/2, LZCNT, MOVBE and F16C, which a VM may hide while still reporting AVX2 and FMA.)
let avx2Settings: [SwiftSetting] = optimizedKernelSettings + [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
// AVX-512 F, CD, BW, DQ and VL (the Skylake-X set, which Zen 4 and Zen 5 have too) plus FMA: again exactly
// what `CPUFeatures.hasAVX512` checks.
let avx512Settings: [SwiftSetting] = optimizedKernelSettings + [.unsafeFlags(
    ["-mavx2", "-mfma", "-mavx512f", "-mavx512cd", "-mavx512bw", "-mavx512dq", "-mavx512vl"].flatMap { ["-Xcc", $0] })]
#else
let avx2Settings: [SwiftSetting] = optimizedKernelSettings
let avx512Settings: [SwiftSetting] = optimizedKernelSettings
#endif

let package = Package(
    name: "blasnet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "blasnet", targets: ["blasnet"]),
        .library(name: "BlasNet", targets: ["BlasNet"]),
        .library(name: "BlasNetPictures", targets: ["BlasNetPictures"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 for the data set's fingerprint.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        // zlib, for gzipped IDX files (Cairo's PNG support needs it anyway).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Portable pure-Swift GEMM (packing, register-blocked SIMD micro-kernel, threads).
        .target(name: "SwiftKernels", swiftSettings: optimizedKernelSettings),
        // The same code inlined into a module built for AVX2 + FMA.
        .target(name: "SwiftKernelsAVX2", dependencies: ["SwiftKernels"], swiftSettings: avx2Settings),
        // And into one built for AVX-512.
        .target(name: "SwiftKernelsAVX512", dependencies: ["SwiftKernels"], swiftSettings: avx512Settings),
        // The core: buffers, layers, loss, network, Adam, the trainer, the engine protocol and both engines.
        .target(name: "BlasNetCore", dependencies: ["COpenBLAS", "SwiftKernels", "SwiftKernelsAVX2", "SwiftKernelsAVX512"]),
        // The file formats: IDX (raw or gzipped), PGM, the MNIST data set, safetensors, model files, the atomic writer.
        .target(name: "BlasNetIO", dependencies: ["BlasNetCore", "CZlib", .product(name: "Crypto", package: "swift-crypto")]),
        // What a user imports: re-exports the core and the formats.
        .target(name: "BlasNet", dependencies: ["BlasNetCore", "BlasNetIO"]),
        // The throughput benchmark and the accuracy regression check, for the tool.
        .target(name: "BlasNetBench", dependencies: ["BlasNet", "COpenBLAS"]),
        // The pictures (prediction grid, training curves, benchmark chart) on Cairo, from plain data.
        .target(name: "BlasNetPictures", dependencies: ["CCairo"]),
        .executableTarget(
            name: "blasnet",
            dependencies: ["BlasNet", "BlasNetBench", "BlasNetPictures", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Ten digits through the public API only; .ci/run runs it and it fails below its accuracy target.
        .executableTarget(name: "beautiful-mnist", dependencies: ["BlasNet"], path: "Examples/BeautifulMNIST"),
        // Helpers shared by the test targets (temporary directories, real MNIST, python3).
        .target(name: "BlasNetTestSupport", dependencies: ["BlasNet"], path: "Tests/BlasNetTestSupport"),
        // Golden/ holds the PyTorch dump the golden test reads by path (scripts/reference/golden_dump.py).
        .testTarget(name: "BlasNetCoreTests",
                    dependencies: ["BlasNetCore", "BlasNetIO", "BlasNetTestSupport", "SwiftKernels", "SwiftKernelsAVX2",
                                   "SwiftKernelsAVX512"],
                    exclude: ["Golden"]),
        .testTarget(name: "BlasNetIOTests", dependencies: ["BlasNetCore", "BlasNetIO", "BlasNetTestSupport"]),
        // Runs the built `blasnet` binary: exact output, exit codes, faults.
        .testTarget(name: "blasnetTests", dependencies: ["BlasNet", "BlasNetBench", "BlasNetPictures", "BlasNetTestSupport"]),
        .testTarget(name: "BlasNetPicturesTests", dependencies: ["BlasNetPictures", "CCairo"]),
    ]
)
