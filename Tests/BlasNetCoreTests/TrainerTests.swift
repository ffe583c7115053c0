@testable import BlasNetCore
import BlasNetIO
import BlasNetTestSupport
import XCTest

final class TrainerTests: XCTestCase {
    /// `count` synthetic 784-pixel samples: class 1 brightens the left half, class 0 the right half.
    private func syntheticData(count: Int, seed: UInt64) -> LabeledImages {
        var generator = SeededGenerator(seed: seed)
        var images: [Float] = [], labels: [Int] = []
        for index in 0..<count {
            let label = index % 2
            labels.append(label)
            for pixel in 0..<784 {
                let leftHalf = pixel % 28 < 14
                let base: Float = (leftHalf == (label == 1)) ? 0.6 : 0.1
                images.append(min(1, base + generator.nextUnitFloat() * 0.3))
            }
        }
        return try! LabeledImages(images: images, width: 784, labels: labels)
    }

    private func train(_ kind: ModelKind, engine: ComputeEngine, data: LabeledImages, batchSize: Int,
                       epochs: Int = 1, learningRate: Float = 1e-3, seed: UInt64 = 9) throws -> (Trainer, TrainingResult) {
        let configuration = TrainingConfiguration(model: kind, epochs: epochs, batchSize: batchSize,
                                                  learningRate: learningRate, seed: seed)
        let trainer = try Trainer(configuration: configuration, engine: engine)
        return (trainer, try trainer.train(on: data, test: data))
    }

    func testSameSeedGivesBitIdenticalWeights() throws {
        let data = syntheticData(count: 40, seed: 1)
        for (name, make) in [("blas", { OpenBLASEngine(threads: 1) as ComputeEngine }),
                             ("swift", { SwiftEngine(threads: 1) as ComputeEngine })] {
            let (first, firstResult) = try train(.dense, engine: make(), data: data, batchSize: 8, epochs: 2)
            let (second, secondResult) = try train(.dense, engine: make(), data: data, batchSize: 8, epochs: 2)
            XCTAssertEqual(first.network.parameters.array, second.network.parameters.array, name)
            XCTAssertEqual(firstResult.finalLoss, secondResult.finalLoss, name)
            let (other, _) = try train(.dense, engine: make(), data: data, batchSize: 8, epochs: 2, seed: 10)
            XCTAssertNotEqual(first.network.parameters.array, other.network.parameters.array,
                              "\(name): another seed must give other weights")
        }
    }

    func testSameSeedGivesSameInitialWeightsOnBothEngines() throws {
        let blas = try Trainer(configuration: TrainingConfiguration(seed: 5), engine: OpenBLASEngine(threads: 1))
        let swift = try Trainer(configuration: TrainingConfiguration(seed: 5), engine: SwiftEngine(threads: 1))
        XCTAssertEqual(blas.network.parameters.array, swift.network.parameters.array)
        // Glorot-uniform limits: √(6/(784+128)) for fc1; biases zero.
        let first = blas.network.layers[0]
        let weights = blas.network.parameters.array[0..<first.weightCount]
        XCTAssertLessThanOrEqual(weights.map(abs).max()!, (6.0 / 912.0).squareRoot())
        XCTAssertGreaterThan(weights.map(abs).max()!, 0.9 * (6.0 / 912.0).squareRoot())
        XCTAssertTrue(blas.network.parameters.array[first.biasOffset..<(first.biasOffset + 128)].allSatisfy { $0 == 0 })
    }

    /// Glorot init draws the random numbers in [out, in] row-major order (output unit by output unit) and
    /// stores draw (o, i) at W[i, o] of the [in, out] matrix: a seed gives the same network as when W was
    /// stored [out, in], only transposed.
    func testGlorotInitDrawsInOutputMajorOrderAndStoresTransposed() throws {
        let network = try Network(layerSizes: [5, 3, 2, 1], hiddenActivation: .relu)
        var generator = SeededGenerator(seed: 17)
        network.initializeGlorotUniform(using: &generator)
        var replay = SeededGenerator(seed: 17)
        for layer in network.layers {
            let limit = Float((6.0 / Double(layer.inputSize + layer.outputSize)).squareRoot())
            for o in 0..<layer.outputSize {
                for i in 0..<layer.inputSize {
                    let expected = replay.nextFloat(symmetric: limit)
                    XCTAssertEqual(network.parameters[layer.weightOffset + i * layer.outputSize + o].bitPattern,
                                   expected.bitPattern, "W[\(i), \(o)] at offset \(layer.weightOffset)")
                }
            }
            for j in 0..<layer.outputSize { XCTAssertEqual(network.parameters[layer.biasOffset + j], 0) }
        }
        // Nothing else was drawn: both generators are at the same point of the stream.
        XCTAssertEqual(generator.next(), replay.next())
    }

