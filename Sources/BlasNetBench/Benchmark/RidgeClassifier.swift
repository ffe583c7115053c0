import COpenBLAS
import BlasNet
import Foundation

/// The closed-form reference: a linear least-squares classifier with ridge penalty on the raw pixels
/// plus a bias column, fitted by solving (XᵀX + λI) W = XᵀY with LAPACKE_sposv (Cholesky). Two classes:
/// one target column y ∈ {0, 1}, class 1 predicted when x·w > 0.5. K ≥ 3 classes: one one-hot column
/// per class, the class of the largest score predicted. It tells how far the networks are from the
/// best linear separator of the same data.
public struct RidgeClassifier: Sendable {
    /// [width + 1, columns] row-major: one row per pixel, then the bias row.
    public let weights: [Float]
    /// Target columns: 1 for two classes, else one per class.
    public let columns: Int
    public let fitSeconds: Double

    public enum FitError: Error, CustomStringConvertible {
        case lapack(info: Int32)
        public var description: String {
            switch self {
            case let .lapack(info): return "LAPACKE_sposv failed with info \(info) (normal equations not positive definite)"
            }
        }
    }

    public static func fit(_ data: LabeledImages, lambda: Float = 1) throws -> RidgeClassifier {
        let started = DispatchTime.now().uptimeNanoseconds
        _ = OpenBLASCore.current  // settles OpenBLAS's kernel family before its first call here
        let pixels = data.width, width = data.width + 1
        let columns = data.classCount == 2 ? 1 : data.classCount
        var design = [Float](repeating: 1, count: data.count * width)  // [N, width + 1], last column 1
        var targets = [Float](repeating: 0, count: data.count * columns)  // [N, columns]
        for row in 0..<data.count {
            for p in 0..<pixels { design[row * width + p] = data.images[row * pixels + p] }
            if columns == 1 { targets[row] = Float(data.labels[row]) } else { targets[row * columns + data.labels[row]] = 1 }
        }
        var normal = [Float](repeating: 0, count: width * width)        // XᵀX + λI
        var rightHandSide = [Float](repeating: 0, count: width * columns)  // XᵀY
        design.withUnsafeBufferPointer { x in
            normal.withUnsafeMutableBufferPointer { g in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(width), Int32(width), Int32(data.count),
                            1, x.baseAddress, Int32(width), x.baseAddress, Int32(width), 0, g.baseAddress, Int32(width))
            }
            targets.withUnsafeBufferPointer { y in
                rightHandSide.withUnsafeMutableBufferPointer { r in
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(width), Int32(columns), Int32(data.count),
                                1, x.baseAddress, Int32(width), y.baseAddress, Int32(columns), 0, r.baseAddress, Int32(columns))
                }
            }
        }
        for i in 0..<width { normal[i * width + i] += lambda }
        let info = normal.withUnsafeMutableBufferPointer { g in
            rightHandSide.withUnsafeMutableBufferPointer { r in
                LAPACKE_sposv(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "U")), Int32(width), Int32(columns), g.baseAddress,
                              Int32(width), r.baseAddress, Int32(columns))
            }
        }
        guard info == 0 else { throw FitError.lapack(info: info) }
        return RidgeClassifier(weights: rightHandSide, columns: columns,
                               fitSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Errors on `data`.
    public func errors(on data: LabeledImages) -> Int {
        let pixels = data.width
        var errors = 0
        var scores = [Float](repeating: 0, count: columns)
        for row in 0..<data.count {
            for c in 0..<columns {
                var score = weights[pixels * columns + c]
                for p in 0..<pixels { score += weights[p * columns + c] * data.images[row * pixels + p] }
                scores[c] = score
            }
            let predicted = columns == 1 ? (scores[0] > 0.5 ? 1 : 0) : scores.indices.max { scores[$0] < scores[$1] }!
            if predicted != data.labels[row] { errors += 1 }
        }
        return errors
    }
}
