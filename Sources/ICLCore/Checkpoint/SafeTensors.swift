import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A checkpoint or safetensors file that cannot be read or written: one sentence naming the file,
/// the problem and what to do.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One tensor of a safetensors file. Only `F32` is written and read.
public struct SafeTensor: Equatable, Sendable {
    public var dtype: String
    public var shape: [Int]
    public var data: [Float]

    public init(dtype: String = "F32", shape: [Int], data: [Float]) {
        self.dtype = dtype; self.shape = shape; self.data = data
    }
}

/// A safetensors file: 8-byte little-endian header length N, N bytes of JSON header, raw little-endian data.
///
/// `decode` treats its input as hostile: every malformed input is refused with a `CheckpointError`,
/// never a trap, and no claimed size is allocated before it is checked against the bytes present.
public struct SafeTensorsFile: Equatable, Sendable {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    /// Largest header accepted by `decode`.
    public static let maxHeaderBytes = 100_000_000

    // MARK: Encoding

    /// Checks that `encoded()` can represent this file: F32 tensors whose data matches their shape,
    /// and no tensor named `__metadata__`.
    public func validateForWriting(path: String) throws {
        for (name, t) in tensors {
            if name == "__metadata__" {
                throw CheckpointError("cannot write '\(path)': a tensor may not be named '__metadata__'; rename it.")
            }
            if t.dtype != "F32" {
                throw CheckpointError("cannot write '\(path)': tensor '\(name)' has dtype '\(t.dtype)', but only F32 is supported.")
            }
            guard let n = SafeTensorsFile.elementCount(t.shape) else {
                throw CheckpointError("cannot write '\(path)': tensor '\(name)' has an invalid shape \(t.shape).")
            }
            if n != t.data.count {
                throw CheckpointError("cannot write '\(path)': tensor '\(name)' has shape \(t.shape) (\(n) values) but holds \(t.data.count) values.")
            }
        }
    }

    /// The file's bytes: tensors in sorted-name order, header padded with spaces to a multiple of 8.
    /// Precondition: `validateForWriting` passes (F32 only, data counts match shapes).
    public func encoded() -> [UInt8] {
        let names = tensors.keys.sorted()
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            precondition(name != "__metadata__", "a tensor may not be named __metadata__")
            precondition(t.dtype == "F32", "only F32 tensors can be encoded")
            precondition(SafeTensorsFile.elementCount(t.shape) == t.data.count, "tensor data does not match its shape")
            let end = offset + 4 * t.data.count
            if !first { json += "," }
            first = false
            json += "\(jsonQuoted(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names { SafeTensorsFile.appendLittleEndian(tensors[name]!.data, to: &out) }
        return out
    }

