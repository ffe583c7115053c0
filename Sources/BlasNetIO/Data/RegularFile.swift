import Foundation

/// Why an input path could not be read; each reader turns it into its own error naming the file.
enum RegularFileProblem: Error {
    case missing
    case notARegularFile
    case unreadable(reason: String)
}

/// The bytes of the regular file at `path`: never a directory, FIFO or device (reading those could
/// block forever or never end).
/// Symbolic links are followed (stat, not lstat): a link to a regular file is read.
func readRegularFile(_ path: String) -> Result<Data, RegularFileProblem> {
    var status = stat()
    guard stat(path, &status) == 0 else {
        let code = errno
        return code == ENOENT || code == ENOTDIR ? .failure(.missing)
            : .failure(.unreadable(reason: String(cString: strerror(code))))
    }
    guard status.st_mode & S_IFMT == S_IFREG else { return .failure(.notARegularFile) }
    do {
        return .success(try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
        return .failure(.unreadable(reason: (error as NSError).localizedDescription))
    }
}
