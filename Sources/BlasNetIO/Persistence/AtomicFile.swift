import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an atomic write failed. Every case names the destination; an existing file at the destination is
/// left untouched in all of them, and no temporary file is left behind.
public enum AtomicFileError: Error, Equatable, CustomStringConvertible {
    /// Empty path, or one ending in '/'.
    case invalidPath(path: String)
    case directoryMissing(path: String, directory: String)
    /// A component of the directory is a regular file (or other non-directory).
    case parentNotADirectory(path: String, directory: String)
    /// The destination exists and is a directory.
    case destinationIsDirectory(path: String)
    case cannotCreateTemporaryFile(path: String, reason: String)
    /// write(2) failed, e.g. "No space left on device".
    case writeFailed(path: String, reason: String)
    case syncFailed(path: String, reason: String)
    case renameFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidPath(path): return "'\(path)': not a file path"
        case let .directoryMissing(path, directory): return "\(path): directory \(directory) does not exist"
        case let .parentNotADirectory(path, directory): return "\(path): \(directory) is not a directory"
        case let .destinationIsDirectory(path): return "\(path): is a directory"
        case let .cannotCreateTemporaryFile(path, reason):
            return "\(path): cannot create a temporary file beside it: \(reason)"
        case let .writeFailed(path, reason): return "\(path): write failed: \(reason); the file was not changed"
        case let .syncFailed(path, reason): return "\(path): fsync failed: \(reason); the file was not changed"
        case let .renameFailed(path, reason): return "\(path): cannot replace the file: \(reason); the file was not changed"
        }
    }
}

/// write(2), out of reach of `AtomicFile.write`'s name.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

/// Writes files so readers see either the old contents or the complete new ones: the data goes to a new
/// temporary file in the destination's directory (created with O_EXCL), is fsync'ed, then renamed over
/// the destination. On failure the temporary file is removed and the destination is not touched.
public enum AtomicFile {
    /// Prefix of the temporary files, which are named `.<file name>.tmp-<UUID>` beside the destination.
    static let temporaryMarker = ".tmp-"

    /// Replaces the file at `path` with `data`.
    public static func write(_ data: Data, to path: String) throws {
        try write(data, to: path, using: systemWrite)
    }

    /// Writes all of `data` to an open descriptor, retrying short writes and EINTR.
    private static func writeAll(_ data: Data, to descriptor: Int32, path: String,
                                 using writeCall: (Int32, UnsafeRawPointer, Int) -> Int) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var written = 0
            while written < buffer.count {
                let result = writeCall(descriptor, base + written, buffer.count - written)
                if result < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw AtomicFileError.writeFailed(path: path, reason: describe(code))
                }
                if result == 0 { throw AtomicFileError.writeFailed(path: path, reason: "write made no progress") }
                written += result
            }
        }
    }

    /// Writes to an existing character device or FIFO without a temporary file.
    private static func writeInPlace(_ data: Data, to path: String,
                                     using writeCall: (Int32, UnsafeRawPointer, Int) -> Int) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw AtomicFileError.writeFailed(path: path, reason: describe(errno)) }
        defer { close(descriptor) }
        try writeAll(data, to: descriptor, path: path, using: writeCall)
    }

    /// `write` with the write(2) call injected, so tests can simulate failures such as ENOSPC. The closure
    /// follows write(2): bytes written, or -1 with `errno` set.
    static func write(_ data: Data, to path: String,
                      using writeCall: (Int32, UnsafeRawPointer, Int) -> Int) throws {
        guard !path.isEmpty, !path.hasSuffix("/") else { throw AtomicFileError.invalidPath(path: path) }
        let fileName = (path as NSString).lastPathComponent
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        guard !fileName.isEmpty, fileName != ".", fileName != ".." else { throw AtomicFileError.invalidPath(path: path) }

        var status = stat()
        if stat(directory, &status) != 0 {
            let code = errno
            if code == ENOTDIR { throw AtomicFileError.parentNotADirectory(path: path, directory: directory) }
            if code == ENOENT { throw AtomicFileError.directoryMissing(path: path, directory: directory) }
            throw AtomicFileError.cannotCreateTemporaryFile(path: path, reason: describe(code))
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw AtomicFileError.parentNotADirectory(path: path, directory: directory)
        }
        if stat(path, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                throw AtomicFileError.destinationIsDirectory(path: path)
            case S_IFCHR, S_IFIFO:
                // A device or pipe (/dev/null, /dev/full, a FIFO): write into it; renaming over it would
                // replace the device node itself.
                return try writeInPlace(data, to: path, using: writeCall)
            case S_IFREG:
                break
            default:
                throw AtomicFileError.invalidPath(path: path)
            }
        }

        // A fresh name with O_EXCL: never reuses or follows an existing file. Mode 0666 minus the umask,
        // like any newly created file.
        var temporaryPath = ""
        var descriptor: Int32 = -1
        for _ in 0..<8 {
            temporaryPath = (directory as NSString).appendingPathComponent(".\(fileName)\(temporaryMarker)\(UUID().uuidString)")
            descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw AtomicFileError.cannotCreateTemporaryFile(path: path, reason: describe(errno))
        }
        var descriptorOpen = true
        var renamed = false
        defer {
            if descriptorOpen { close(descriptor) }
            if !renamed { unlink(temporaryPath) }
        }

        try writeAll(data, to: descriptor, path: path, using: writeCall)
        guard fsync(descriptor) == 0 else { throw AtomicFileError.syncFailed(path: path, reason: describe(errno)) }
        descriptorOpen = false
        guard close(descriptor) == 0 else { throw AtomicFileError.writeFailed(path: path, reason: describe(errno)) }
        pauseBeforeRenameForTests()
        guard rename(temporaryPath, path) == 0 else {
            throw AtomicFileError.renameFailed(path: path, reason: describe(errno))
        }
        renamed = true
        // Make the rename itself durable; failing to sync the directory does not undo the write.
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }
}

/// Test hook: with `BLASNET_TEST_PAUSE_BEFORE_RENAME=SECONDS` a save waits that long between writing its
/// temporary file and renaming it, so a test can kill the process inside the save. Never set otherwise.
private func pauseBeforeRenameForTests() {
    guard let text = ProcessInfo.processInfo.environment["BLASNET_TEST_PAUSE_BEFORE_RENAME"],
          let seconds = Double(text), seconds > 0, seconds <= 60 else { return }
    Thread.sleep(forTimeInterval: seconds)
}
