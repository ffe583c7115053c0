// beautiful-mnist: all ten MNIST digits with blasnet's public API only, in the spirit of tinygrad's
// beautiful_mnist.py. Reads the IDX files into plain Swift arrays ([Float] pixels row-major, [Int]
// labels), trains 784-128-64-10 with Adam on OpenBLAS, saves, reloads and predicts; exits 1 when the
// test accuracy is below the target. Run: swift run -c release beautiful-mnist [data-dir]
import BlasNet
import Foundation

let directory = CommandLine.arguments.dropFirst().first ?? MNISTDataset.defaultDirectory
let target = 0.97

/// One images/labels pair as plain arrays: pixels scaled to [0, 1], labels 0–9.
func load(_ images: String, _ labels: String) throws -> (x: [Float], y: [Int], width: Int) {
    let pixels = try IDXReader.readImages(at: "\(directory)/\(images)")
    let digits = try IDXReader.readLabels(at: "\(directory)/\(labels)")
    return (pixels.pixels.map { Float($0) / 255 }, digits.map(Int.init), pixels.rows * pixels.columns)
}

do {
    let train = try load(MNISTDataset.trainImages, MNISTDataset.trainLabels)
    let test = try load(MNISTDataset.testImages, MNISTDataset.testLabels)
    let trainSet = try LabeledImages(images: train.x, width: train.width, labels: train.y, classLabels: Array(0...9))
    let testSet = try LabeledImages(images: test.x, width: test.width, labels: test.y, classLabels: Array(0...9))

    let configuration = TrainingConfiguration(model: .dense, hiddenLayers: [128, 64], epochs: 3, batchSize: 32)
    let trainer = try Trainer(configuration: configuration, engine: OpenBLASEngine(threads: 1), for: trainSet)
    let result = try trainer.train(on: trainSet, test: testSet, onEpoch: { epoch in
        print("epoch \(epoch.epoch): loss \(String(format: "%.4f", epoch.trainLoss)), "
              + "test \(String(format: "%.2f", (epoch.testAccuracy ?? 0) * 100))%")
    })

    // Save, load back, and predict the first test images from plain arrays.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("beautiful-mnist.safetensors").path
    try ModelFile.save(network: trainer.network, kind: .dense, classLabels: Array(0...9), to: path)
    let loaded = try ModelFile.load(path)
    let predictions = try loaded.network.predict(Array(test.x.prefix(8 * test.width)), engine: OpenBLASEngine(threads: 1))
    print("first 8 test digits \(Array(test.y.prefix(8))), predicted \(predictions.classes)")

    let accuracy = result.test.accuracy
    print(String(format: "test accuracy %.2f%% (target %.0f%%)", accuracy * 100, target * 100))
    if accuracy < target { exit(1) }
} catch {
    FileHandle.standardError.write(Data("beautiful-mnist: \(error)\n".utf8))
    exit(1)
}