    /// Three Adam steps (24 samples, batch 8, one epoch) from one seed on both engines, both models.
    func testThreeStepsAgreeAcrossEngines() throws {
        let data = syntheticData(count: 24, seed: 2)
        for kind in ModelKind.allCases {
            let (blas, _) = try train(kind, engine: OpenBLASEngine(threads: 1), data: data, batchSize: 8)
            let (swift, _) = try train(kind, engine: SwiftEngine(threads: 2), data: data, batchSize: 8)
            XCTAssertEqual(blas.optimizer.step, 3)
            let initial = try Trainer(configuration: TrainingConfiguration(model: kind, seed: 9),
                                      engine: OpenBLASEngine(threads: 1)).network.parameters.array
            let a = blas.network.parameters.array, b = swift.network.parameters.array
            var moved = 0
            for index in a.indices {
                // Adam moves each weight by ≤ ~lr per step; the engines' rounding differs by ~1e-7 relative.
                XCTAssertEqual(a[index], b[index], accuracy: 1e-5 + 1e-4 * abs(a[index]), "\(kind) [\(index)]")
                if a[index] != initial[index] { moved += 1 }
            }
            XCTAssertGreaterThan(moved, a.count / 2, "\(kind): training must have moved the weights")
        }
    }

    func testDivergenceStopsWithEpochAndStep() throws {
        let data = syntheticData(count: 64, seed: 3)
        XCTAssertThrowsError(try train(.dense, engine: OpenBLASEngine(threads: 1), data: data, batchSize: 8,
                                       learningRate: 1e6)) { error in
            guard case let .diverged(epoch, step, _)? = error as? TrainingError else { return XCTFail("got \(error)") }
            XCTAssertEqual(epoch, 1)
            XCTAssertGreaterThan(step, 1)
            XCTAssertTrue("\(error)".contains("epoch 1, step \(step)"))
        }
    }

    func testInvalidConfigurationsAreRejected() {
        for configuration in [TrainingConfiguration(epochs: 0), TrainingConfiguration(batchSize: 0),
                              TrainingConfiguration(learningRate: -1), TrainingConfiguration(learningRate: .nan)] {
            XCTAssertThrowsError(try Trainer(configuration: configuration, engine: OpenBLASEngine(threads: 1)))
        }
    }

    func testLastPartialBatchIsKept() throws {
        let data = syntheticData(count: 21, seed: 4)
        let (trainer, _) = try train(.dense, engine: OpenBLASEngine(threads: 1), data: data, batchSize: 8, epochs: 2)
        XCTAssertEqual(trainer.optimizer.step, 6, "21 samples at batch 8: 3 steps per epoch")
    }

    /// The default dense configuration on the real 0-vs-1 subset, 1 epoch to keep debug tests short.
    func testDenseModelReachesAccuracyFloorOnRealData() throws {
        let (train, test) = try RealData.zeroVersusOne()
        XCTAssertEqual(train.count, 12_665)
        XCTAssertEqual(test.count, 2_115)
        let trainer = try Trainer(configuration: TrainingConfiguration(epochs: 1), engine: OpenBLASEngine(threads: 1))
        let result = try trainer.train(on: train, test: test)
        XCTAssertGreaterThanOrEqual(result.test.accuracy, 0.995, "\(result.test.errors) errors of \(test.count)")
    }

    /// The Swift engine splits C by rows or columns, never the depth, so its numbers do not depend on the
    /// thread count: 1 and 2 threads train bit-identical weights.
    func testFlopsPerSampleOfTheRealModel() {
        // forward 2·(784·128 + 128·64 + 64·1) = 217,216; backward the same for dW plus 2·(128·64 + 64·1) for dX.
        XCTAssertEqual(Network(kind: .dense).flopsPerSample, 217_216 + 217_216 + 16_512)
    }

    func testBatchSizeBeyondTheLimitIsRejected() {
        XCTAssertThrowsError(try Trainer(configuration: TrainingConfiguration(batchSize: TrainingConfiguration.maximumBatchSize + 1),
                                         engine: OpenBLASEngine(threads: 1)))
        XCTAssertNoThrow(try Trainer(configuration: TrainingConfiguration(batchSize: 1), engine: OpenBLASEngine(threads: 1)))
    }

    /// One rule for every caller: the trainer refuses what `validate` refuses, naming the setting.
    func testConfigurationValidationNamesTheSetting() throws {
        XCTAssertNoThrow(try TrainingConfiguration().validate())
        let cases: [(TrainingConfiguration, TrainingConfiguration.Setting)] = [
            (TrainingConfiguration(epochs: 0), .epochs),
            (TrainingConfiguration(batchSize: 0), .batchSize),
            (TrainingConfiguration(batchSize: TrainingConfiguration.maximumBatchSize + 1), .batchSize),
            (TrainingConfiguration(learningRate: -1), .learningRate),
            (TrainingConfiguration(learningRate: .infinity), .learningRate),
        ]
        for (configuration, expected) in cases {
            for attempt in [{ try configuration.validate() },
                            { _ = try Trainer(configuration: configuration, engine: SwiftEngine(threads: 1)) }] {
                XCTAssertThrowsError(try attempt()) { error in
                    guard case let TrainingError.invalidSetting(setting, _, _) = error else {
                        return XCTFail("unexpected error \(error)")
                    }
                    XCTAssertEqual(setting, expected)
                }
            }
        }
        XCTAssertEqual(String(describing: TrainingError.invalidSetting(.batchSize, requirement: "within 1…8", value: "9")),
                       "batch size must be within 1…8 (got 9)")
    }
}
