import Foundation
import Glibc
import Testing

/// A damaged write-ahead log from outside: `serve` refuses with the named reason (file, offset, sequences) and
/// `ledger verify` fails the same way; only `serve --accept-log-damage` starts anyway, with an ERROR line.
@Suite struct LogDamageTests {
    /// Purchases until several 64 KiB segments exist, then SIGKILL (no final snapshot: the log is the truth).
    static func writeLog(_ directory: ScratchDirectory, settings: SwitchSettings) throws -> [String] {
        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        let load = try PurchaseLoad(port: server.port, connections: 2, test: 41)
        #expect(load.wait(timeout: 30) { $0["00", default: 0] >= 900 })
        load.stop()
        server.stop()
        let shard = directory.data + "/shard-000"
        return try FileManager.default.contentsOfDirectory(atPath: shard)
            .filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") }.sorted().map { shard + "/" + $0 }
    }

    /// A copy of the data directory for one kind of damage.
    static func copy(_ directory: ScratchDirectory, name: String) throws -> ScratchDirectory {
        let copy = ScratchDirectory(name)
        try FileManager.default.copyItem(atPath: directory.data, toPath: copy.data)
        return copy
    }

    /// `serve` refuses naming `file` and every text in `reasons`; `ledger verify` fails with the same line;
    /// `serve --accept-log-damage` starts and says what it did as an ERROR.
    static func expectRefusal(_ directory: ScratchDirectory, file: String, reasons: [String]) throws {
        let json = #"{"shards": 1, "loops": 1, "limits": {"logSegmentBytes": 65536}}"#
        let outcome = try SwitchProcess.serve(json: json, directory: directory)
        #expect(outcome.status == 1, "\(outcome.standardError)")
        let line = outcome.standardError.split(separator: "\n").first { $0.contains("cannot start") } ?? ""
        #expect(line.contains("damaged log: \(file) at offset "), "\(line)")
        for reason in reasons { #expect(line.contains(reason), "\(line)") }
        let verified = try Tool.verify(directory.data)
        let damage = line.components(separatedBy: "damaged log: ").last ?? "-"
        #expect(verified.status == 1 && verified.output.contains(damage), "verify: \(verified.output)")
        let started = try SwitchProcess.serve(json: json, arguments: ["--accept-log-damage"], directory: directory)
        #expect(started.status == nil, "the override starts: \(started.standardError)")
        #expect(started.standardError.contains("ERROR ledger: shard 0: STARTING WITH A DAMAGED LOG"))
    }

    @Test("a segment cut short, the newest segment deleted, a middle one missing: refused, named, verify agrees")
    func damagedLogsRefuse() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var settings = SwitchSettings()
        settings.shards = 1
        settings.loops = 1
        settings.limits = ["logSegmentBytes": 64 << 10]
        let segments = try Self.writeLog(directory, settings: settings)
        #expect(segments.count >= 4, "\(segments)")
        let name = { (path: String) in URL(fileURLWithPath: path).lastPathComponent }

        let cut = try Self.copy(directory, name: "cut")
        defer { cut.remove() }
        // The newest segment cut mid-file, about 80 records before its end (as `truncate` or a bad copy leaves it).
        let newest = cut.data + "/shard-000/" + name(segments[segments.count - 1])
        let bytes = [UInt8](FileManager.default.contents(atPath: newest)!)
        let end = (bytes.lastIndex { $0 != 0 } ?? 0) + 1
        try Data(bytes[0..<(end - min(20_000, (end - 4096) / 2))]).write(to: URL(fileURLWithPath: newest))
        try Self.expectRefusal(cut, file: newest, reasons: ["cut short", "were acknowledged"])

        let deleted = try Self.copy(directory, name: "deleted")
        defer { deleted.remove() }
        try FileManager.default.removeItem(atPath: deleted.data + "/shard-000/" + name(segments.last!))
        try Self.expectRefusal(
            deleted, file: deleted.data + "/shard-000/" + name(segments[segments.count - 2]),
            reasons: ["the log continues in \(name(segments.last!))", "which is missing"])

        let missing = try Self.copy(directory, name: "missing")
        defer { missing.remove() }
        try FileManager.default.removeItem(atPath: missing.data + "/shard-000/" + name(segments[1]))
        try Self.expectRefusal(
            missing, file: missing.data + "/shard-000/" + name(segments[2]), reasons: ["are missing"])
    }
}
