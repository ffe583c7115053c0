@testable import BlasNetCore
import BlasNetTestSupport
import XCTest

/// Labelled sets from plain arrays: their checks, subsets and the stratified validation split.
final class LabeledImagesTests: XCTestCase {
    /// 100 rows of width 2: class c has 10·(c + 1) rows (10, 20, 30, 40), row values identify the row.
    private func unevenSet() throws -> LabeledImages {
        var labels: [Int] = []
        for c in 0..<4 { labels += Array(repeating: c, count: 10 * (c + 1)) }
        let images = labels.indices.flatMap { [Float($0), Float($0) + 0.5] }
        return try LabeledImages(images: images, width: 2, labels: labels, classLabels: [2, 4, 6, 8])
    }

    func testStratifiedSplitKeepsEveryClassInProportion() throws {
        let data = try unevenSet()
        let (train, validation) = data.stratifiedSplit(validationFraction: 0.2, seed: 7)
        func counts(_ set: LabeledImages) -> [Int] { (0..<4).map { c in set.labels.filter { $0 == c }.count } }
        XCTAssertEqual(counts(validation), [2, 4, 6, 8], "20 % of each class")
        XCTAssertEqual(counts(train), [8, 16, 24, 32])
        XCTAssertEqual(train.classLabels, [2, 4, 6, 8])
        XCTAssertEqual(Set(train.sourceIndices).intersection(validation.sourceIndices), [], "no row in both")
        XCTAssertEqual(Set(train.sourceIndices).union(validation.sourceIndices).count, 100)
        for set in [train, validation] {
            for (row, source) in set.sourceIndices.enumerated() {
                XCTAssertEqual(set.images[row * 2], Float(source), "row \(row) carries its own pixels")
                XCTAssertEqual(set.labels[row], data.labels[source])
            }
        }
        let again = data.stratifiedSplit(validationFraction: 0.2, seed: 7)
        XCTAssertEqual(again.validation.sourceIndices, validation.sourceIndices, "same seed, same split")
        let other = data.stratifiedSplit(validationFraction: 0.2, seed: 8)
        XCTAssertNotEqual(other.validation.sourceIndices, validation.sourceIndices, "another seed, another split")
    }

    func testSmallClassesKeepARowOnEachSide() throws {
        let data = try LabeledImages(images: [0, 1, 2, 3, 4], width: 1, labels: [0, 0, 1, 1, 1])
        let (train, validation) = data.stratifiedSplit(validationFraction: 0.01, seed: 1)
        XCTAssertEqual(validation.labels.sorted(), [0, 1], "at least one row of each class is held out")
        XCTAssertEqual(train.count, 3)
    }

    func testMismatchedArraysAreRejected() {
        XCTAssertThrowsError(try LabeledImages(images: [0, 1, 2], width: 2, labels: [0, 1])) { error in
            XCTAssertEqual(error as? LabeledImagesError, .shapeMismatch(values: 3, width: 2, labels: 2))
        }
        XCTAssertThrowsError(try LabeledImages(images: [0, 1], width: 1, labels: [0, 2], classLabels: [5, 6])) { error in
            XCTAssertEqual(error as? LabeledImagesError, .labelOutOfRange(row: 1, label: 2, classCount: 2))
        }
        XCTAssertThrowsError(try LabeledImages(images: [0, 1], width: 1, labels: [0, 1], classLabels: [5, 5]))
        XCTAssertThrowsError(try LabeledImages(images: [], width: 0, labels: []))
    }

    func testNetworkOfAnySizesAndItsLimits() throws {
        let ten = try Network(inputSize: 784, hiddenLayers: [128, 64], classCount: 10, hiddenActivation: .relu)
        XCTAssertEqual(ten.layerSizes, [784, 128, 64, 10])
        XCTAssertEqual(ten.loss.kind, .softmaxCrossEntropy)
        XCTAssertEqual(ten.classCount, 10)
        let two = try Network(inputSize: 784, hiddenLayers: [128, 64], classCount: 2, hiddenActivation: .relu)
        XCTAssertEqual(two.layerSizes, [784, 128, 64, 1], "two classes keep the one-logit sigmoid model")
        XCTAssertEqual(two.loss.kind, .binaryCrossEntropy)
        XCTAssertThrowsError(try Network(layerSizes: [784, 0, 10], hiddenActivation: .relu))
        XCTAssertThrowsError(try Network(layerSizes: [784], hiddenActivation: .relu))
        XCTAssertThrowsError(try Network(inputSize: 4, hiddenLayers: [3], classCount: 1, hiddenActivation: .relu))
        XCTAssertThrowsError(try Network(layerSizes: [4, 3, 2], hiddenActivation: .identity))
        XCTAssertThrowsError(try ten.predict([Float](repeating: 0, count: 785), engine: OpenBLASEngine(threads: 1)))
    }

    /// A ten-class network trained on plain arrays learns a toy task: class = which block of the input is lit.
    func testTenClassTrainingOnPlainArraysLearns() throws {
        var generator = SeededGenerator(seed: 4)
        var images: [Float] = [], labels: [Int] = []
        for row in 0..<400 {
            let label = row % 10
            labels.append(label)
            images += (0..<40).map { $0 / 4 == label ? 0.8 + 0.2 * generator.nextUnitFloat() : 0.2 * generator.nextUnitFloat() }
        }
        let data = try LabeledImages(images: images, width: 40, labels: labels)
        XCTAssertEqual(data.classLabels, Array(0...9))
        for engine in [OpenBLASEngine(threads: 1) as ComputeEngine, SwiftEngine(threads: 1)] {
            let trainer = try Trainer(configuration: TrainingConfiguration(hiddenLayers: [16], epochs: 20, batchSize: 16,
                                                                           learningRate: 1e-2),
                                      engine: engine, for: data)
            let result = try trainer.train(on: data, test: data)
            XCTAssertEqual(result.test.accuracy, 1, "\(engine.kind)")
            XCTAssertLessThan(result.epochs.last!.trainLoss, result.epochs.first!.trainLoss / 10, "\(engine.kind)")
            let predictions = try trainer.network.predict(Array(images.prefix(40 * 10)), engine: engine)
            XCTAssertEqual(predictions.classes, Array(0...9), "\(engine.kind)")
        }
    }
}
