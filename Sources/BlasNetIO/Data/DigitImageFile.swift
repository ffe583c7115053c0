import Foundation

/// Images to classify, from an IDX image file (every image) or a binary PGM (P5) file, told apart by
/// their first bytes.
public enum DigitImageFile {
    public enum FormatError: Error, Equatable, CustomStringConvertible {
        case unknownFormat(path: String)
        public var description: String {
            switch self {
            case let .unknownFormat(path):
                return "\(path): neither an IDX image file (magic 2051) nor a binary PGM (P5) image"
            }
        }
    }

    /// N×784 pixels in [0, 1], row-major.
    public static func read(at path: String) throws -> [Float] {
        let data = try IDXReader.readFile(path)
        if data.starts(with: [UInt8(ascii: "P"), UInt8(ascii: "5")]) {
            return try PGMReader.parseDigit(data, path: path)
        }
        if data.count >= 4 && data.prefix(4).elementsEqual([0, 0, 8, 3]) {
            let images = try IDXReader.parseImages(data, path: path)
            guard images.rows == 28, images.columns == 28 else {
                throw DatasetError.wrongImageSize(path: path, rows: images.rows, columns: images.columns)
            }
            return images.pixels.map { Float($0) / 255 }
        }
        throw FormatError.unknownFormat(path: path)
    }
}
