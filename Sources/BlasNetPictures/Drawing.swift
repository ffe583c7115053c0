// The one drawing layer every blasnet picture is made with: a Cairo surface and context per picture,
// PNG or SVG, rendered into memory (the caller writes the bytes atomically), text in a FreeType font.
// Cairo's errors stick to the context and are often silent, so every primitive checks its inputs and the
// render checks Cairo's status once at the end: a failed render throws, it never returns a blank picture.
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

/// How a text is placed horizontally relative to its x.
public enum TextAnchor: Sendable {
    case left, center, right
}

/// Drawing primitives over one Cairo context, in pixels with y growing downwards. The first invalid
/// input (a non-finite coordinate, a control character in a text) is remembered and the render throws
/// it; Cairo's own status is checked at the end.
public final class Drawing {
    /// The family every text uses (fonts-dejavu-core), so pictures look the same on every machine.
    public static let fontFamily = "DejaVu Sans"

    public let format: PictureFormat
    private let context: OpaquePointer
    private var firstError: PictureError?
    fileprivate private(set) var texts: [DrawnText] = []
    fileprivate private(set) var regions: [DrawnRegion] = []

    fileprivate init(surface: OpaquePointer, format: PictureFormat) throws {
        self.format = format
        guard let context = cairo_create(surface) else {
            throw PictureError.cairo(stage: "creating the drawing context", message: "no context")
        }
        self.context = context
        try Picture.check(cairo_status(context), stage: "creating the drawing context")
        setFont(size: 12, bold: false)
        // Cairo silently falls back to a built-in font when fontconfig finds none.
        guard cairo_scaled_font_get_type(cairo_get_scaled_font(context)) == CAIRO_FONT_TYPE_FT else {
            cairo_destroy(context)
            throw PictureError.noFont(family: Self.fontFamily)
        }
    }

    deinit { cairo_destroy(context) }

    /// The type of the font texts are drawn with (`CAIRO_FONT_TYPE_FT` for a FreeType font).
    public var fontType: cairo_font_type_t { cairo_scaled_font_get_type(cairo_get_scaled_font(context)) }

    fileprivate func finish() throws {
        if let firstError { throw firstError }
        try Picture.check(cairo_status(context), stage: "drawing")
    }

    private func finite(_ what: String, _ values: Double...) -> Bool {
        if values.allSatisfy(\.isFinite) { return true }
        if firstError == nil { firstError = .nonFiniteCoordinate(what: what) }
        return false
    }

    private func setColor(_ color: Color) { cairo_set_source_rgb(context, color.red, color.green, color.blue) }

    private func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, Self.fontFamily, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    // MARK: Shapes

    /// Fills the rectangle with its top-left corner at (x, y).
    public func fill(x: Double, y: Double, width: Double, height: Double, color: Color) {
        guard finite("a rectangle", x, y, width, height) else { return }
        setColor(color)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    /// Strokes a rectangle whose outer edge is (x, y, width, height), `lineWidth` wide inside it.
    public func frame(x: Double, y: Double, width: Double, height: Double, lineWidth: Double, color: Color) {
        guard finite("a frame", x, y, width, height, lineWidth) else { return }
        setColor(color)
        cairo_set_line_width(context, lineWidth)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_MITER)
        let half = lineWidth / 2
        cairo_rectangle(context, x + half, y + half, width - lineWidth, height - lineWidth)
        cairo_stroke(context)
    }

    /// A straight line; `dash` (on, off lengths) makes it dashed.
    public func line(from start: (x: Double, y: Double), to end: (x: Double, y: Double), width: Double, color: Color,
                     dash: [Double] = []) {
        polyline([start, end], width: width, color: color, dash: dash)
    }

    /// Connected line segments through `points`, with round joins as matplotlib draws them.
    public func polyline(_ points: [(x: Double, y: Double)], width: Double, color: Color, dash: [Double] = []) {
        guard points.count >= 2, finite("a line", width),
              points.allSatisfy({ finite("a line", $0.x, $0.y) }) else { return }
        setColor(color)
        cairo_set_line_width(context, width)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(context, CAIRO_LINE_CAP_BUTT)
        cairo_set_dash(context, dash, Int32(dash.count), 0)
        cairo_move_to(context, points[0].x, points[0].y)
        for point in points.dropFirst() { cairo_line_to(context, point.x, point.y) }
        cairo_stroke(context)
        cairo_set_dash(context, nil, 0, 0)
    }

    /// Marker shapes, matplotlib's "o", "s", "^", "D".
    public enum Marker: CaseIterable, Sendable {
        case circle, square, triangle, diamond
    }

    /// A marker centred on (x, y), `size` pixels across; filled, or (hollow) only its edge, so a
    /// smaller filled marker under it stays visible.
    public func marker(_ shape: Marker, x: Double, y: Double, size: Double, color: Color, hollow: Bool = false) {
        guard finite("a marker", x, y, size) else { return }
        let r = size / 2
        switch shape {
        case .circle:
            cairo_new_path(context)
            cairo_arc(context, x, y, r, 0, 2 * Double.pi)
        case .square:
            cairo_rectangle(context, x - r * 0.85, y - r * 0.85, 1.7 * r, 1.7 * r)
        case .triangle:
            cairo_move_to(context, x, y - r * 1.1)
            cairo_line_to(context, x + r, y + r * 0.75)
            cairo_line_to(context, x - r, y + r * 0.75)
            cairo_close_path(context)
        case .diamond:
            cairo_move_to(context, x, y - r * 1.1)
            cairo_line_to(context, x + r * 0.8, y)
            cairo_line_to(context, x, y + r * 1.1)
            cairo_line_to(context, x - r * 0.8, y)
            cairo_close_path(context)
        }
        if hollow {
            setColor(color)
            cairo_set_line_width(context, 1.5)
            cairo_stroke(context)
        } else {
            setColor(color)
            cairo_fill(context)
        }
    }

