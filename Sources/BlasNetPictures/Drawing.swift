// The drawing layer every blasnet picture is drawn with: shapes, markers, crisp grey images and text in a
// FreeType font over one Cairo context, in pixels with y growing downwards.
import CCairo
import Foundation

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
    private(set) var texts: [DrawnText] = []
    private(set) var regions: [DrawnRegion] = []

    init(surface: OpaquePointer, format: PictureFormat) throws {
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

    func finish() throws {
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