    static func appendLittleEndian(_ values: [Float], to out: inout [UInt8]) {
        #if _endian(little)
        values.withUnsafeBytes { out.append(contentsOf: $0) }
        #else
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
        }
        #endif
    }

    /// Product of the dims, nil on a negative dim or overflow (also of the byte count, ×4).
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: dim)
            if o { return nil }
            n = p
        }
        if n.multipliedReportingOverflow(by: 4).overflow { return nil }
        return n
    }

    // MARK: Decoding

    /// Parses a safetensors file. `source` names it in error messages (usually the path).
    public static func decode(_ bytes: [UInt8], source: String) throws -> SafeTensorsFile {
        try decode(bytes, label: "safetensors file '\(source)'",
                   advice: "it is truncated or corrupt — rewrite it or use another copy")
    }

    /// `label` names the file ("checkpoint 'x.safetensors'"); `advice` ends every corruption message.
    static func decode(_ bytes: [UInt8], label: String, advice: String) throws -> SafeTensorsFile {
        func fail(_ problem: String, _ what: String? = nil) -> CheckpointError {
            CheckpointError("\(label) \(problem); \(what ?? advice).")
        }
        guard bytes.count >= 8 else {
            throw fail("is only \(bytes.count) bytes long, shorter than the 8-byte header length")
        }
        var n64: UInt64 = 0
        for k in 0..<8 { n64 |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard n64 <= UInt64(maxHeaderBytes) else {
            throw fail("claims a header of \(n64) bytes, beyond the 100 MB limit (an absurd size)")
        }
        let headerLen = Int(n64)
        guard headerLen <= bytes.count - 8 else {
            throw fail("claims a header of \(headerLen) bytes but only \(bytes.count - 8) bytes follow the header length")
        }
        let header = Array(bytes[8..<(8 + headerLen)])
        guard Array(String(decoding: header, as: UTF8.self).utf8) == header else {
            throw fail("has a header that is not valid UTF-8")
        }
        let root: StrictJSON
        do {
            var parser = StrictJSONParser(header)
            root = try parser.parseDocument()
        } catch let e as StrictJSONParser.Failure {
            throw fail("has a header that \(e.problem)")
        }
        guard case .object(let members) = root else {
            throw fail("has a header that is not a JSON object")
        }

        let dataStart = 8 + headerLen
        let dataCount = bytes.count - dataStart
        var metadata: [String: String] = [:]
        struct Entry { let name: String; let shape: [Int]; let count: Int; let begin: Int; let end: Int }
        var entries: [Entry] = []

        func integer(_ v: StrictJSON, _ what: String) throws -> Int {
            guard case .number(let raw) = v else { throw fail("has \(what) that is not a number") }
            if raw.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                throw fail("has \(what) = \(raw) that is not an integer")
            }
            guard let value = Int(raw) else { throw fail("has \(what) = \(raw) that is too large (overflow)") }
            if value < 0 { throw fail("has \(what) = \(raw) that is negative") }
            return value
        }

        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw fail("has a '__metadata__' entry that is not a JSON object of strings")
                }
                for (k, v) in pairs {
                    guard case .string(let s) = v else {
                        throw fail("has metadata '\(k)' whose value is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw fail("has tensor '\(name)' whose entry is not a JSON object")
            }
            var dtypeV: StrictJSON?, shapeV: StrictJSON?, offsetsV: StrictJSON?
            for (k, v) in fields {
                switch k {
                case "dtype": dtypeV = v
                case "shape": shapeV = v
                case "data_offsets": offsetsV = v
                default: throw fail("has tensor '\(name)' with an unknown field '\(k)'")
                }
            }
            guard let dtypeV else { throw fail("has tensor '\(name)' without a 'dtype'") }
            guard let shapeV else { throw fail("has tensor '\(name)' without a 'shape'") }
            guard let offsetsV else { throw fail("has tensor '\(name)' without 'data_offsets'") }
            guard case .string(let dtype) = dtypeV else {
                throw fail("has tensor '\(name)' whose 'dtype' is not a string")
            }
            guard case .array(let dimsV) = shapeV else {
                throw fail("has tensor '\(name)' whose 'shape' is not an array")
            }
            guard case .array(let offV) = offsetsV, offV.count == 2 else {
                throw fail("has tensor '\(name)' whose 'data_offsets' is not an array of two integers")
            }
            guard dtype == "F32" else {
                throw fail("has tensor '\(name)' of dtype '\(dtype)', but only F32 is supported",
                          "convert it to float32 (F32) first")
            }
            var shape: [Int] = []
            for (k, dv) in dimsV.enumerated() {
                shape.append(try integer(dv, "tensor '\(name)' shape dimension \(k)"))
            }
            let begin = try integer(offV[0], "tensor '\(name)' data offset begin")
            let end = try integer(offV[1], "tensor '\(name)' data offset end")
            guard let count = elementCount(shape) else {
                throw fail("has tensor '\(name)' whose shape \(shape) overflows the element count")
            }
            guard begin <= end else {
                throw fail("has tensor '\(name)' whose data_offsets [\(begin), \(end)] begin after they end")
            }
            guard end <= dataCount else {
                throw fail("has tensor '\(name)' whose data_offsets [\(begin), \(end)] are out of range of the \(dataCount) data bytes")
            }
            guard end - begin == 4 * count else {
                throw fail("has tensor '\(name)' whose data_offsets span \(end - begin) bytes but shape \(shape) of F32 needs \(4 * count) bytes")
            }
            entries.append(Entry(name: name, shape: shape, count: count, begin: begin, end: end))
        }

        // The tensors must tile the data section exactly: no overlap, no gap, nothing left over.
        let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        var previous: String?
        for e in sorted {
            if e.begin < expected {
                throw fail("has tensor '\(e.name)' whose data overlaps tensor '\(previous ?? "")'")
            }
            if e.begin > expected {
                throw fail("has a gap of \(e.begin - expected) unused bytes before tensor '\(e.name)'; the tensors do not cover the data exactly")
            }
            expected = e.end
            previous = e.name
        }
        if expected != dataCount {
            throw fail("has \(dataCount - expected) trailing data bytes not covered by any tensor")
        }

        var tensors: [String: SafeTensor] = [:]
        bytes.withUnsafeBytes { raw in
            for e in entries {
                let base = dataStart + e.begin
                let data = [Float](unsafeUninitializedCapacity: e.count) { buf, initialized in
                    #if _endian(little)
                    if e.count > 0 {
                        UnsafeMutableRawBufferPointer(buf).copyMemory(
                            from: UnsafeRawBufferPointer(rebasing: raw[base..<(base + 4 * e.count)]))
                    }
                    #else
                    for k in 0..<e.count {
                        let bits = raw.loadUnaligned(fromByteOffset: base + 4 * k, as: UInt32.self)
                        buf[k] = Float(bitPattern: UInt32(littleEndian: bits))
                    }
                    #endif
                    initialized = e.count
                }
                tensors[e.name] = SafeTensor(dtype: "F32", shape: e.shape, data: data)
            }
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    // MARK: Files

    /// Writes the file atomically: a temp file in the same directory, fsync, rename over `path`.
    public func write(to path: String) throws {
        try validateForWriting(path: path)
        try writeFileAtomically(encoded(), to: path)
    }

    /// Reads and decodes a safetensors file.
    public static func read(path: String) throws -> SafeTensorsFile {
        try decode(readFileBytes(path), source: path)
    }
}

// MARK: - Atomic file I/O

private func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// Writes `bytes` to a temp file next to `path`, fsyncs it, and renames it over `path`; on any failure
/// the temp file is removed and `path` is untouched. Every whole-file write of the project goes through here.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws {
    guard !path.isEmpty else { throw CheckpointError("cannot write a file with an empty path; give a file name.") }
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let base = url.lastPathComponent
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
        throw CheckpointError("cannot write '\(path)': directory '\(dir)' does not exist; create it first.")
    }
    let tmp = dir + "/." + base + ".tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        let e = errno
        throw CheckpointError("cannot write '\(path)': creating a temp file in '\(dir)' failed (\(errnoText(e))); check the directory's permissions and free space.")
    }
    var ok = false
    defer {
        if !ok { unlink(tmp) }
    }
    var failure: Int32 = 0
    bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let w = Glibc_write(fd, raw.baseAddress! + done, raw.count - done)
            if w < 0 {
                if errno == EINTR { continue }
                failure = errno
                return
            }
            done += w
        }
    }
    if failure == 0, fsync(fd) != 0 { failure = errno }
    if close(fd) != 0, failure == 0 { failure = errno }
    if failure != 0 {
        throw CheckpointError("cannot write '\(path)': writing the temp file failed (\(errnoText(failure))); check free space.")
    }
    if rename(tmp, path) != 0 {
        let e = errno
        throw CheckpointError("cannot write '\(path)': renaming the temp file over it failed (\(errnoText(e))); check that the path is not a directory.")
    }
    ok = true
    // Make the rename itself durable; a failure here does not undo the write.
    let dfd = open(dir, O_RDONLY | O_CLOEXEC)
    if dfd >= 0 { _ = fsync(dfd); _ = close(dfd) }
}

