import Foundation
import Glibc
import Testing

/// A data directory written before segment headers (fixtures/data/format5-club.tar.gz) under the real switch:
/// it serves, goes on in headed segments, survives a SIGKILL with legacy and headed segments side by side, and the
/// segments written after the upgrade cannot be deleted unnoticed.
@Suite struct DataDirectoryUpgradeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/data")

    /// The fixture unpacked as `directory.data`, and the settings it was written with (2 shards, the club rules).
    static func unpack(into directory: ScratchDirectory) throws -> SwitchSettings {
        try Tool.run(
            "/bin/tar", ["xzf", fixtures.appendingPathComponent("format5-club.tar.gz").path, "-C", directory.path])
        let configuration = try Data(contentsOf: fixtures.appendingPathComponent("format5-club.config.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: configuration) as? [String: Any])
        var settings = SwitchSettings()
        settings.shards = try #require(root["shards"] as? Int)
        settings.loops = try #require(root["loops"] as? Int)
        settings.rules = try #require(root["rules"] as? [String: Any])
        return settings
    }

    /// A number `ledger verify` printed on the line starting with `label`.
    static func total(_ label: String, in output: String) -> Int64? {
        let line = output.split(separator: "\n").first { $0.hasPrefix(label) }
        return line.flatMap { Int64($0.dropFirst(label.count).prefix { $0.isNumber }) }
    }

    @Test("the format-5 fixture serves; after a SIGKILL its legacy + headed segments recover, verify, answer repeats")
    func fixtureServesAndRecoversAfterKill() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = try Self.unpack(into: directory)
        let pointsBefore = try #require(Self.total("balance points: ", in: try Tool.verify(directory.data).output))
        #expect(pointsBefore == 28948, "the totals of format5-club.verify.txt")

        var server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        var client = try SwitchClient(port: server.port)
        var terminal = Terminal(id: "UPGRADE1")
        let card = Wire.card(1, test: 512)
        var last: Reply?
        var lastRequest = terminal.purchase(card, 12_345)
        for index in 0..<20 {
            if index > 0 { lastRequest = terminal.purchase(card, 12_345) }
            let reply = try client.exchange(lastRequest)
            #expect(reply.code == "00", "purchase \(index): \(reply.code ?? "-")")
            last = reply
        }
        #expect(server.log.contains("log upgraded to segments with headers"), "\(server.log)")
        let available = try #require(last?.available)
        #expect(available > 0)
        client.close()
        server.stop()  // SIGKILL: no snapshot, the log is the truth

        for shard in ["shard-000", "shard-001"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.data + "/" + shard)
                .filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") }.sorted()
            #expect(names.count == 2 && names[0] == "wal-00000000000000000001.log", "\(shard): \(names)")
        }
        let meta = try String(contentsOfFile: directory.data + "/ledger.meta", encoding: .utf8)
        #expect(meta.contains("segmentHeaders=1"), "\(meta)")
        let verified = try Tool.verify(directory.data)
        #expect(verified.status == 0, "\(verified.output)")
        #expect(Self.total("balance points: ", in: verified.output) == pointsBefore + available, "\(verified.output)")
        #expect(Self.total("records: ", in: verified.output) == 4020, "\(verified.output)")

        server = try SwitchProcess(directory: directory, settings: settings, run: 1)
        client = try SwitchClient(port: server.port)
        var inquirer = Terminal(id: "UPGRADE2")
        #expect(try client.availablePoints(card, terminal: &inquirer) == available)
        let repeated = try client.exchange(lastRequest)
        #expect(repeated.bytes == last?.bytes, "a repeat after the restart gets the byte-identical answer")
        client.close()
        let exit = server.signalAndWait(SIGTERM)
        #expect(exit?.status == 0, "\(server.log)")
        #expect(try Tool.verify(directory.data).status == 0)
    }

    @Test("after the upgrade, deleting the segments written since (the headed ones) is refused by serve and verify")
    func headedSegmentsDeletedRefused() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let settings = try Self.unpack(into: directory)
        let server = try SwitchProcess(directory: directory, settings: settings)
        defer { server.stop() }
        let client = try SwitchClient(port: server.port)
        var terminal = Terminal(id: "UPGRADE3")
        for number in 0..<8 {
            #expect(try client.exchange(terminal.purchase(Wire.card(number, test: 513), 5_000)).code == "00")
        }
        client.close()
        server.stop()

        let shard = directory.data + "/shard-000"
        let headed = try FileManager.default.contentsOfDirectory(atPath: shard)
            .filter { $0.hasPrefix("wal-") && $0.hasSuffix(".log") && $0 != "wal-00000000000000000001.log" }
        #expect(headed.count == 1, "\(headed)")
        for name in headed { try FileManager.default.removeItem(atPath: shard + "/" + name) }
        let verified = try Tool.verify(directory.data)
        #expect(verified.status == 1, "\(verified.output)")
        #expect(verified.output.contains("damaged log: \(shard)/wal-00000000000000000001.log at offset "))
        #expect(verified.output.contains("written before segment headers, ends the log at sequence 1952"))
        let json = String(decoding: try JSONSerialization.data(withJSONObject: settings.json), as: UTF8.self)
        let outcome = try SwitchProcess.serve(json: json, directory: directory)
        #expect(outcome.status == 1, "\(outcome.standardError)")
        #expect(outcome.standardError.contains("segments written after sequence 1952 are missing"))
    }
}
