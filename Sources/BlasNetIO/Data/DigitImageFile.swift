import Foundation

/// Images to classify, from an IDX image file (every image) or a binary PGM (P5) file, told apart by
/// their first bytes.
public enum DigitImageFile {
    public enum FormatError: Error, Equatable, CustomStringConvertible {
        case unknownFormat(path: String)
        case wrongImageSize(path: String, rows: Int, columns: Int, expectedRows: Int, expectedColumns: Int)
        public var description: String {
            switch self {
            case let .unknownFormat(path):
                return "\(path): neither an IDX image file (magic 2051) nor a binary PGM (P5) image"
            case let .wrongImageSize(path, rows, columns, expectedRows, expectedColumns):
                return "\(path): images are \(rows)×\(columns), the model takes \(expectedRows)×\(expectedColumns)"
            }
        }
    }

    /// [N, rows·columns] pixels in [0, 1], row-major, for a model of rows × columns images (PGM files
    /// are 28 × 28).
    public static func read(at path: String, rows expectedRows: Int = 28, columns expectedColumns: Int = 28) throws -> [Float] {
        try read(IDXReader.readFile(path), path: path, rows: expectedRows, columns: expectedColumns)
    }

    /// The same from the file's bytes (`path` is named in errors).
    public static func read(_ data: Data, path: String, rows expectedRows: Int = 28, columns expectedColumns: Int = 28) throws -> [Float] {
        if data.starts(with: [UInt8(ascii: "P"), UInt8(ascii: "5")]) {
            guard expectedRows == 28, expectedColumns == 28 else {
                throw FormatError.wrongImageSize(path: path, rows: 28, columns: 28, expectedRows: expectedRows,
                                                 expectedColumns: expectedColumns)
            }
            return try PGMReader.parseDigit(data, path: path)
        }
        if data.count >= 4 && data.prefix(4).elementsEqual([0, 0, 8, 3]) {
            let images = try IDXReader.parseImages(data, path: path)
            guard images.rows == expectedRows, images.columns == expectedColumns else {
                throw FormatError.wrongImageSize(path: path, rows: images.rows, columns: images.columns,
                                                 expectedRows: expectedRows, expectedColumns: expectedColumns)
            }
            return images.pixels.map { Float($0) / 255 }
        }
        throw FormatError.unknownFormat(path: path)
    }
}
