// libFuzzer harness for the safetensors reader (Sources/BlasNetIO/Persistence/Safetensors.swift). Built and
// run by scripts/fuzz.sh safetensors, which compiles this file together with Safetensors.swift and
// AtomicFile.swift (used by its writer) into one module.
//
// Every input goes through Safetensors.decode(_:path:), from a Data at index 0 and from a slice of a
// larger Data (startIndex 1); the answers must agree. Thrown SafetensorsErrors are expected and ignored
// (their description is rendered, to exercise it). An accepted file must be self-consistent (every shape
// holds its values) and survive encode → decode bit-exactly. A crash, trap, sanitizer report, an error
// of another type, or a failed check is a bug.
import Foundation

private let fuzzPath = "fuzz-input.safetensors"

/// A decoded file with float values as bit patterns, so NaNs compare exactly.
private struct Exact: Equatable {
    var tensors: [String: [Int]]
    var bits: [String: [UInt32]]
    var metadata: [String: String]

    init(_ file: SafetensorsFile) {
        tensors = file.tensors.mapValues(\.shape)
        bits = file.tensors.mapValues { $0.values.map(\.bitPattern) }
        metadata = file.metadata
    }
}

private enum Outcome: Equatable {
    case parsed(Exact)
    case failed(SafetensorsError)
}

private func decode(_ data: Data) -> Outcome {
    do {
        let file = try Safetensors.decode(data, path: fuzzPath)
        for (name, tensor) in file.tensors {
            precondition(tensor.shape.allSatisfy { $0 >= 0 }, "\(name): negative dimension \(tensor.shape)")
            precondition(tensor.shape.reduce(1, *) == tensor.values.count, "\(name): shape \(tensor.shape) vs \(tensor.values.count) values")
        }
        precondition(file.tensors[Safetensors.metadataKey] == nil, "metadata key decoded as a tensor")
        return .parsed(Exact(file))
    } catch let error as SafetensorsError {
        precondition(error.description.contains(fuzzPath), "error does not name the file: \(error)")
        return .failed(error)
    } catch {
        fatalError("decode threw a non-SafetensorsError: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    let outcome = decode(data)
    var padded = Data([0x7B])  // '{'
    padded.append(data)
    let slicedOutcome = decode(padded[padded.startIndex + 1 ..< padded.endIndex])
    precondition(outcome == slicedOutcome, "slice disagrees: \(outcome) vs \(slicedOutcome)")

    guard case let .parsed(exact) = outcome else { return 0 }
    // What was read must be writable, and must read back identically.
    do {
        let file = try Safetensors.decode(data, path: fuzzPath)
        let encoded = try Safetensors.encode(file, path: fuzzPath)
        let again = try Safetensors.decode(encoded, path: fuzzPath)
        precondition(Exact(again) == exact, "encode → decode changed the file")
    } catch {
        fatalError("round trip of an accepted file failed: \(error)")
    }
    return 0
}
