import BlasNet
import BlasNetTestSupport
import Foundation
import XCTest

/// The commands on a model of more than two classes, and the refusals that keep a model from being
/// scored on data or classes it was not trained on.
final class MultiClassCommandTests: XCTestCase {
    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testThreeClassModelTrainsEvaluatesAndPredicts() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let model = directory.appendingPathComponent("358.safetensors").path
        let train = try BlasnetProcess.run(["train", "--classes", "3,5,8", "--epochs", "1", "--batch-size", "256",
                                            "--hidden", "32", "--data-dir", dataDirectory, "--save", model, "--json"])
        XCTAssertEqual(train.status, 0, train.standardError)
        let trained = try json(train.standardOutput)
        XCTAssertEqual(trained["classes"] as? [Int], [3, 5, 8])
        XCTAssertEqual(trained["layer_sizes"] as? [Int], [784, 32, 3])
        XCTAssertEqual(trained["loss"] as? String, "softmax_cross_entropy")
        XCTAssertEqual(trained["dataset_sha256"] as? String, MNISTDataset.fingerprint)
        XCTAssertEqual(trained["train_count"] as? Int, 17_403)

        let eval = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", dataDirectory, "--json"])
        XCTAssertEqual(eval.status, 0, eval.standardError)
        let evaluated = try json(eval.standardOutput)
        XCTAssertEqual(evaluated["test_accuracy"] as? Double, trained["test_accuracy"] as? Double)
        XCTAssertEqual(evaluated["classes"] as? [Int], [3, 5, 8])
        let confusion = try XCTUnwrap(evaluated["confusion"] as? [[Int]])
        XCTAssertEqual(confusion.map(\.count), [3, 3, 3])
        XCTAssertEqual(confusion.map { $0.reduce(0, +) }, [1010, 892, 974], "rows are the actual 3s, 5s and 8s")
        let errors = confusion.indices.reduce(0) { sum, row in sum + confusion[row].reduce(0, +) - confusion[row][row] }
        XCTAssertEqual(errors, evaluated["test_errors"] as? Int)
        let recall = try XCTUnwrap(evaluated["recall"] as? [Double])
        XCTAssertEqual(recall[0], Double(confusion[0][0]) / 1010, accuracy: 1e-12)
        let precision = try XCTUnwrap(evaluated["precision"] as? [Double])
        XCTAssertEqual(precision[2], Double(confusion[2][2]) / Double(confusion[0][2] + confusion[1][2] + confusion[2][2]),
                       accuracy: 1e-12)

        let text = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", dataDirectory])
        XCTAssertTrue(text.standardOutput.contains("digits 3, 5, 8"), text.standardOutput)
        XCTAssertTrue(text.standardOutput.contains("precision"), text.standardOutput)

