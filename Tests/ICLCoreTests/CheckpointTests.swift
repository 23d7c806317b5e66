import Foundation
import XCTest
@testable import ICLCore

final class CheckpointTests: XCTestCase {
    private func defaultCheckpoint(step: Int = 123) -> Checkpoint {
        let c = Config()
        var mask = [Float](repeating: 1, count: c.m)
        mask[5] = 0
        return Checkpoint(config: c, weights: ModelWeights<Float>.initial(c), step: step, mask: mask)
    }

    /// A checkpoint pruned down to `kept` of the default model's neurons.
    private func compactedCheckpoint(kept: [Int]) -> Checkpoint {
        let c = Config()
        let w = ModelWeights<Float>.initial(c)
        let d = w.d
        let WO = kept.flatMap { Array(w.WO[($0 * d)..<(($0 + 1) * d)]) }
        let cw = ModelWeights<Float>(d: d, m: kept.count, WQ: w.WQ, WK: w.WK, WV: w.WV, WO: WO, a: kept.map { w.a[$0] })
        return Checkpoint(config: c, weights: cw, step: 2000, mask: [Float](repeating: 1, count: kept.count), keptNeurons: kept)
    }

    /// Writes `ck`, lets `edit` change the raw safetensors contents, writes them back, and expects
    /// `Checkpoint.read` to refuse with a message containing every word.
    private func assertEditRefused(_ words: [String], in ck: Checkpoint? = nil, file: StaticString = #filePath, line: UInt = #line,
                                   edit: (inout SafeTensorsFile) -> Void) throws {
        let dir = try makeTempDir(self)
        let path = dir + "/ck.safetensors"
        try (ck ?? defaultCheckpoint()).write(to: path)
        var f = try SafeTensorsFile.read(path: path)
        edit(&f)
        try f.write(to: path)
        assertReadRefused(path, words, file: file, line: line)
    }

