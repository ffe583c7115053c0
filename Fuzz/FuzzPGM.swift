// libFuzzer harness for PGMReader.parseDigit (Sources/BlasNetIO/Data/PGMReader.swift). Built and run by
// scripts/fuzz.sh pgm, which compiles this file together with PGMReader.swift and IDXReader.swift
// (readDigit reads through IDXReader.readFile) into one module.
//
// Every input is parsed from a Data that starts at index 0 and from a slice of a larger Data
// (startIndex 1); the answers must agree. Thrown PGMErrors are expected and ignored (their description
// is rendered, to exercise it); a crash, trap, sanitizer report, an error of another type, a header
// error offset outside the input, or an accepted image that is not 784 values in [0, 1] is a bug.
import Foundation

private let fuzzPath = "fuzz-input.pgm"

private enum Outcome: Equatable {
    case parsed([UInt32])  // bit patterns, so that the comparison is exact
    case failed(PGMError)
}

private func parse(_ data: Data) -> Outcome {
    do {
        let values = try PGMReader.parseDigit(data, path: fuzzPath)
        precondition(values.count == 28 * 28, "\(values.count) values")
        precondition(values.allSatisfy { $0 >= 0 && $0 <= 1 }, "value outside [0, 1]")
        return .parsed(values.map(\.bitPattern))
    } catch let error as PGMError {
        precondition(error.description.contains(fuzzPath), "error does not name the file: \(error)")
        if case let .malformedHeader(_, offset, _) = error {
            precondition(offset >= 0 && offset <= data.count, "offset \(offset) outside \(data.count) bytes")
        }
        return .failed(error)
    } catch {
        fatalError("parseDigit threw a non-PGMError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let outcome = parse(data)
    var padded = Data([0x50])  // 'P', so a slice bug that reads one byte early could look valid
    padded.append(data)
    let slicedOutcome = parse(padded[padded.startIndex + 1 ..< padded.endIndex])
    precondition(outcome == slicedOutcome, "slice disagrees: \(outcome) vs \(slicedOutcome)")
    return 0
}
