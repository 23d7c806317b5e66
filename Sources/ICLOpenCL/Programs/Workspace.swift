import ICLCore

/// Device buffers for one batch of prompts of one shape: inputs, activations and their gradients.
public final class Workspace {
    public let capacity: Int
    /// [B, l+1, d]
    public let prompts: CLBuffer<Float>
    /// [B]
    public let labels, F, dF, lossTerm, errTerm: CLBuffer<Float>
    /// [B, d]
    public let u, v, c, h, dh, dc, dv, du: CLBuffer<Float>
    /// [B, L]
    public let attn: CLBuffer<Float>
    /// [B, m]
    public let g, dg: CLBuffer<Float>
    /// [2]: mean loss, error count
    public let stats: CLBuffer<Float>

    public init(context: CLContext, shape: ModelShape, capacity B: Int) throws {
        capacity = B
        let d = shape.d
        prompts = try context.buffer(Float.self, count: B * shape.columns * d, label: "prompts [\(B), \(shape.columns), \(d)]")
        labels = try context.buffer(Float.self, count: B, label: "labels")
        F = try context.buffer(Float.self, count: B, label: "F")
        dF = try context.buffer(Float.self, count: B, label: "dF")
        lossTerm = try context.buffer(Float.self, count: B, label: "loss terms")
        errTerm = try context.buffer(Float.self, count: B, label: "error terms")
        func vec(_ name: String) throws -> CLBuffer<Float> {
            try context.buffer(Float.self, count: B * d, label: "\(name) [\(B), \(d)]")
        }
        u = try vec("u"); v = try vec("v"); c = try vec("c"); h = try vec("h")
        dh = try vec("dh"); dc = try vec("dc"); dv = try vec("dv"); du = try vec("du")
        attn = try context.buffer(Float.self, count: B * shape.attended, label: "attn [\(B), \(shape.attended)]")
        g = try context.buffer(Float.self, count: B * shape.m, label: "g [\(B), \(shape.m)]")
        dg = try context.buffer(Float.self, count: B * shape.m, label: "dg [\(B), \(shape.m)]")
        stats = try context.buffer(Float.self, count: 2, label: "stats")
    }
}

/// A prompt spec's tables on the device: relevant and irrelevant patterns, q, and the task list.
public final class SpecBuffers {
    public let spec: PromptSpec
    public let relevant, irrelevant, q: CLBuffer<Float>
    public let tasks: CLBuffer<Int32>
    /// The same tables as float8 rows for the fused sampler: patterns zero-padded to 8·⌈d/8⌉ floats,
    /// and q placed at lanes d_X..d−1.
    public let relevantPadded, irrelevantPadded, qPadded: CLBuffer<Float>
    /// The prompt basis E = [relevant rows; irrelevant rows; [0; q]] as [R, 8·⌈d/8⌉], then Eᵀ as
    /// [d, 8·⌈R/8⌉] with zero columns past R (pattern-space kernels).
    public let basisPadded: CLBuffer<Float>
    public var basisSize: Int { spec.nRelevant + spec.nIrrelevant + 1 }

    /// The sampler's scalar arguments, in the order every sampling kernel takes them after its tables:
    /// nTasks, nRelevant, nIrrelevant, alpha, K, seedLo, seedHi, step, stream, firstPrompt, batch.
    func samplerArgs(step: Int, firstPrompt: Int, batch: Int) -> [any CLKernelArgument] {
        [Int32(spec.tasks.count), Int32(spec.nRelevant), Int32(spec.nIrrelevant), spec.alpha, spec.K,
         UInt32(truncatingIfNeeded: spec.seed), UInt32(truncatingIfNeeded: spec.seed >> 32),
         UInt32(truncatingIfNeeded: step), spec.stream, UInt32(truncatingIfNeeded: firstPrompt), Int32(batch)]
    }

    public init(context: CLContext, spec: PromptSpec) throws {
        self.spec = spec
        let width = 8 * ((spec.d + 7) / 8)
        func padded(_ rows: [Float]) -> [Float] {
            stride(from: 0, to: rows.count, by: spec.dX).flatMap {
                Array(rows[$0..<($0 + spec.dX)]) + [Float](repeating: 0, count: width - spec.dX)
            }
        }
        relevantPadded = try context.buffer(padded(spec.relevant), label: "relevant patterns (padded)")
        irrelevantPadded = try context.buffer(padded(spec.irrelevant), label: "irrelevant patterns (padded)")
        var qp = [Float](repeating: 0, count: width)
        for t in 0..<spec.dY { qp[spec.dX + t] = spec.q[t] }
        qPadded = try context.buffer(qp, label: "q (padded)")
        let basis = padded(spec.relevant) + padded(spec.irrelevant) + qp
        let rows = basis.count / width, rowsPadded = 8 * ((rows + 7) / 8)
        var transposed = [Float](repeating: 0, count: spec.d * rowsPadded)
        for b in 0..<rows { for i in 0..<spec.d { transposed[i * rowsPadded + b] = basis[b * width + i] } }
        basisPadded = try context.buffer(basis + transposed, label: "prompt basis and its transpose (padded)")
        relevant = try context.buffer(spec.relevant, label: "relevant patterns")
        irrelevant = try context.buffer(spec.irrelevant, label: "irrelevant patterns")
        q = try context.buffer(spec.q, label: "q")
        tasks = try context.buffer(spec.tasks.flatMap { [Int32($0.a), Int32($0.b)] }, label: "tasks")
    }
}

/// The device tables of the evaluation specs a backend has seen: a run evaluates the same few specs again
/// and again. Bounded: past 16 specs the cache starts over.
final class SpecBufferCache {
    let context: CLContext
    private var tables: [PromptSpec: SpecBuffers] = [:]

    init(context: CLContext) { self.context = context }

    func buffers(_ spec: PromptSpec) throws -> SpecBuffers {
        if let b = tables[spec] { return b }
        if tables.count >= 16 { tables.removeAll() }
        let b = try SpecBuffers(context: context, spec: spec)
        tables[spec] = b
        return b
    }
}
