import Foundation
import XCTest
import ICLTestSupport
@testable import ICLCore

/// Raw file bytes from a header string and data bytes; the header is padded with spaces to 8 bytes.
func safetensorsBytes(header: String, data: [UInt8] = [], pad: Bool = true, claimedLength: UInt64? = nil) -> [UInt8] {
    var h = Array(header.utf8)
    if pad { while h.count % 8 != 0 { h.append(0x20) } }
    var n = (claimedLength ?? UInt64(h.count)).littleEndian
    var out = withUnsafeBytes(of: &n) { Array($0) }
    out += h
    out += data
    return out
}

/// A temp directory removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("icl-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

final class SafeTensorsTests: XCTestCase {
    let sample = SafeTensorsFile(tensors: [
        "b": SafeTensor(shape: [2, 3], data: [1, 2, 3, 4, 5, -6.5]),
        "a": SafeTensor(shape: [4], data: [0.25, -0, .greatestFiniteMagnitude, .leastNonzeroMagnitude]),
        "empty": SafeTensor(shape: [0, 5], data: []),
        "scalar": SafeTensor(shape: [], data: [42]),
        "name \"with\" quotes\\ é\n": SafeTensor(shape: [1], data: [7]),
    ], metadata: ["format": "test", "config": "{\"lr\":0.5,\"s\":\"a\\\"b\"}", "unicode": "δ ξ ✓"])

