// A picture: its format, its errors, its colours, and the render that makes one in memory — a Cairo
// surface per picture, PNG or SVG, whose bytes the caller writes atomically. Cairo's errors stick to the
// context and are often silent, so the render checks Cairo's status once at the end (and `Drawing` checks
// every input): a failed render throws, it never returns a blank picture.
import CCairo
import Foundation

/// The file formats a picture can be written in.
public enum PictureFormat: String, CaseIterable, Sendable, CustomStringConvertible {
    case png, svg

    /// The format named by `path`'s extension (`.png`, `.svg`, any case); nil for anything else.
    public init?(path: String) {
        self.init(rawValue: (path as NSString).pathExtension.lowercased())
    }

    public var fileExtension: String { rawValue }
    public var description: String { rawValue }
}

/// Why a picture could not be made.
public enum PictureError: Error, Equatable, CustomStringConvertible {
    /// The output path names neither `.png` nor `.svg`.
    case unsupportedExtension(path: String)
    /// Width or height outside 1…`Picture.maximumSide`.
    case invalidSize(width: Int, height: Int)
    /// A coordinate or length was NaN or infinite (`what` names the primitive).
    case nonFiniteCoordinate(what: String)
    /// A text holds a character Cairo cannot show (NUL or another control character).
    case invalidText(String)
    /// No FreeType font was found: Cairo would fall back to its thin built-in font.
    case noFont(family: String)
    /// The data to draw do not fit together (counts that differ, an index outside the set).
    case invalidData(String)
    /// Cairo reported an error (`stage` says where).
    case cairo(stage: String, message: String)

    public var description: String {
        switch self {
        case let .unsupportedExtension(path):
            return "\(path): unsupported picture format '.\((path as NSString).pathExtension)'; use .png or .svg"
        case let .invalidSize(width, height):
            return "picture size \(width)×\(height) is outside 1…\(Picture.maximumSide) pixels per side"
        case let .nonFiniteCoordinate(what):
            return "cannot draw \(what): a coordinate is not a finite number"
        case let .invalidText(text):
            return "cannot draw the text \(text.debugDescription): it holds a control character"
        case let .noFont(family):
            return "no FreeType font for '\(family)' (install fonts-dejavu-core); refusing Cairo's fallback font"
        case let .invalidData(message):
            return "cannot draw the picture: \(message)"
        case let .cairo(stage, message):
            return "cairo failed while \(stage): \(message)"
        }
    }
}

/// An RGB colour with components in [0, 1].
public struct Color: Sendable, Equatable {
    public var red: Double, green: Double, blue: Double

    public init(red: Double, green: Double, blue: Double) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// From 0xRRGGBB.
    public init(hex: UInt32) {
        self.init(red: Double((hex >> 16) & 0xFF) / 255, green: Double((hex >> 8) & 0xFF) / 255,
                  blue: Double(hex & 0xFF) / 255)
    }

    /// The colour as 8-bit channels, as a PNG stores it.
    public var bytes: (red: UInt8, green: UInt8, blue: UInt8) {
        func byte(_ value: Double) -> UInt8 { UInt8((min(max(value, 0), 1) * 255).rounded()) }
        return (byte(red), byte(green), byte(blue))
    }

    public static let white = Color(hex: 0xFFFFFF)
    public static let black = Color(hex: 0x000000)
    /// Text that explains rather than states.
    public static let darkGray = Color(hex: 0x444444)
    public static let gray = Color(hex: 0x888888)
    public static let lightGray = Color(hex: 0xC8C8C8)
    /// matplotlib's default grid colour.
    public static let gridGray = Color(hex: 0xE5E5E5)
    /// matplotlib's tab10 palette, the default colour cycle.
    public static let tab10: [Color] = [0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
                                        0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF].map(Color.init(hex:))
    public static let red = Color(hex: 0xD62728)
    public static let orange = Color(hex: 0xFF7F0E)

    /// Colour `index` of the tab10 cycle.
    public static func cycle(_ index: Int) -> Color { tab10[((index % tab10.count) + tab10.count) % tab10.count] }
}

