/// The comparison of one device tensor with its reference: |dev − ref| ≤ atol + rtol·|ref|, where
/// atol is `scaledAtol` times the largest |ref| of the tensor (so it reads as "relative to the tensor's scale").
public struct TensorComparison: Sendable {
    /// The kernel that produced the tensor.
    public let kernel: String
    /// The tensor's name.
    public let tensor: String
    /// Elements in the reference tensor.
    public let count: Int
    /// Largest |dev − ref| over the tensor (infinity if any device value is not finite).
    public let maxAbsError: Double
    /// Largest |dev − ref| / max(|ref|, 1e-3 · scale), over the tensor.
    public let maxRelError: Double
    /// First index that broke the tolerance, if any.
    public let firstBad: Int?
    /// The device value at `firstBad` (0 when all passed).
    public let badDevice: Double
    /// The reference value at `firstBad` (0 when all passed).
    public let badReference: Double
    /// Relative tolerance (multiplies |ref|).
    public let rtol: Double
    /// Absolute tolerance as a fraction of the tensor's largest |ref|.
    public let scaledAtol: Double

    /// True when no element broke the tolerance.
    public var passed: Bool { firstBad == nil }

    /// Compares `device` with `reference` element by element; a length mismatch fails at the shorter length.
    public init(kernel: String, tensor: String, device: [Float], reference: [Double],
                rtol: Double, scaledAtol: Double) {
        self.kernel = kernel
        self.tensor = tensor
        self.rtol = rtol
        self.scaledAtol = scaledAtol
        var maxAbs = 0.0, maxRel = 0.0
        var bad: Int? = nil, badDev = 0.0, badRef = 0.0
        let scale = reference.reduce(0.0) { max($0, abs($1)) }
        let atol = scaledAtol * scale + 1e-30
        if device.count != reference.count { bad = min(device.count, reference.count) }
        for i in 0..<min(device.count, reference.count) {
            let dv = Double(device[i]), rv = reference[i]
            let err = abs(dv - rv)
            if !dv.isFinite || !(err <= atol + rtol * abs(rv)) {
                if bad == nil { bad = i; badDev = dv; badRef = rv }
            }
            if err.isFinite {
                maxAbs = max(maxAbs, err)
                maxRel = max(maxRel, err / max(abs(rv), scale * 1e-3, 1e-30))
            } else {
                maxAbs = .infinity
            }
        }
        count = reference.count
        maxAbsError = maxAbs
        maxRelError = maxRel
        firstBad = bad
        badDevice = badDev
        badReference = badRef
    }

    /// Exact comparison, for the sampler: every element must have the reference's bit pattern, except that +0 and −0
    /// count as equal (an implementation may fold `0 · x` to +0, as Mesa's rusticl does in the fused sampler, and no
    /// consumer of these tensors can tell the signs of zero apart). Everything else stays bitwise: 1 ulp apart fails,
    /// and a NaN matches only a NaN with the same payload (the sampler makes no NaN, so any is a defect to report).
    public init(kernel: String, tensor: String, exactDevice device: [Float], reference: [Float]) {
        self.kernel = kernel
        self.tensor = tensor
        rtol = 0
        scaledAtol = 0
        var bad: Int? = device.count == reference.count ? nil : min(device.count, reference.count)
        var maxAbs = 0.0
        for i in 0..<min(device.count, reference.count) {
            if !TensorComparison.exactlyEqual(device[i], reference[i]), bad == nil { bad = i }
            maxAbs = max(maxAbs, abs(Double(device[i]) - Double(reference[i])))
        }
        count = reference.count
        maxAbsError = maxAbs
        maxRelError = 0
        firstBad = bad
        badDevice = bad.map { $0 < device.count ? Double(device[$0]) : .nan } ?? 0
        badReference = bad.map { $0 < reference.count ? Double(reference[$0]) : .nan } ?? 0
    }

    /// The exact comparison's equality: the same bits, or both zero (+0 and −0 alike).
    static func exactlyEqual(_ a: Float, _ b: Float) -> Bool {
        a.bitPattern == b.bitPattern || (a == 0 && b == 0)
    }

    /// One line: kernel, tensor, errors and, on failure, the first offending index.
    public var line: String {
        let status = passed ? "pass" : "FAIL"
        var s = "\(kernel.padding(toLength: max(20, kernel.count), withPad: " ", startingAt: 0)) \(tensor.padding(toLength: max(8, tensor.count), withPad: " ", startingAt: 0)) "
            + "max abs \(fmt(maxAbsError))  max rel \(fmt(maxRelError))  \(status)"
        if let i = firstBad {
            s += " (first bad index \(i): device \(badDevice), reference \(badReference))"
        }
        return s
    }

    func fmt(_ x: Double) -> String {
        x == 0 ? "0        " : String(format: "%.2e", x).padding(toLength: 9, withPad: " ", startingAt: 0)
    }
}
