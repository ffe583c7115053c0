import Foundation

/// Why an input path could not be read; each reader turns it into its own error naming the file.
enum RegularFileProblem: Error {
    case missing
    case notARegularFile
    case unreadable(reason: String)
}

/// The bytes of the regular file at `path`: never a directory, FIFO or device (reading those could
/// block forever or never end).
func readRegularFile(_ path: String) -> Result<Data, RegularFileProblem> {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .failure(.missing) }
    guard !isDirectory.boolValue,
          let type = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType,
          type == .typeRegular
    else { return .failure(.notARegularFile) }
    do {
        return .success(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        return .failure(.unreadable(reason: (error as NSError).localizedDescription))
    }
}
