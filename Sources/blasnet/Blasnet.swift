import ArgumentParser
import BlasNet

@main
struct Blasnet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blasnet",
        abstract: "Train and compare small dense networks on MNIST-style data, on OpenBLAS and on pure Swift.",
        discussion: """
            Two models, by default 784 → 128 → 64 → 1 on the digits 0 and 1 (--hidden sets other sizes, \
            --classes all the ten digits): 'dense' (ReLU hidden units, the Keras model) and 'sigmoid' \
            (sigmoid hidden units, the hand-written net). Two engines: 'blas' (OpenBLAS cblas_sgemm) and \
            'swift' (a pure-Swift SIMD GEMM). Fetch the data first with scripts/fetch-mnist.sh.
            """,
        version: BlasNetVersion.string,
        subcommands: [Train.self, Eval.self, Predict.self, Report.self, Bench.self, Check.self],
        defaultSubcommand: Train.self
    )
}