        let idx = (dataDirectory as NSString).appendingPathComponent(MNISTDataset.testImages)
        let predict = try BlasnetProcess.run(["predict", "--model", model, "--top", "2", idx])
        XCTAssertEqual(predict.status, 0, predict.standardError)
        let lines = predict.standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.first, "\(model) knows 3 classes: 3, 5, 8")
        XCTAssertEqual(lines.count, 1 + 10_000)
        XCTAssertTrue(lines[1].contains("; top 2: "), String(lines[1]))
    }

    func testMismatchedClassesOrDataAreRefusedUnlessAllowed() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        let model = directory.appendingPathComponent("01.safetensors").path
        let train = try BlasnetProcess.run(["train", "--epochs", "1", "--batch-size", "512", "--data-dir", dataDirectory,
                                            "--save", model])
        XCTAssertEqual(train.status, 0, train.standardError)

        let swapped = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", dataDirectory, "--classes", "1,0"])
        XCTAssertEqual(swapped.status, 64, swapped.standardError)
        XCTAssertTrue(swapped.standardError.contains("trained on classes 0, 1, not 1, 0"), swapped.standardError)
        XCTAssertTrue(swapped.standardError.contains("--allow-mismatch"), swapped.standardError)
        let allowed = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", dataDirectory, "--classes", "1,0",
                                              "--allow-mismatch", "--json"])
        XCTAssertEqual(allowed.status, 0, allowed.standardError)
        XCTAssertLessThan(try XCTUnwrap(try json(allowed.standardOutput)["test_accuracy"] as? Double), 0.01,
                          "swapped classes: nearly every image is wrong, and the number says so")
        let more = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", dataDirectory, "--classes", "0,1,2",
                                           "--allow-mismatch"])
        XCTAssertEqual(more.status, 64, more.standardError)
        XCTAssertTrue(more.standardError.contains("tells apart 2 classes"), more.standardError)
        let top = try BlasnetProcess.run(["predict", "--model", model, "--top", "2",
                                          (dataDirectory as NSString).appendingPathComponent(MNISTDataset.testImages)])
        XCTAssertEqual(top.status, 64, top.standardError)
        XCTAssertTrue(top.standardError.contains("--top needs a model of 3 or more classes"), top.standardError)

        // Another data set: the same files with one test pixel changed.
        let other = directory.appendingPathComponent("other", isDirectory: true)
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        for name in [MNISTDataset.trainImages, MNISTDataset.trainLabels, MNISTDataset.testImages, MNISTDataset.testLabels] {
            var data = try Data(contentsOf: URL(fileURLWithPath: (dataDirectory as NSString).appendingPathComponent(name)))
            if name == MNISTDataset.testImages { data[data.count - 1] ^= 0x01 }
            try data.write(to: other.appendingPathComponent(name))
        }
        let refused = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", other.path])
        XCTAssertEqual(refused.status, 64, refused.standardError)
        XCTAssertTrue(refused.standardError.contains("trained on data set '\((dataDirectory as NSString).lastPathComponent)'"),
                      refused.standardError)
        XCTAssertTrue(refused.standardError.contains("not 'other'"), refused.standardError)
        let forced = try BlasnetProcess.run(["eval", "--model", model, "--data-dir", other.path, "--allow-mismatch"])
        XCTAssertEqual(forced.status, 0, forced.standardError)
    }

    func testValidationSplitKeepsTheBestEpochAndTestsOnce() throws {
        let dataDirectory = try realDataDirectory()
        let result = try BlasnetProcess.run(["train", "--epochs", "2", "--batch-size", "512", "--validation-split", "0.1",
                                             "--keep", "best", "--data-dir", dataDirectory, "--json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let trained = try json(result.standardOutput)
        let validation = try XCTUnwrap(trained["epoch_validation_accuracies"] as? [Double])
        XCTAssertEqual(validation.count, 2)
        XCTAssertEqual(trained["epoch_test_accuracies"] as? [Double], [], "the test set is evaluated once, at the end")
        let kept = try XCTUnwrap(trained["kept_epoch"] as? Int)
        XCTAssertEqual(validation[kept - 1], validation.max(), "the kept epoch is the best validation epoch")
        // 10 % of 5,923 zeros and 6,742 ones, rounded per class: 592 + 674.
        XCTAssertEqual(trained["validation_count"] as? Int, 1266)
        XCTAssertEqual(trained["train_count"] as? Int, 12_665 - 1266)
    }

    func testReportOnThreeClassModelsDrawsTheirConfusionMatrices() throws {
        let dataDirectory = try realDataDirectory()
        let directory = try makeTemporaryDirectory(self)
        var models: [String] = []
        for kind in ["dense", "sigmoid"] {
            let path = directory.appendingPathComponent("\(kind).safetensors").path
            let train = try BlasnetProcess.run(["train", "--model", kind, "--classes", "3,5,8", "--epochs", "1",
                                                "--batch-size", "256", "--hidden", "16", "--data-dir", dataDirectory,
                                                "--save", path])
            XCTAssertEqual(train.status, 0, train.standardError)
            models.append(path)
        }
        let out = directory.appendingPathComponent("pictures").path
        let report = try BlasnetProcess.run(["report", "--dense", models[0], "--sigmoid", models[1], "--classes", "3,5,8",
                                             "--data-dir", dataDirectory, "--out", out, "--format", "svg"])
        XCTAssertEqual(report.status, 0, report.standardError)
        let matrix = (out as NSString).appendingPathComponent("confusion-matrix.svg")
        XCTAssertTrue(report.standardOutput.hasSuffix("and \(matrix)\n"), report.standardOutput)
        let svg = try String(contentsOfFile: matrix, encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml"), String(svg.prefix(80)))
        XCTAssertTrue(FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("predictions.svg")))
    }
}
