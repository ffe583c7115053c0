import BlasNetCore
@testable import BlasNetIO
import BlasNetTestSupport
import XCTest

final class TrainingMetadataTests: XCTestCase {
    private let fields = ["classes": "0,1", "engine": "blas", "threads": "2", "seed": "42", "epochs": "2",
                          "batch_size": "32", "learning_rate": "0.001", "test_accuracy": "0.99952718676122927",
                          "test_errors": "1", "test_count": "2115", "epoch_losses": "0.0169,0.0049",
                          "epoch_test_accuracies": "0.999,0.9995"]

    func testSubnormalModeRoundTripsAndMayBeAbsent() throws {
        for (value, expected) in [("flushed", true), ("kept", false)] {
            var strings = fields
            strings["subnormals"] = value
            let metadata = try XCTUnwrap(TrainingMetadata(strings: strings), value)
            XCTAssertEqual(metadata.flushesSubnormals, expected)
            XCTAssertEqual(metadata.strings["subnormals"], value, "written back as read")
            XCTAssertEqual(TrainingMetadata(strings: metadata.strings)?.flushesSubnormals, expected, value)
        }
        let older = try XCTUnwrap(TrainingMetadata(strings: fields), "a file from before the field existed")
        XCTAssertNil(older.flushesSubnormals)
        XCTAssertNil(older.strings["subnormals"], "an unknown mode is not invented")
    }

    func testMalformedSubnormalModeIsRejected() {
        for value in ["", "yes", "Flushed", "true"] {
            var strings = fields
            strings["subnormals"] = value
            XCTAssertNil(TrainingMetadata(strings: strings), "'\(value)'")
        }
    }
}
