import Foundation

/// The one way the tool prints JSON: one line, keys sorted and in snake_case (`testAccuracy` and
/// `test_accuracy` both print as "test_accuracy"), so every command's `--json` reads alike.
func jsonLine<Value: Encodable>(_ value: Value) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
