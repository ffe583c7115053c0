// PNGReader: a PNG file's pixels as grey luminance, decoded by Cairo's libpng reader (8- and 16-bit grey,
// grey + alpha, RGB, RGBA and palette images all arrive as 8-bit Cairo surfaces). Transparent pixels are
// composited over white, as a viewer shows them.
import CCairo
import Foundation

public enum PNGReader {
    /// Largest picture read (64 megapixels): a photo of a digit is far smaller, and the luminance copy of
    /// a larger one would take gigabytes.
    public static let maximumPixels = 1 << 26

    /// The PNG signature, for telling PNG files from others by their first bytes.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// A decoded picture: `luminance` [height, width] row-major, 0 = black, 1 = white (ITU-R BT.601
    /// weights 0.299 R + 0.587 G + 0.114 B).
    public struct Image: Sendable, Equatable {
        public let width: Int
        public let height: Int
        public let luminance: [Float]
    }

    /// A Cairo image surface decoded from PNG bytes (the caller destroys it), or nil; its status says
    /// whether decoding worked.
    static func decodeSurface(_ data: Data) -> OpaquePointer? {
        final class Source {
            let data: Data
            var offset = 0
            init(_ data: Data) { self.data = data }
        }
        let source = Source(data)
        let read: cairo_read_func_t = { closure, buffer, length in
            let source = Unmanaged<Source>.fromOpaque(closure!).takeUnretainedValue()
            let count = Int(length)
            guard let buffer, source.offset + count <= source.data.count else { return CAIRO_STATUS_READ_ERROR }
            let start = source.data.startIndex + source.offset
            source.data.copyBytes(to: buffer, from: start..<(start + count))
            source.offset += count
            return CAIRO_STATUS_SUCCESS
        }
        return withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream(read, Unmanaged.passUnretained(source).toOpaque())
        }
    }

    /// Decodes `data`, the contents of `path` (named in errors).
    public static func read(_ data: Data, path: String) throws -> Image {
        guard let surface = decodeSurface(data) else { throw PictureError.invalidData("\(path): not a readable PNG") }
        defer { cairo_surface_destroy(surface) }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PictureError.invalidData("\(path): not a readable PNG (\(String(cString: cairo_status_to_string(status))))")
        }
        cairo_surface_flush(surface)
        let width = Int(cairo_image_surface_get_width(surface)), height = Int(cairo_image_surface_get_height(surface))
        guard width > 0, height > 0, width * height <= maximumPixels, let base = cairo_image_surface_get_data(surface) else {
            throw PictureError.invalidData("\(path): a PNG of \(width)×\(height) pixels; at most \(maximumPixels) pixels are read")
        }
        let stride = Int(cairo_image_surface_get_stride(surface))
        let format = cairo_image_surface_get_format(surface)
        var luminance = [Float](repeating: 1, count: width * height)
        for y in 0..<height {
            let row = base + y * stride
            for x in 0..<width {
                let value: Float
                switch format {
                case CAIRO_FORMAT_ARGB32, CAIRO_FORMAT_RGB24:
                    // Native-endian 0xAARRGGBB; ARGB32 is premultiplied, so colour + (1 − alpha) is over white.
                    let pixel = UnsafeRawPointer(row + 4 * x).loadUnaligned(as: UInt32.self)
                    let alpha = format == CAIRO_FORMAT_ARGB32 ? Float(pixel >> 24) / 255 : 1
                    let red = Float((pixel >> 16) & 0xFF) / 255, green = Float((pixel >> 8) & 0xFF) / 255
                    let blue = Float(pixel & 0xFF) / 255
                    // A grey pixel keeps its exact level (the weights' float sum is not exactly 1).
                    let grey = red == green && green == blue ? red : 0.299 * red + 0.587 * green + 0.114 * blue
                    value = grey + (1 - alpha)
                case CAIRO_FORMAT_A8:
                    value = 1 - Float(row[x]) / 255  // coverage only: ink on white
                default:
                    throw PictureError.invalidData("\(path): PNG decoded to an unexpected pixel format")
                }
                luminance[y * width + x] = min(max(value, 0), 1)
            }
        }
        return Image(width: width, height: height, luminance: luminance)
    }
}