    private func assertReadRefused(_ path: String, _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Checkpoint.read(path: path)
            XCTFail("read accepted a bad checkpoint", file: file, line: line)
        } catch let e as CheckpointError {
            XCTAssertTrue(e.description.contains("checkpoint '\(path)'"), "message does not name the file: \(e)", file: file, line: line)
            for w in words { XCTAssertTrue(e.description.contains(w), "message lacks '\(w)': \(e)", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testRoundTripWithDefaults() throws {
        let dir = try makeTempDir(self)
        let path = dir + "/ck.safetensors"
        let ck = defaultCheckpoint()
        try ck.write(to: path)
        let back = try Checkpoint.read(path: path)
        XCTAssertEqual(back, ck)
        XCTAssertNil(back.keptNeurons)

        let raw = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(Set(raw.tensors.keys), ["W_Q", "W_K", "W_V", "W_O", "a", "mask"])
        let d = Config().d, m = Config().m
        XCTAssertEqual(raw.tensors["W_Q"]?.shape, [d, d])
        XCTAssertEqual(raw.tensors["W_O"]?.shape, [m, d])
        XCTAssertEqual(raw.tensors["a"]?.shape, [m])
        XCTAssertEqual(raw.tensors["mask"]?.shape, [m])
        XCTAssertEqual(raw.metadata["format"], "icl-one-layer-v1")
        XCTAssertEqual(raw.metadata["step"], "123")
        XCTAssertEqual(raw.metadata["config"], Config().jsonString())
        XCTAssertNil(raw.metadata["kept_neurons"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["ck.safetensors"])
    }

    func testRoundTripWithNonDefaultConfig() throws {
        var c = Config()
        try c.set("m", "8"); try c.set("dX", "32"); try c.set("lr", "0.25"); try c.set("trainShifts", "1,2")
        let ck = Checkpoint(config: c, weights: .initial(c), step: 0, mask: [1, 1, 0, 1, 1, 1, 1, 0])
        let path = try makeTempDir(self) + "/c.safetensors"
        try ck.write(to: path)
        XCTAssertEqual(try Checkpoint.read(path: path), ck)
    }

    func testCompactedRoundTrip() throws {
        let kept = [0, 3, 7, 8, 31, 32, 63]
        let ck = compactedCheckpoint(kept: kept)
        let path = try makeTempDir(self) + "/pruned.safetensors"
        try ck.write(to: path)
        let back = try Checkpoint.read(path: path)
        XCTAssertEqual(back, ck)
        XCTAssertEqual(back.keptNeurons, kept)
        XCTAssertEqual(back.weights.m, kept.count)
        XCTAssertEqual(back.config.m, 64)
        let raw = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(raw.metadata["kept_neurons"], "0,3,7,8,31,32,63")
        XCTAssertEqual(raw.tensors["W_O"]?.shape, [kept.count, Config().d])
        // Rows keep their original order and values.
        let full = ModelWeights<Float>.initial(Config())
        let d = full.d
        XCTAssertEqual(Array(back.weights.WO[(2 * d)..<(3 * d)]), Array(full.WO[(7 * d)..<(8 * d)]))
    }

    func testRefusesNaN() throws {
        try assertEditRefused(["non-finite value in W_O", "retrain or use an earlier checkpoint"]) { f in
            f.tensors["W_O"]!.data[17] = .nan
        }
        try assertEditRefused(["non-finite value in W_V"]) { f in f.tensors["W_V"]!.data[0] = -.infinity }
    }

    func testWriteRefusesNaN() throws {
        let dir = try makeTempDir(self)
        var ck = defaultCheckpoint()
        ck.weights.WQ[3] = .nan
        XCTAssertThrowsError(try ck.write(to: dir + "/x.safetensors")) { XCTAssertTrue("\($0)".contains("W_Q holds a non-finite"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testRefusesWrongShape() throws {
        let d = Config().d
        try assertEditRefused(["W_Q of shape [\(d + 1), \(d + 1)]", "[\(d), \(d)]"]) { f in
            f.tensors["W_Q"] = SafeTensor(shape: [d + 1, d + 1], data: [Float](repeating: 0, count: (d + 1) * (d + 1)))
        }
        try assertEditRefused(["W_K of shape [\(d * d)]"]) { f in f.tensors["W_K"]!.shape = [d * d] }
        try assertEditRefused(["W_O of shape"]) { f in
            f.tensors["W_O"] = SafeTensor(shape: [64, d - 1], data: [Float](repeating: 0, count: 64 * (d - 1)))
        }
        try assertEditRefused(["a of shape [63]"]) { f in f.tensors["a"] = SafeTensor(shape: [63], data: [Float](repeating: 0, count: 63)) }
        try assertEditRefused(["mask of shape [8, 8]"]) { f in f.tensors["mask"]!.shape = [8, 8] }
        // Fewer rows than config.m without a kept_neurons list.
        try assertEditRefused(["32 rows", "no kept_neurons"]) { f in
            f.tensors["W_O"] = SafeTensor(shape: [32, d], data: [Float](repeating: 0, count: 32 * d))
            f.tensors["a"] = SafeTensor(shape: [32], data: [Float](repeating: 0, count: 32))
            f.tensors["mask"] = SafeTensor(shape: [32], data: [Float](repeating: 1, count: 32))
        }
    }

    func testRefusesMissingOrExtraTensor() throws {
        for name in ["W_Q", "W_K", "W_V", "W_O", "a", "mask"] {
            try assertEditRefused(["no tensor '\(name)'"]) { f in f.tensors[name] = nil }
        }
        try assertEditRefused(["unexpected tensor 'b'"]) { f in f.tensors["b"] = SafeTensor(shape: [1], data: [0]) }
    }

    func testRefusesTruncatedFile() throws {
        let dir = try makeTempDir(self)
        let good = dir + "/good.safetensors", bad = dir + "/half.safetensors"
        try defaultCheckpoint().write(to: good)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        for (k, cut) in [bytes.count / 2, bytes.count - 1, 100, 7, 0].enumerated() {
            let p = bad + "\(k)"
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: p))
            assertReadRefused(p, ["corrupt — retrain or use an earlier checkpoint"])
        }
    }

    func testRefusesBadMetadata() throws {
        try assertEditRefused(["no 'format'"]) { f in f.metadata["format"] = nil }
        try assertEditRefused(["format 'icl-one-layer-v0'"]) { f in f.metadata["format"] = "icl-one-layer-v0" }
        try assertEditRefused(["no 'config'"]) { f in f.metadata["config"] = nil }
        try assertEditRefused(["invalid config", "M1"]) { f in f.metadata["config"] = #"{"M1": 1}"# }
        try assertEditRefused(["invalid config", "not valid JSON"]) { f in f.metadata["config"] = "{" }
        try assertEditRefused(["invalid config", "unknown config key 'bogus'"]) { f in f.metadata["config"] = #"{"bogus": 1}"# }
        try assertEditRefused(["invalid config", "dX"]) { f in f.metadata["config"] = #"{"dX": 10}"# }
        try assertEditRefused(["W_Q of shape [40, 40]", "[51, 51]"]) { f in f.metadata["config"] = #"{"dX": 41}"# }
        try assertEditRefused(["no 'step'"]) { f in f.metadata["step"] = nil }
        try assertEditRefused(["step '-1'"]) { f in f.metadata["step"] = "-1" }
        try assertEditRefused(["step 'x'"]) { f in f.metadata["step"] = "x" }
        try assertEditRefused(["mask value other than 0 or 1"]) { f in f.tensors["mask"]!.data[0] = 0.5 }
    }

    func testRefusesInconsistentKeptNeurons() throws {
        let ck = compactedCheckpoint(kept: [1, 2, 3])
        try assertEditRefused(["lists 2 neurons", "3 rows"], in: ck) { f in f.metadata["kept_neurons"] = "1,2" }
        try assertEditRefused(["not strictly increasing"], in: ck) { f in f.metadata["kept_neurons"] = "3,2,1" }
        try assertEditRefused(["outside 0..<64"], in: ck) { f in f.metadata["kept_neurons"] = "1,2,64" }
        try assertEditRefused(["not a comma list"], in: ck) { f in f.metadata["kept_neurons"] = "1,,3" }
        try assertEditRefused(["3 rows", "no kept_neurons"], in: ck) { f in
            f.metadata["kept_neurons"] = nil
        }
    }

    func testWriteRefusesInconsistentCheckpoint() throws {
        let dir = try makeTempDir(self)
        var ck = defaultCheckpoint()
        ck.mask = [1, 1]
        XCTAssertThrowsError(try ck.write(to: dir + "/x")) { XCTAssertTrue("\($0)".contains("mask has 2 entries"), "\($0)") }
        var pruned = compactedCheckpoint(kept: [4, 9])
        pruned.keptNeurons = [4]
        XCTAssertThrowsError(try pruned.write(to: dir + "/x")) { XCTAssertTrue("\($0)".contains("lists 1 neurons"), "\($0)") }
        pruned.keptNeurons = nil
        XCTAssertThrowsError(try pruned.write(to: dir + "/x")) { XCTAssertTrue("\($0)".contains("no kept neurons"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testReadMissingCheckpoint() {
        XCTAssertThrowsError(try Checkpoint.read(path: "/nonexistent/ck.safetensors")) { error in
            XCTAssertTrue(error is CheckpointError)
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }
}
