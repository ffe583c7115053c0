import Foundation

/// An 8-bit RGB colour.
public struct RGBColor: Hashable, Sendable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = RGBColor(255, 255, 255)
    public static let black = RGBColor(0, 0, 0)
    public static let darkGray = RGBColor(64, 64, 64)
    public static let gray = RGBColor(128, 128, 128)
    public static let lightGray = RGBColor(210, 210, 210)
    public static let red = RGBColor(220, 30, 30)
    public static let orange = RGBColor(255, 160, 0)
    public static let blue = RGBColor(31, 119, 180)
    public static let green = RGBColor(44, 160, 44)

    public var description: String { "rgb(\(red), \(green), \(blue))" }
}

/// A width×height RGB raster with (0, 0) at the top left. Every drawing call clips to the canvas, so any
/// coordinates (negative, huge) are safe.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// Row-major, 3 bytes (R, G, B) per pixel.
    public private(set) var rgb: [UInt8]

    /// A canvas filled with `background`. Both sizes must be positive.
    public init(width: Int, height: Int, background: RGBColor = .white) {
        precondition(width > 0 && height > 0, "canvas sizes must be positive, got \(width)×\(height)")
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        precondition(!overflow && pixels <= Int.max / 3, "canvas \(width)×\(height) is too large")
        self.width = width
        self.height = height
        rgb = [UInt8](repeating: 0, count: pixels * 3)
        for index in 0..<pixels {
            rgb[3 * index] = background.red
            rgb[3 * index + 1] = background.green
            rgb[3 * index + 2] = background.blue
        }
    }

    /// The colour at (x, y); nil outside the canvas.
    public func pixel(x: Int, y: Int) -> RGBColor? {
        guard x >= 0, x < width, y >= 0, y < height else { return nil }
        let index = 3 * (y * width + x)
        return RGBColor(rgb[index], rgb[index + 1], rgb[index + 2])
    }

    /// Sets (x, y) to `color`; ignored outside the canvas.
    public mutating func setPixel(x: Int, y: Int, color: RGBColor) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let index = 3 * (y * width + x)
        rgb[index] = color.red
        rgb[index + 1] = color.green
        rgb[index + 2] = color.blue
    }

    /// How many pixels have exactly `color`.
    public func count(of color: RGBColor) -> Int {
        var total = 0
        var index = 0
        while index < rgb.count {
            if rgb[index] == color.red && rgb[index + 1] == color.green && rgb[index + 2] == color.blue { total += 1 }
            index += 3
        }
        return total
    }

    /// Fills the rectangle with top-left (x, y) and the given size (pixels), clipped to the canvas.
    public mutating func fillRectangle(x: Int, y: Int, width rectangleWidth: Int, height rectangleHeight: Int, color: RGBColor) {
        let left = max(x, 0), top = max(y, 0)
        let right = min(Self.saturatingSum(x, rectangleWidth), width)
        let bottom = min(Self.saturatingSum(y, rectangleHeight), height)
        guard left < right, top < bottom else { return }
        for row in top..<bottom {
            var index = 3 * (row * width + left)
            for _ in left..<right {
                rgb[index] = color.red
                rgb[index + 1] = color.green
                rgb[index + 2] = color.blue
                index += 3
            }
        }
    }

    /// Draws a frame `thickness` pixels wide just inside the rectangle's edges.
    public mutating func strokeRectangle(x: Int, y: Int, width rectangleWidth: Int, height rectangleHeight: Int,
                                         thickness: Int = 1, color: RGBColor) {
        guard rectangleWidth > 0, rectangleHeight > 0, thickness > 0 else { return }
        let band = min(thickness, rectangleWidth, rectangleHeight)
        fillRectangle(x: x, y: y, width: rectangleWidth, height: band, color: color)
        fillRectangle(x: x, y: Self.saturatingSum(y, rectangleHeight - band), width: rectangleWidth, height: band, color: color)
        fillRectangle(x: x, y: y, width: band, height: rectangleHeight, color: color)
        fillRectangle(x: Self.saturatingSum(x, rectangleWidth - band), y: y, width: band, height: rectangleHeight, color: color)
    }

    /// A straight line from (x0, y0) to (x1, y1), both ends included, drawn with a square brush
    /// `thickness` pixels wide. The segment is first clipped to the canvas in exact integer arithmetic
    /// (Cohen–Sutherland with 128-bit intermediate products), then rasterised with Bresenham's algorithm, so
    /// endpoints anywhere in Int's range are fine and cost nothing.
    public mutating func drawLine(x0: Int, y0: Int, x1: Int, y1: Int, color: RGBColor, thickness: Int = 1) {
        let brush = max(1, min(thickness, 64))
        let bounds = ClipBounds(minimumX: -brush, minimumY: -brush, maximumX: width - 1 + brush, maximumY: height - 1 + brush)
        guard let clipped = Self.clip(Point(x: x0, y: y0), Point(x: x1, y: y1), to: bounds) else { return }
        var x = clipped.start.x, y = clipped.start.y
        let endX = clipped.end.x, endY = clipped.end.y
        let dx = abs(endX - x), dy = -abs(endY - y)
        let stepX = x < endX ? 1 : -1, stepY = y < endY ? 1 : -1
        var error = dx + dy
        let low = -(brush - 1) / 2, high = brush / 2
        while true {
            if brush == 1 {
                setPixel(x: x, y: y, color: color)
            } else {
                fillRectangle(x: x + low, y: y + low, width: high - low + 1, height: high - low + 1, color: color)
            }
            if x == endX && y == endY { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += stepX }
            if doubled <= dx { error += dx; y += stepY }
        }
    }

    /// Draws `text` in the built-in 5×7 font with its top-left corner at (x, y), each font pixel a
    /// `scale`×`scale` block; `\n` starts a new line. Returns the width of the widest line in pixels.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, color: RGBColor, scale: Int = 1) -> Int {
        let scale = max(1, min(scale, 64))
        var widest = 0
        for (lineIndex, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let top = Self.saturatingSum(y, lineIndex * BitmapFont.lineHeight * scale)
            for (column, character) in line.enumerated() {
                let left = Self.saturatingSum(x, column * BitmapFont.advance * scale)
                let glyph = BitmapFont.glyph(for: character)
                for (row, bits) in glyph.enumerated() {
                    for bit in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(bit)) != 0 {
                        fillRectangle(x: Self.saturatingSum(left, bit * scale), y: Self.saturatingSum(top, row * scale),
                                      width: scale, height: scale, color: color)
                    }
                }
            }
            widest = max(widest, BitmapFont.width(of: String(line), scale: scale))
        }
        return widest
    }

    /// Draws a grayscale image (`imageWidth`×`imageHeight` row-major values in [0, 1], e.g. one 28×28
    /// MNIST digit) with its top-left corner at (x, y), each image pixel a `scale`×`scale` block. With
    /// `inkIsDark` 1 is black and 0 white (ink on paper), otherwise 0 is black. Values outside [0, 1] are
    /// clamped and NaN counts as 0. Draws nothing and returns false if `pixels` holds too few values.
    @discardableResult
    public mutating func drawGrayscaleImage(_ pixels: ArraySlice<Float>, imageWidth: Int = 28, imageHeight: Int = 28,
                                            x: Int, y: Int, scale: Int = 1, inkIsDark: Bool = true) -> Bool {
        guard imageWidth > 0, imageHeight > 0 else { return false }
        let (needed, overflow) = imageWidth.multipliedReportingOverflow(by: imageHeight)
        guard !overflow, pixels.count >= needed else { return false }
        let scale = max(1, min(scale, 256))
        var index = pixels.startIndex
        for row in 0..<imageHeight {
            for column in 0..<imageWidth {
                let raw = pixels[index]
                index += 1
                let value = raw.isNaN ? 0 : min(max(raw, 0), 1)
                let level = UInt8((inkIsDark ? 1 - value : value) * 255 + 0.5)
                fillRectangle(x: Self.saturatingSum(x, column * scale), y: Self.saturatingSum(y, row * scale),
                              width: scale, height: scale, color: RGBColor(level, level, level))
            }
        }
        return true
    }

    /// `drawGrayscaleImage` for a whole array.
    @discardableResult
    public mutating func drawGrayscaleImage(_ pixels: [Float], imageWidth: Int = 28, imageHeight: Int = 28,
                                            x: Int, y: Int, scale: Int = 1, inkIsDark: Bool = true) -> Bool {
        drawGrayscaleImage(pixels[...], imageWidth: imageWidth, imageHeight: imageHeight, x: x, y: y, scale: scale,
                           inkIsDark: inkIsDark)
    }

    /// The canvas as a PNG file.
    public func pngData() -> Data {
        PNGEncoder.encode(width: width, height: height, rgb: rgb)
    }

    /// Writes the PNG to `path` atomically (see `AtomicFile`).
    public func writePNG(to path: String) throws {
        try AtomicFile.write(pngData(), to: path)
    }

    // MARK: Helpers

    /// a + b, clamped to Int's range instead of trapping.
    static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return sum }
        return b > 0 ? Int.max : Int.min
    }

    struct Point: Equatable {
        var x: Int
        var y: Int
    }

    /// An inclusive clipping rectangle.
    struct ClipBounds {
        let minimumX: Int, minimumY: Int, maximumX: Int, maximumY: Int

        /// Cohen–Sutherland outcode: which sides `point` lies beyond.
        func outcode(_ point: Point) -> UInt8 {
            (point.x < minimumX ? 1 : 0) | (point.x > maximumX ? 2 : 0) | (point.y < minimumY ? 4 : 0) | (point.y > maximumY ? 8 : 0)
        }
    }

    /// The part of the segment from `start` to `end` inside `bounds`, endpoints rounded toward the
    /// segment's start; nil if none. Exact for any Int coordinates: the crossing points are computed with
    /// 128-bit products, and a segment whose extent overflows Int is split at its midpoint first.
    static func clip(_ start: Point, _ end: Point, to bounds: ClipBounds, depth: Int = 0) -> (start: Point, end: Point)? {
        let overflows = end.x.subtractingReportingOverflow(start.x).overflow || end.y.subtractingReportingOverflow(start.y).overflow
        if overflows {
            guard depth < 4 else { return nil }
            // Overflow-safe midpoint; both halves then span at most about half of Int's range.
            let middle = Point(x: (start.x >> 1) + (end.x >> 1) + (start.x & end.x & 1),
                               y: (start.y >> 1) + (end.y >> 1) + (start.y & end.y & 1))
            let first = clip(start, middle, to: bounds, depth: depth + 1)
            let second = clip(middle, end, to: bounds, depth: depth + 1)
            switch (first, second) {
            case let (first?, second?): return (first.start, second.end)
            case let (first?, nil): return first
            case let (nil, second?): return second
            case (nil, nil): return nil
            }
        }
        var a = start, b = end
        // Each step moves one endpoint onto a boundary it lies beyond; four per endpoint at most.
        for _ in 0..<16 {
            let codeA = bounds.outcode(a), codeB = bounds.outcode(b)
            if codeA | codeB == 0 { return (a, b) }
            if codeA & codeB != 0 { return nil }
            let movingA = codeA != 0
            let outside = movingA ? a : b, other = movingA ? b : a
            let code = movingA ? codeA : codeB
            // The boundary lies strictly between outside and other along the chosen axis, so every
            // difference below fits in Int and the quotient is at most the segment's extent.
            let moved: Point
            if code & 3 != 0 {
                let boundary = code & 1 != 0 ? bounds.minimumX : bounds.maximumX
                let offset = Self.scaledOffset(other.y - outside.y, numerator: boundary - outside.x, denominator: other.x - outside.x)
                moved = Point(x: boundary, y: outside.y + offset)
            } else {
                let boundary = code & 4 != 0 ? bounds.minimumY : bounds.maximumY
                let offset = Self.scaledOffset(other.x - outside.x, numerator: boundary - outside.y, denominator: other.y - outside.y)
                moved = Point(x: outside.x + offset, y: boundary)
            }
            if movingA { a = moved } else { b = moved }
        }
        return nil
    }

    /// value × numerator / denominator, truncated, without overflow in the product; requires
    /// |numerator| ≤ |denominator| ≠ 0 so the result fits.
    private static func scaledOffset(_ value: Int, numerator: Int, denominator: Int) -> Int {
        guard denominator != 0, numerator.magnitude <= denominator.magnitude else { return 0 }
        return denominator.dividingFullWidth(value.multipliedFullWidth(by: numerator)).quotient
    }
}
