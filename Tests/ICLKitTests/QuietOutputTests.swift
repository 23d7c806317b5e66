import Foundation
import XCTest
import ICLTestSupport

/// On a fresh kernel cache (neither icl's program cache nor PoCL's), `icl train` (both models) and `icl eval` build
/// every program they run and still write nothing to stderr but their own messages: no compiler warnings reach the
/// terminal.
final class QuietOutputTests: XCTestCase {
    override func setUpWithError() throws { try skipUnlessOpenCL() }

    func testFreshBuildsWriteNothingToStderr() throws {
        let dir = CLI.tempDir()
        let env = ["ICL_CACHE_DIR": "off", "POCL_CACHE_DIR": CLI.tempDir()]
        let t = try CLI.run(["train", "--out", dir + "/run", "--quiet", "--set", "steps=5 batch=32 evalPrompts=200"],
                            env: env)
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(t.stderr, "", "train on a fresh cache")
        let e = try CLI.run(["eval", "--checkpoint", dir + "/run/checkpoint.safetensors", "--length", "7",
                             "--prompts", "300"], env: ["ICL_CACHE_DIR": "off", "POCL_CACHE_DIR": CLI.tempDir()])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertEqual(e.stderr, "", "eval on a fresh cache, at a length the training never built")
        let g = try CLI.run(["train", "--model", "gpt2", "--out", dir + "/gpt2", "--quiet",
                             "--set", "steps=1 batch=4 evalPrompts=20"],
                            env: ["ICL_CACHE_DIR": "off", "POCL_CACHE_DIR": CLI.tempDir()])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertEqual(g.stderr, "", "the GPT-2-style model's train on a fresh cache")
    }
}
