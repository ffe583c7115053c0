// The kernels of SwiftKernels, inlined into this module, which Package.swift builds with -mavx2 -mfma
// (AVX2 + FMA) on x86_64 hosts. Call these only where the CPU has AVX2 and FMA (`CPUFeatures`): on
// another CPU their instructions fault.
import SwiftKernels

public func gemmAVX2(_ problem: GemmProblem, workspaces: [GemmWorkspace]) {
    gemmParallel(problem, workspaces: workspaces, tile: Tile6x16.self) {
        gemmSerial($0, fused: true, workspace: $1, tile: Tile6x16.self)
    }
}

public func adamUpdateAVX2(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                           firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>,
                           count: Int, rate: Float, beta1: Float, beta2: Float, epsilon: Float) {
    adamUpdate(parameters: parameters, gradients: gradients, firstMoment: firstMoment, secondMoment: secondMoment,
               count: count, rate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon)
}

public func scalePixelBytesAVX2(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<Float>,
                                count: Int) {
    scalePixelBytes(source, into: destination, count: count)
}
