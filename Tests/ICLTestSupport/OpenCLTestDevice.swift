import XCTest
import ICLOpenCL

/// The OpenCL device the tests run on: the first CPU device (PoCL in CI), else the first device of any kind.
/// Opened once per test process, on first use. When no device can be opened (no platform, no device, or the
/// context fails) `context` is nil and `skipReason` says why, so a test class skips instead of trapping:
///
///     override func setUpWithError() throws {
///         try XCTSkipUnless(OpenCLTestDevice.context != nil, OpenCLTestDevice.skipReason)
///     }
public enum OpenCLTestDevice {
    /// The opened context, or nil when there is no usable OpenCL device.
    public static let context: CLContext? = opened.context
    /// Why `context` is nil (the OpenCL error in words); names the device otherwise.
    public static let skipReason: String = opened.reason

    private static let opened: (context: CLContext?, reason: String) = {
        let devices: [CLDeviceInfo]
        do {
            devices = try CLDevices.all()
        } catch {
            return (nil, "no OpenCL device to test on: \(error)")
        }
        guard let device = devices.first(where: { $0.kind == .cpu }) ?? devices.first else {
            return (nil, "no OpenCL device to test on: no platform lists a device.")
        }
        do {
            return (try CLContext(device: device), "OpenCL tests run on \(device.name) (\(device.platformName)).")
        } catch {
            return (nil, "cannot open the OpenCL device \(device.name) (\(device.platformName)) to test on: \(error)")
        }
    }()
}

extension XCTestCase {
    /// Skips the calling test (not the whole class) when no OpenCL device can be opened: for the tests of a
    /// class that also has tests that run without OpenCL (the CPU reference, argument errors).
    public func skipUnlessOpenCL(file: StaticString = #filePath, line: UInt = #line) throws {
        try XCTSkipUnless(OpenCLTestDevice.context != nil, OpenCLTestDevice.skipReason, file: file, line: line)
    }
}