@inline(__always)
private func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// Reads a whole file, with a clear error naming the path.
func readFileBytes(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let e = errno
        if e == ENOENT { throw CheckpointError("cannot read '\(path)': no such file; check the path.") }
        throw CheckpointError("cannot read '\(path)': \(errnoText(e)); check the path and its permissions.")
    }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let r = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if r < 0 {
            if errno == EINTR { continue }
            let e = errno
            throw CheckpointError("cannot read '\(path)': \(errnoText(e)); check that it is a regular file.")
        }
        if r == 0 { break }
        out.append(contentsOf: chunk[0..<r])
    }
    return out
}

// MARK: - JSON

/// `"..."` with JSON escapes: `"` `\` and control characters; other characters are written as UTF-8.
func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7F {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// A parsed JSON value; objects keep their members in order, numbers keep their source text.
enum StrictJSON: Equatable {
    case object([(String, StrictJSON)])
    case array([StrictJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    static func == (l: StrictJSON, r: StrictJSON) -> Bool {
        switch (l, r) {
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let a), .array(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }
}

/// A strict RFC 8259 parser for untrusted headers: refuses duplicate object keys (which
/// JSONSerialization silently drops), trailing garbage, lone surrogates and deep nesting.
/// Input must already be valid UTF-8.
struct StrictJSONParser {
    struct Failure: Error { let problem: String }

    private let b: [UInt8]
    private var i = 0
    private var depth = 0
    static let maxDepth = 64

    init(_ bytes: [UInt8]) { b = bytes }

    private func failure(_ what: String) -> Failure {
        Failure(problem: "is not valid JSON (\(what) at byte \(i))")
    }

    mutating func parseDocument() throws -> StrictJSON {
        skipWhitespace()
        let v = try parseValue()
        skipWhitespace()
        guard i == b.count else { throw failure("unexpected text after the JSON value") }
        return v
    }

    private mutating func skipWhitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    private mutating func parseValue() throws -> StrictJSON {
        guard i < b.count else { throw failure("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: String) throws {
        for c in word.utf8 {
            guard i < b.count, b[i] == c else { throw failure("invalid literal") }
            i += 1
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > StrictJSONParser.maxDepth {
            throw Failure(problem: "is nested more than \(StrictJSONParser.maxDepth) levels deep")
        }
    }

    private mutating func parseObject() throws -> StrictJSON {
        try enter()
        i += 1
        var members: [(String, StrictJSON)] = []
        var seen = Set<String>()
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(members) }
        while true {
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw Failure(problem: "has a duplicate key '\(key)'")
            }
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            i += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard i < b.count else { throw failure("unexpected end inside an object") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .object(members) }
            throw failure("expected ',' or '}'")
        }
    }

    private mutating func parseArray() throws -> StrictJSON {
        try enter()
        i += 1
        var items: [StrictJSON] = []
        skipWhitespace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard i < b.count else { throw failure("unexpected end inside an array") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .array(items) }
            throw failure("expected ',' or ']'")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw failure("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw failure("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func parseString() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw failure("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw failure("control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw failure("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00 {
                    guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw failure("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw failure("unpaired surrogate in \\u escape") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                } else if v >= 0xDC00 && v < 0xE000 {
                    throw failure("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(v) else { throw failure("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw failure("invalid escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func parseNumber() throws -> String {
        let start = i
        func digit() -> Bool { i < b.count && b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "9") }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit() else { throw failure("invalid number") }
        if b[i] == UInt8(ascii: "0") {
            i += 1
            if digit() { throw failure("number with a leading zero") }
        } else {
            while digit() { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digit() else { throw failure("invalid number") }
            while digit() { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digit() else { throw failure("invalid number") }
            while digit() { i += 1 }
        }
        if i - start > 400 { throw failure("number too long") }
        return String(decoding: b[start..<i], as: UTF8.self)
    }
}
