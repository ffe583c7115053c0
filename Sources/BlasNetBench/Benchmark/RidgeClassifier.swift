import COpenBLAS
import BlasNet
import Foundation

/// The closed-form reference: a linear least-squares classifier with ridge penalty on the raw pixels
/// plus a bias column, fitted by solving (XᵀX + λI) w = Xᵀy with LAPACKE_sposv (Cholesky), labels
/// {0, 1}, predicting class 1 when x·w > 0.5. It tells how far the networks are from the best linear
/// separator of the same data.
public struct RidgeClassifier: Sendable {
    /// 785 weights: one per pixel, then the bias.
    public let weights: [Float]
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
        let width = LabeledImages.pixelCount + 1
        var design = [Float](repeating: 1, count: data.count * width)  // [N, 785], last column 1
        for row in 0..<data.count {
            for p in 0..<LabeledImages.pixelCount { design[row * width + p] = data.images[row * LabeledImages.pixelCount + p] }
        }
        var normal = [Float](repeating: 0, count: width * width)  // XᵀX + λI
        var rightHandSide = [Float](repeating: 0, count: width)    // Xᵀy
        design.withUnsafeBufferPointer { x in
            normal.withUnsafeMutableBufferPointer { g in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(width), Int32(width), Int32(data.count),
                            1, x.baseAddress, Int32(width), x.baseAddress, Int32(width), 0, g.baseAddress, Int32(width))
            }
            data.labels.withUnsafeBufferPointer { y in
                rightHandSide.withUnsafeMutableBufferPointer { r in
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(data.count), Int32(width), 1, x.baseAddress,
                                Int32(width), y.baseAddress, 1, 0, r.baseAddress, 1)
                }
            }
        }
        for i in 0..<width { normal[i * width + i] += lambda }
        let info = normal.withUnsafeMutableBufferPointer { g in
            rightHandSide.withUnsafeMutableBufferPointer { r in
                LAPACKE_sposv(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "U")), Int32(width), 1, g.baseAddress, Int32(width),
                              r.baseAddress, 1)
            }
        }
        guard info == 0 else { throw FitError.lapack(info: info) }
        return RidgeClassifier(weights: rightHandSide,
                               fitSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Errors on `data`.
    public func errors(on data: LabeledImages) -> Int {
        var errors = 0
        for row in 0..<data.count {
            var score = weights[LabeledImages.pixelCount]
            for p in 0..<LabeledImages.pixelCount { score += weights[p] * data.images[row * LabeledImages.pixelCount + p] }
            if (score > 0.5) != (data.labels[row] > 0.5) { errors += 1 }
        }
        return errors
    }
}