    private func assertRefused(_ bytes: [UInt8], _ words: String..., file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try SafeTensorsFile.decode(bytes, source: "bad.safetensors")
            XCTFail("decode accepted a bad file", file: file, line: line)
        } catch let e as CheckpointError {
            XCTAssertTrue(e.description.contains("'bad.safetensors'"), "message does not name the file: \(e)", file: file, line: line)
            for w in words {
                XCTAssertTrue(e.description.contains(w), "message lacks '\(w)': \(e)", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    private let entry = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
    private let eight = [UInt8](repeating: 0, count: 8)

    // MARK: Round trip and layout

    func testRoundTrip() throws {
        let bytes = sample.encoded()
        let back = try SafeTensorsFile.decode(bytes, source: "sample")
        XCTAssertEqual(back, sample)
        XCTAssertEqual(back.encoded(), bytes, "encoding is deterministic")
        XCTAssertEqual(try SafeTensorsFile.decode(SafeTensorsFile().encoded(), source: "empty"), SafeTensorsFile())
    }

    func testByteLayoutOfKnownCase() throws {
        let f = SafeTensorsFile(tensors: ["x": SafeTensor(shape: [2], data: [1.0, -2.0])], metadata: ["k": "v"])
        let bytes = f.encoded()
        let n = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(Int(n) + 8 + 8, bytes.count)
        let headerText = String(decoding: bytes[8..<(8 + Int(n))], as: UTF8.self)
        XCTAssertEqual(headerText.trimmingCharacters(in: .whitespaces),
                       #"{"__metadata__":{"k":"v"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)
        let json = try JSONSerialization.jsonObject(with: Data(headerText.utf8)) as! [String: Any]
        let x = json["x"] as! [String: Any]
        XCTAssertEqual(x["data_offsets"] as! [Int], [0, 8])
        XCTAssertEqual(x["shape"] as! [Int], [2])
        XCTAssertEqual(x["dtype"] as! String, "F32")
        XCTAssertEqual(Array(bytes.suffix(8)), [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
    }

    func testDataOffsetsAreSortedByName() throws {
        let f = SafeTensorsFile(tensors: ["z": SafeTensor(shape: [1], data: [3]), "a": SafeTensor(shape: [2], data: [1, 2])])
        let bytes = f.encoded()
        let n = Int(bytes[0])
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(header.contains(#""a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#), header)
        XCTAssertTrue(header.contains(#""z":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}"#), header)
    }

    func testAcceptsForeignButValidLayout() throws {
        // Whitespace in the JSON, metadata last, tensors stored in reverse name order, escaped names, no padding.
        let header = #" { "b" : {"shape": [1], "dtype": "F32", "data_offsets": [0, 4]}, "\u0061" : {"dtype":"F32","shape":[1],"data_offsets":[4,8]}, "__metadata__": {"x\/y": "1"} } "#
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        let f = try SafeTensorsFile.decode(safetensorsBytes(header: header, data: data, pad: false), source: "x")
        XCTAssertEqual(f.tensors["b"]?.data, [1])
        XCTAssertEqual(f.tensors["a"]?.data, [2])
        XCTAssertEqual(f.metadata, ["x/y": "1"])
        let pair = #"{"\ud83d\ude00":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#
        XCTAssertEqual(try SafeTensorsFile.decode(safetensorsBytes(header: pair, data: [0, 0, 0, 0]), source: "x").tensors.keys.first, "😀")
    }

    // MARK: Refusals

    func testRefusesShortFile() {
        assertRefused([], "shorter")
        assertRefused([1, 0, 0, 0, 0, 0, 0], "7 bytes", "shorter")
    }

    func testRefusesHeaderLengthBeyondFile() {
        assertRefused(safetensorsBytes(header: "{}", claimedLength: 64), "header of 64 bytes")
        assertRefused(safetensorsBytes(header: "{}", claimedLength: 100_000_001), "100 MB")
        assertRefused(safetensorsBytes(header: "{}", claimedLength: UInt64.max), "100 MB")
        assertRefused(safetensorsBytes(header: "{}", claimedLength: 1 << 63), "100 MB")
    }

    func testRefusesNonUTF8Header() {
        var bytes = safetensorsBytes(header: #"{"x":"ab"}"#)
        bytes[14] = 0xFF
        assertRefused(bytes, "UTF-8")
        assertRefused(safetensorsBytes(header: "{}\u{0}"), "JSON")
    }

    func testRefusesNonJSONHeader() {
        assertRefused(safetensorsBytes(header: "not json"), "JSON")
        assertRefused(safetensorsBytes(header: "{"), "JSON")
        assertRefused(safetensorsBytes(header: #"{"a":{"dtype":"F32",}}"#), "JSON")
        assertRefused(safetensorsBytes(header: "{} {}"), "JSON")
        assertRefused(safetensorsBytes(header: #"{"a":01}"#), "JSON")
        assertRefused(safetensorsBytes(header: #"{"a\q":1}"#), "JSON")
        assertRefused(safetensorsBytes(header: #"{"\ud800":1}"#), "surrogate")
        assertRefused(safetensorsBytes(header: "{\"a\tb\":1}"), "control character")
        assertRefused(safetensorsBytes(header: "{\"a\":" + String(repeating: "[", count: 100_000)), "nested")
        assertRefused(safetensorsBytes(header: "[]"), "not a JSON object")
        assertRefused(safetensorsBytes(header: "\"{}\""), "not a JSON object")
        assertRefused(safetensorsBytes(header: ""), "JSON")
    }

    func testRefusesBadEntries() {
        assertRefused(safetensorsBytes(header: #"{"x":[1]}"#), "'x'", "not a JSON object")
        assertRefused(safetensorsBytes(header: #"{"x":{"shape":[2],"data_offsets":[0,8]}}"#, data: eight), "'x'", "dtype")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","data_offsets":[0,8]}}"#, data: eight), "'x'", "shape")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2]}}"#, data: eight), "'x'", "data_offsets")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":1,"shape":[2],"data_offsets":[0,8]}}"#, data: eight), "dtype", "not a string")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#, data: eight), "shape", "not an array")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#, data: eight), "shape", "not a number")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: eight), "data_offsets", "two integers")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":"0,8"}}"#, data: eight), "data_offsets")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#, data: eight), "unknown field 'extra'")
    }

    func testRefusesNegativeAndNonIntegerDims() {
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight), "negative")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: eight), "not an integer")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2e0],"data_offsets":[0,8]}}"#, data: eight), "not an integer")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}"#, data: eight), "too large")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}}"#, data: eight), "negative")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}"#, data: eight), "not an integer")
    }

    func testRefusesShapeOverflow() {
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight), "overflow")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#, data: eight), "overflow")
        // A huge shape with a zero dim is zero elements, not an overflow: but then the offsets must span 0 bytes.
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,8]}}"#, data: eight), "needs 0 bytes")
    }

    func testRefusesOtherDtypes() {
        for dt in ["F16", "F64", "BF16", "I32", "f32", ""] {
            assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"\#(dt)","shape":[2],"data_offsets":[0,8]}}"#, data: eight),
                          "dtype '\(dt)'", "only F32")
        }
    }

    func testRefusesOffsetsNotMatchingShape() {
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), "needs 12 bytes")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: eight), "begin after they end")
    }

    func testRefusesOffsetsOutOfRangeOverlappingOrNotCovering() {
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), "out of range")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775799,9223372036854775807]}}"#, data: eight), "out of range")
        let overlap = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertRefused(safetensorsBytes(header: overlap, data: [UInt8](repeating: 0, count: 12)), "overlaps")
        let same = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        assertRefused(safetensorsBytes(header: same, data: eight), "overlaps")
        let gap = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertRefused(safetensorsBytes(header: gap, data: eight), "gap", "cover")
        assertRefused(safetensorsBytes(header: #"{"x":\#(entry)}"#, data: eight + [1]), "1 trailing data bytes")
        assertRefused(safetensorsBytes(header: "{}", data: [1, 2, 3, 4]), "4 trailing data bytes")
    }

    func testRefusesDuplicateKeys() {
        assertRefused(safetensorsBytes(header: #"{"x":\#(entry),"x":\#(entry)}"#, data: eight), "duplicate key 'x'")
        assertRefused(safetensorsBytes(header: #"{"x":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: eight), "duplicate key 'dtype'")
        assertRefused(safetensorsBytes(header: #"{"__metadata__":{"a":"1","a":"2"}}"#), "duplicate key 'a'")
        assertRefused(safetensorsBytes(header: #"{"__metadata__":{},"__metadata__":{}}"#), "duplicate")
        // The same key spelled with an escape is still the same key.
        assertRefused(safetensorsBytes(header: #"{"x":\#(entry),"\u0078":\#(entry)}"#, data: eight), "duplicate")
    }

    func testRefusesNonStringMetadata() {
        assertRefused(safetensorsBytes(header: #"{"__metadata__":{"step":3}}"#), "metadata 'step'", "not a string")
        assertRefused(safetensorsBytes(header: #"{"__metadata__":{"a":null}}"#), "metadata 'a'")
        assertRefused(safetensorsBytes(header: #"{"__metadata__":["a"]}"#), "__metadata__")
        assertRefused(safetensorsBytes(header: #"{"__metadata__":"a"}"#), "__metadata__")
    }

    // MARK: Fuzz

    func testFuzzedInputsNeverTrap() throws {
        let base = sample.encoded()
        let headerEnd = 8 + Int(base[0]) + Int(base[1]) << 8
        var rng = SeededRandom(seed: 20_240_917)
        var accepted = 0, refused = 0
        let start = Date()
        for c in 0..<3000 {
            var bytes = base
            switch c % 5 {
            case 0: // truncation
                bytes = Array(base.prefix(rng.below(base.count)))
            case 1: // byte flips, mostly in the header
                for _ in 0..<(1 + rng.below(4)) {
                    let k = rng.below(4) == 0 ? rng.below(bytes.count) : rng.below(headerEnd)
                    bytes[k] ^= UInt8(truncatingIfNeeded: 1 + rng.below(255))
                }
            case 2: // random bytes
                bytes = (0..<rng.below(300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 3: // random bytes behind a plausible header length
                let n = rng.below(200)
                bytes = safetensorsBytes(header: "", pad: false, claimedLength: UInt64(n))
                    + (0..<(n + rng.below(40))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            default: // set a header byte to a JSON-significant character, or insert/delete one
                let k = 8 + rng.below(headerEnd - 8)
                let specials = Array("{}[]\",:0123456789-.eE \\u".utf8)
                switch rng.below(3) {
                case 0: bytes[k] = specials[rng.below(specials.count)]
                case 1: bytes.insert(specials[rng.below(specials.count)], at: k)
                default: bytes.remove(at: k)
                }
            }
            do {
                let f = try SafeTensorsFile.decode(bytes, source: "fuzz")
                accepted += 1
                // Whatever is accepted is internally consistent.
                for t in f.tensors.values { XCTAssertEqual(t.shape.reduce(1, *), t.data.count) }
            } catch is CheckpointError {
                refused += 1
            } catch {
                XCTFail("case \(c): unexpected error type \(error)")
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(accepted + refused, 3000)
        XCTAssertGreaterThan(refused, 2000)
        XCTAssertLessThan(elapsed, 5, "fuzzing took \(elapsed) s")
    }

    // MARK: Files

    func testWriteAndReadFile() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/s.safetensors"
        try sample.write(to: path)
        XCTAssertEqual(try SafeTensorsFile.read(path: path), sample)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["s.safetensors"])
    }

    func testOverwriteIsAtomicAndLeavesNoTempFiles() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/w.safetensors"
        let old = SafeTensorsFile(tensors: ["x": SafeTensor(shape: [1000], data: [Float](repeating: 1, count: 1000))], metadata: ["v": "old"])
        let new = SafeTensorsFile(tensors: ["x": SafeTensor(shape: [2000], data: [Float](repeating: 2, count: 2000))], metadata: ["v": "new"])
        try old.write(to: path)
        try new.write(to: path)
        XCTAssertEqual(try SafeTensorsFile.read(path: path), new)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["w.safetensors"])

        // A reader racing many rewrites only ever sees a whole old or a whole new file.
        final class RaceLog: @unchecked Sendable {
            let lock = NSLock()
            var seen = 0
            var failures: [String] = []
            func note(_ failure: String?) { lock.lock(); seen += 1; if let failure { failures.append(failure) }; lock.unlock() }
        }
        let log = RaceLog()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for _ in 0..<300 {
                do {
                    let f = try SafeTensorsFile.read(path: path)
                    log.note(f == old || f == new ? nil : "mixed content")
                } catch {
                    log.note("\(error)")
                }
            }
            done.signal()
        }
        for k in 0..<100 { try (k % 2 == 0 ? old : new).write(to: path) }
        done.wait()
        XCTAssertEqual(log.failures, [])
        XCTAssertEqual(log.seen, 300)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["w.safetensors"])
    }

    func testWriteIntoMissingDirectoryFailsCleanly() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/no/such/dir/x.safetensors"
        XCTAssertThrowsError(try sample.write(to: path)) { error in
            let e = error as? CheckpointError
            XCTAssertNotNil(e)
            XCTAssertTrue(e?.description.contains("does not exist") ?? false, "\(error)")
            XCTAssertTrue(e?.description.contains(path) ?? false, "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testFailedRenameLeavesNoTempFile() throws {
        let dir = try makeTempDir(self)
        let target = dir + "/occupied"
        try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
        XCTAssertThrowsError(try sample.write(to: target)) { error in
            XCTAssertTrue(error is CheckpointError, "\(error)")
            XCTAssertTrue("\(error)".contains(target), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["occupied"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["inner"])
    }

    func testWriteRefusesUnencodableTensors() throws {
        let dir = try makeTempDir(self)
        let bad = SafeTensorsFile(tensors: ["x": SafeTensor(shape: [3], data: [1, 2])])
        XCTAssertThrowsError(try bad.write(to: dir + "/x")) { XCTAssertTrue("\($0)".contains("holds 2 values"), "\($0)") }
        let f16 = SafeTensorsFile(tensors: ["x": SafeTensor(dtype: "F16", shape: [1], data: [1])])
        XCTAssertThrowsError(try f16.write(to: dir + "/x")) { XCTAssertTrue("\($0)".contains("only F32"), "\($0)") }
        let meta = SafeTensorsFile(tensors: ["__metadata__": SafeTensor(shape: [1], data: [1])])
        XCTAssertThrowsError(try meta.write(to: dir + "/x")) { XCTAssertTrue("\($0)".contains("__metadata__"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testReadMissingFile() {
        XCTAssertThrowsError(try SafeTensorsFile.read(path: "/nonexistent/x.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }
}