/// A rendered picture: the file's bytes and what was drawn into it.
public struct Picture: Sendable {
    /// Largest accepted width or height, in pixels.
    public static let maximumSide = 16_384

    public let format: PictureFormat
    public let width: Int
    public let height: Int
    /// The PNG or SVG file, ready to be written.
    public let data: Data
    /// Every text drawn, in order, with its position: what tests and callers can check without OCR.
    public let texts: [DrawnText]
    /// Every rectangle drawn with `Drawing.markRegion` (cells, bars), in order.
    public let regions: [DrawnRegion]

    /// Renders a `width`×`height` picture in `format` by running `draw` on a fresh white drawing.
    public static func render(width: Int, height: Int, format: PictureFormat,
                              _ draw: (Drawing) throws -> Void) throws -> Picture {
        guard (1...maximumSide).contains(width), (1...maximumSide).contains(height) else {
            throw PictureError.invalidSize(width: width, height: height)
        }
        let sink = ByteSink()
        let created: OpaquePointer?
        switch format {
        case .png:
            created = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        case .svg:
            created = cairo_svg_surface_create_for_stream(writeToSink, Unmanaged.passUnretained(sink).toOpaque(),
                                                          Double(width), Double(height))
        }
        guard let surface = created else { throw PictureError.cairo(stage: "creating the \(format) surface", message: "no surface") }
        if format == .svg { cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX) }
        defer { cairo_surface_destroy(surface) }
        try check(cairo_surface_status(surface), stage: "creating the \(format) surface")

        let drawing = try Drawing(surface: surface, format: format)
        try withExtendedLifetime(sink) {
            drawing.fill(x: 0, y: 0, width: Double(width), height: Double(height), color: .white)
            try draw(drawing)
            try drawing.finish()
            switch format {
            case .png:
                cairo_surface_flush(surface)
                try check(cairo_surface_write_to_png_stream(surface, writeToSink, Unmanaged.passUnretained(sink).toOpaque()),
                          stage: "encoding the PNG")
            case .svg:
                cairo_surface_finish(surface)
                try check(cairo_surface_status(surface), stage: "writing the SVG")
            }
        }
        guard !sink.data.isEmpty else { throw PictureError.cairo(stage: "writing the \(format)", message: "no bytes") }
        return Picture(format: format, width: width, height: height, data: sink.data, texts: drawing.texts,
                       regions: drawing.regions)
    }

    /// Advance width of `string` in the pictures' font at `size` pixels, for layouts computed before a
    /// render.
    public static func measure(_ string: String, size: Double, bold: Bool = false) throws -> Double {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1) else {
            throw PictureError.cairo(stage: "measuring text", message: "no surface")
        }
        defer { cairo_surface_destroy(surface) }
        let drawing = try Drawing(surface: surface, format: .png)
        let width = drawing.textWidth(string, size: size, bold: bold)
        try drawing.finish()
        return width
    }

    static func check(_ status: cairo_status_t, stage: String) throws {
        guard status == CAIRO_STATUS_SUCCESS else {
            throw PictureError.cairo(stage: stage, message: String(cString: cairo_status_to_string(status)))
        }
    }
}

/// A text as it was drawn: its string, the left end of its baseline, its size and whether it was bold.
public struct DrawnText: Sendable, Equatable {
    public let string: String
    public let x: Double
    public let y: Double
    public let size: Double
    public let color: Color
}

/// A rectangle a picture names (a cell of the grid, a bar of the chart), for tests and callers.
public struct DrawnRegion: Sendable, Equatable {
    public let name: String
    public let x: Double, y: Double, width: Double, height: Double
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
}

/// Collects what Cairo writes. Lives for one render; handed to Cairo through `Unmanaged`.
private final class ByteSink {
    var data = Data()
}

/// Cairo's write callback (a C function: it cannot capture, so the sink comes in as `closure`).
private func writeToSink(_ closure: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: UInt32) -> cairo_status_t {
    guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
    let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
    if let bytes, length > 0 { sink.data.append(bytes, count: Int(length)) }
    return CAIRO_STATUS_SUCCESS
}

