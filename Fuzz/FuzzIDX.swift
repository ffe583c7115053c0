// libFuzzer harness for IDXReader (Sources/BlasNetIO/Data/IDXReader.swift). Built and run by
// scripts/fuzz.sh idx, which compiles this file together with IDXReader.swift into one module, so the
// harness also reaches internal API (IDXReader.readFile).
//
// Every input is parsed as a labels file and as an images file, both from a Data that starts at index 0
// and from a slice of a larger Data (startIndex 1), and the two answers must agree. Inputs whose header
// is accepted are also written to a temporary file and read back through readLabels(at:) /
// readImages(at:), the code the CLI runs. Every input is also inflated as gzip (IDXReader.gunzip, which
// readFile applies to files starting 1f 8b): it must decompress within the size cap or throw an IDXError
// naming the file. Thrown IDXErrors are expected and ignored (their description
// is rendered, to exercise it); a crash, trap, sanitizer report, an error of another type, or a result
// that contradicts the header is a bug.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

private let fuzzPath = "fuzz-input.idx"
private let temporaryFile = NSTemporaryDirectory() + "blasnet-fuzz-idx-\(getpid()).idx"

/// parseHeader's answer in a comparable form: the sizes and header length, or the error.
private enum HeaderOutcome: Equatable {
    case parsed([Int], Int)
    case failed(IDXError)
}

private func parse(_ data: Data, magic: UInt32) -> HeaderOutcome {
    do {
        let (dimensions, headerLength) = try IDXReader.parseHeader(data, path: fuzzPath, magic: magic)
        return .parsed(dimensions, headerLength)
    } catch let error as IDXError {
        precondition(error.description.contains(fuzzPath), "error does not name the file: \(error)")
        return .failed(error)
    } catch {
        fatalError("parseHeader threw a non-IDXError: \(error)")
    }
}

private func checkHeader(_ data: Data, magic: UInt32) {
    let outcome = parse(data, magic: magic)
    // The same bytes at a non-zero startIndex must give the same answer.
    var padded = Data([0xA5])
    padded.append(data)
    let sliced = padded[padded.startIndex + 1 ..< padded.endIndex]
    let slicedOutcome = parse(sliced, magic: magic)
    precondition(outcome == slicedOutcome, "slice disagrees: \(outcome) vs \(slicedOutcome)")

    guard case let .parsed(dimensions, headerLength) = outcome else { return }
    let rank = magic == IDXReader.labelMagic ? 1 : 3
    precondition(dimensions.count == rank && headerLength == 4 + 4 * rank, "header shape: \(dimensions) \(headerLength)")
    precondition(dimensions.allSatisfy { $0 >= 0 }, "negative dimension: \(dimensions)")
    precondition(headerLength + dimensions.reduce(1, *) == data.count, "accepted \(dimensions) for \(data.count) bytes")

    // Through the file-reading entry points (only for accepted headers, so the file I/O stays rare).
    guard (try? data.write(to: URL(fileURLWithPath: temporaryFile))) != nil else { return }
    defer { unlink(temporaryFile) }
    do {
        if magic == IDXReader.labelMagic {
            let labels = try IDXReader.readLabels(at: temporaryFile)
            precondition(labels.count == dimensions[0], "\(labels.count) labels, header says \(dimensions[0])")
            precondition(labels[...] == [UInt8](data)[headerLength...], "labels differ from the payload")
        } else {
            let images = try IDXReader.readImages(at: temporaryFile)
            precondition([images.count, images.rows, images.columns] == dimensions, "dimensions \(images)")
            precondition(images.pixels.count == images.count * images.rows * images.columns, "pixel count")
            precondition(images.pixels[...] == [UInt8](data)[headerLength...], "pixels differ from the payload")
        }
    } catch {
        fatalError("reading an accepted file back failed: \(error)")
    }
}

private func checkGzip(_ data: Data) {
    do {
        let inflated = try IDXReader.gunzip(data, path: fuzzPath)
        precondition(inflated.count <= IDXReader.maximumInflatedSize, "inflated past the cap: \(inflated.count)")
        checkHeader(inflated, magic: IDXReader.labelMagic)
    } catch let error as IDXError {
        precondition(error.description.contains(fuzzPath), "error does not name the file: \(error)")
    } catch {
        fatalError("gunzip threw a non-IDXError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    checkHeader(data, magic: IDXReader.labelMagic)
    checkHeader(data, magic: IDXReader.imageMagic)
    checkGzip(data)
    return 0
}
