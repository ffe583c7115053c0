import CCairo
@testable import BlasNetPictures
import Foundation
import XCTest

/// A PNG read back with Cairo's own reader, as a viewer would decode it.
struct DecodedPNG {
    let width: Int
    let height: Int
    private let pixels: [UInt32]

    init(_ data: Data) throws {
        let surface = PNGReader.decodeSurface(data)!
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw PictureError.cairo(stage: "reading the PNG back", message: String(cString: cairo_status_to_string(cairo_surface_status(surface))))
        }
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let base = cairo_image_surface_get_data(surface)!
        var pixels: [UInt32] = []
        pixels.reserveCapacity(width * height)
        for row in 0..<height {
            let line = UnsafeRawPointer(base + row * stride).bindMemory(to: UInt32.self, capacity: width)
            for column in 0..<width { pixels.append(line[column] & 0xFF_FFFF) }
        }
        self.pixels = pixels
    }

    /// The colour at (x, y) as 0xRRGGBB.
    func pixel(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }
    func pixel(x: Double, y: Double) -> UInt32 { pixel(x: Int(x), y: Int(y)) }

    /// How many pixels inside `rectangle` have exactly `color`.
    func count(of color: Color, in rectangle: Rectangle? = nil) -> Int {
        let (r, g, b) = color.bytes
        let target = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
        let area = rectangle ?? Rectangle(x: 0, y: 0, width: Double(width), height: Double(height))
        var found = 0
        for y in max(0, Int(area.y))..<min(height, Int(area.maxY)) {
            for x in max(0, Int(area.x))..<min(width, Int(area.maxX)) where pixels[y * width + x] == target { found += 1 }
        }
        return found
    }
}

extension Color {
    var hex: UInt32 { let (r, g, b) = bytes; return UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b) }
}

/// Writes `picture` to $BLASNET_PICTURES_DIR/name when that is set, for looking at the figures.
func keep(_ picture: Picture, as name: String) throws {
    guard let directory = ProcessInfo.processInfo.environment["BLASNET_PICTURES_DIR"], !directory.isEmpty else { return }
    try picture.data.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
}
