// The kernels of SwiftKernels, inlined into this module, which Package.swift builds with AVX-512
// (F, CD, BW, DQ, VL) and FMA on x86_64 hosts: one SIMD16<Float> is one zmm register. Call these only
// where the CPU has all of them (`CPUFeatures.hasAVX512`): on another CPU their instructions fault.
import SwiftKernels

public func gemmAVX512(_ problem: GemmProblem, workspaces: [GemmWorkspace]) {
    gemmParallel(problem, workspaces: workspaces, tile: Tile8x32.self) {
        gemmSerial($0, fused: true, workspace: $1, tile: Tile8x32.self)
    }
}

public func adamUpdateAVX512(parameters: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>,
                             firstMoment: UnsafeMutablePointer<Float>, secondMoment: UnsafeMutablePointer<Float>,
                             count: Int, rate: Float, beta1: Float, beta2: Float, epsilon: Float) {
    adamUpdate(parameters: parameters, gradients: gradients, firstMoment: firstMoment, secondMoment: secondMoment,
               count: count, rate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon)
}

public func scalePixelBytesAVX512(_ source: UnsafePointer<UInt8>, into destination: UnsafeMutablePointer<Float>,
                                  count: Int) {
    scalePixelBytes(source, into: destination, count: count)
}
