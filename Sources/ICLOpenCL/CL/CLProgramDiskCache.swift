import Foundation
import ICLCore

/// The on-disk cache of built program binaries: `$ICL_CACHE_DIR/programs/<key>.bin`, else
/// `$XDG_CACHE_HOME/icl/programs` or `~/.cache/icl/programs`. ICL_CACHE_DIR=off (or empty) disables it.
/// Best effort: unreadable, foreign or corrupt files are ignored (the program is rebuilt and the file rewritten),
/// and write failures are silent. Files are written atomically (temp file + rename).
enum CLProgramDiskCache {
    /// Identifies one build: device name, driver version, device version, and hashes of source and options.
    struct Key {
        /// The full identity, stored as the file's header and checked on load.
        let text: String
        /// 16 hex digits: FNV-1a 64 of `text`, the file name.
        let hash: String

        init(device: CLDeviceInfo, source: String, options: String) {
            text = [device.name, device.driverVersion, device.deviceVersion,
                    "source:" + hex(FNV1a.hash64(source)), "options:" + hex(FNV1a.hash64(options))].joined(separator: "|")
            hash = hex(FNV1a.hash64(text))
        }
    }

    static let magic = "ICLPROG1\n"

    /// The cache folder, or nil when disabled.
    static var directory: URL? {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["ICL_CACHE_DIR"] {
            if dir.isEmpty || dir == "off" || dir == "none" || dir == "0" { return nil }
            return URL(fileURLWithPath: dir).appendingPathComponent("programs", isDirectory: true)
        }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("icl/programs", isDirectory: true)
        }
        guard let home = env["HOME"], !home.isEmpty else { return nil }
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/icl/programs", isDirectory: true)
    }

    static func file(for key: Key) -> URL? {
        directory?.appendingPathComponent(key.hash + ".bin")
    }

    /// The cached binary for `key`, or nil when absent or its header does not match.
    static func load(_ key: Key) -> [UInt8]? {
        guard let url = file(for: key), let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let header = Array((magic + key.text + "\n").utf8)
        guard data.count > header.count, Array(data.prefix(header.count)) == header else { return nil }
        return Array(data.dropFirst(header.count))
    }

    /// Stores `binary` for `key`, atomically; silently does nothing when the cache cannot be written.
    static func store(_ key: Key, binary: [UInt8]) {
        guard !binary.isEmpty, let url = file(for: key) else { return }
        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(key.hash).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0 ... .max)).tmp")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(Array((magic + key.text + "\n").utf8) + binary).write(to: temp)
            if rename(temp.path, url.path) != 0 { try? FileManager.default.removeItem(at: temp) }
        } catch {
            try? FileManager.default.removeItem(at: temp)
        }
    }
}

/// `value` as 16 lowercase hex digits.
func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