    /// Records a named rectangle of the picture (nothing is drawn).
    public func markRegion(_ name: String, x: Double, y: Double, width: Double, height: Double) {
        regions.append(DrawnRegion(name: name, x: x, y: y, width: width, height: height))
    }

    // MARK: Images

    /// A `width`×`height` grey image (`pixels` row-major, 0 = background, 1 = ink; NaN counts as 0)
    /// with its top-left corner at (x, y), each pixel a `scale`×`scale` square: ink is drawn dark on
    /// white as matplotlib's `gray_r`. PNG: one image surface with nearest-neighbour filtering. SVG: a
    /// rectangle per run of equal pixels, since SVG viewers smooth embedded images.
    public func grayImage<Pixels: RandomAccessCollection>(_ pixels: Pixels, width: Int, height: Int,
                                                         x: Double, y: Double, scale: Double)
    where Pixels.Element == Float, Pixels.Index == Int {
        guard finite("an image", x, y, scale), width > 0, height > 0, pixels.count == width * height else {
            if firstError == nil && (width <= 0 || height <= 0 || pixels.count != width * height) {
                firstError = .cairo(stage: "drawing an image", message: "\(pixels.count) pixels for \(width)×\(height)")
            }
            return
        }
        func level(_ index: Int) -> UInt8 {
            let value = pixels[pixels.startIndex + index]
            let ink = value.isNaN ? 0 : min(max(value, 0), 1)
            return UInt8((255 * (1 - ink)).rounded())
        }
        switch format {
        case .png:
            guard let image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height)) else { return }
            defer { cairo_surface_destroy(image) }
            guard cairo_surface_status(image) == CAIRO_STATUS_SUCCESS, let base = cairo_image_surface_get_data(image) else {
                if firstError == nil { firstError = .cairo(stage: "making an image", message: "no memory") }
                return
            }
            cairo_surface_flush(image)
            let stride = Int(cairo_image_surface_get_stride(image))
            for row in 0..<height {
                let line = UnsafeMutableRawPointer(base + row * stride).bindMemory(to: UInt32.self, capacity: width)
                for column in 0..<width {
                    let g = UInt32(level(row * width + column))
                    line[column] = (g << 16) | (g << 8) | g
                }
            }
            cairo_surface_mark_dirty(image)
            cairo_save(context)
            cairo_translate(context, x, y)
            cairo_scale(context, scale, scale)
            cairo_set_source_surface(context, image, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
            cairo_rectangle(context, 0, 0, Double(width), Double(height))
            cairo_fill(context)
            cairo_restore(context)
        case .svg:
            fill(x: x, y: y, width: Double(width) * scale, height: Double(height) * scale, color: .white)
            for row in 0..<height {
                var column = 0
                while column < width {
                    let g = level(row * width + column)
                    var end = column + 1
                    while end < width && level(row * width + end) == g { end += 1 }
                    if g != 255 {
                        let shade = Double(g) / 255
                        fill(x: x + Double(column) * scale, y: y + Double(row) * scale,
                             width: Double(end - column) * scale, height: scale,
                             color: Color(red: shade, green: shade, blue: shade))
                    }
                    column = end
                }
            }
        }
    }

    // MARK: Text

    /// Ascent and descent of the font at `size`, in pixels.
    public func fontMetrics(size: Double, bold: Bool = false) -> (ascent: Double, descent: Double) {
        setFont(size: size, bold: bold)
        var extents = cairo_font_extents_t()
        cairo_font_extents(context, &extents)
        return (extents.ascent, extents.descent)
    }

    /// Advance width of `string` at `size`, in pixels.
    public func textWidth(_ string: String, size: Double, bold: Bool = false) -> Double {
        guard valid(string) else { return 0 }
        setFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, string, &extents)
        return extents.x_advance
    }

    /// Draws `string` with its baseline at y, anchored at x; returns its advance width.
    @discardableResult
    public func text(_ string: String, x: Double, y: Double, size: Double, color: Color = .black, bold: Bool = false,
                     anchor: TextAnchor = .left) -> Double {
        guard finite("the text \(string.debugDescription)", x, y, size), valid(string) else { return 0 }
        let width = textWidth(string, size: size, bold: bold)
        let left: Double
        switch anchor {
        case .left: left = x
        case .center: left = x - width / 2
        case .right: left = x - width
        }
        setColor(color)
        cairo_move_to(context, left, y)
        cairo_show_text(context, string)
        texts.append(DrawnText(string: string, x: left, y: y, size: size, color: color))
        return width
    }

    /// Draws `string` rotated a quarter turn anticlockwise (an axis title), centred on (x, y).
    public func verticalText(_ string: String, x: Double, y: Double, size: Double, color: Color = .black) {
        guard finite("the text \(string.debugDescription)", x, y, size), valid(string) else { return }
        let width = textWidth(string, size: size)
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_rotate(context, -Double.pi / 2)
        setColor(color)
        cairo_move_to(context, -width / 2, 0)
        cairo_show_text(context, string)
        cairo_restore(context)
        texts.append(DrawnText(string: string, x: x, y: y, size: size, color: color))
    }

    private func valid(_ string: String) -> Bool {
        if string.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            if firstError == nil { firstError = .invalidText(string) }
            return false
        }
        return true
    }
}
