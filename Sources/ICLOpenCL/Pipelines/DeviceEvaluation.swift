import ICLCore

/// Evaluation on a device: `BatchStats.accumulate`'s chunks, each chunk's launches enqueued by `run(first, n)`, which
/// returns the buffer holding that chunk's (mean loss, errors) in floats 0 and 1.
public enum DeviceEvaluation {
    public static func accumulate(_ count: Int, chunk: Int, _ run: (_ first: Int, _ n: Int) throws -> CLBuffer<Float>)
        throws -> BatchStats {
        try BatchStats.accumulate(count, chunk: chunk) { first, n in
            let s = try run(first, n).read(count: 2)
            return (s[0], Int(s[1]))
        }
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
