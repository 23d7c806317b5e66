import ICLCore

/// The evaluation loop every pipeline shares: prompts 0..<count in chunks of at most `chunk`, each chunk's launches
/// enqueued by `run(first, n)`, which returns the buffer holding that chunk's (mean loss, errors) in floats 0 and 1.
/// The chunks' losses are combined weighted by their sizes.
public enum DeviceEvaluation {
    public static func accumulate(_ count: Int, chunk: Int, _ run: (_ first: Int, _ n: Int) throws -> CLBuffer<Float>)
        throws -> BatchStats {
        var lossSum: Double = 0, errors = 0
        for first in stride(from: 0, to: count, by: chunk) {
            let n = min(chunk, count - first)
            let s = try run(first, n).read(count: 2)
            lossSum += Double(s[0]) * Double(n)
            errors += Int(s[1])
        }
        return BatchStats(loss: Float(lossSum / Double(max(count, 1))), errors: errors, prompts: count)
    }
}

/// Programs and workspaces built once per key (an evaluation length, a basis size) and then reused.
final class BuiltOnce<Key: Hashable, Value> {
    private var values: [Key: Value] = [:]
    func get(_ key: Key, _ make: () throws -> Value) rethrows -> Value {
        if let v = values[key] { return v }
        let v = try make()
        values[key] = v
        return v
    }
}
