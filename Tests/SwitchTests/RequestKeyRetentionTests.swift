import Foundation
import Glibc
import ISO8583
import Testing

@testable import SwitchCore

/// Request keys are remembered by time (`requestKeyRetentionHours`), not by count: past the in-memory window they
/// live in the ledger's key store on disk, across SIGKILL; a request older than the retention by field 7 is
/// declined. Scaled down for CI: a 1,024-key window and 1,024-key buffers, so 20,000 requests cross both about
/// twenty times (benchmarks/request-keys.sh runs 1M and 10M).
@Suite(.serialized) struct RequestKeyRetentionTests {
    static let fillerCount = 20_000

    static var smallWindow: SwitchSettings {
        var settings = SwitchSettings()
        settings.shards = 1
        settings.limits = ["idempotencyKeysPerShard": 1024, "requestKeyBufferEntries": 1024]
        return settings
    }

    /// `count` purchases from their own terminal, pipelined 100 at a time; every one must be approved.
    static func purchases(_ count: Int, client: SwitchClient) throws {
        var terminal = Terminal(id: "FILLER01")
        var sent = 0
        while sent < count {
            let window = min(100, count - sent)
            var bytes: [UInt8] = []
            for index in 0..<window {
                bytes += client.frame(try terminal.purchase(Wire.card(1_000 + (sent + index) % 500), 1_000).encoded())
            }
            try client.write(bytes)
            for _ in 0..<window {
                let reply = try client.receive(timeout: 30)
                guard reply.code == "00" else { throw SwitchTestError("filler purchase answered \(reply.code ?? "-")") }
            }
            sent += window
        }
    }

    @Test(
        "a repeat, an early reversal and a reversal, each 20,000 requests and a SIGKILL after their original: the same bytes, 05, points back"
    )
    func rememberedAcrossTheWindowAndAKill() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var first: SwitchProcess? = try SwitchProcess(directory: directory, settings: Self.smallWindow)
        defer { first?.stop() }
        let client = try SwitchClient(port: first!.port)
        var terminal = Terminal(firstStan: 100)  // stans 1 to 5 are named explicitly below
        let repeated = terminal.purchase(Wire.card(1), 10_000, stan: 1)
        let original = try client.exchange(repeated)
        #expect(original.code == "00")
        let reversedEarly = terminal.message(
            400, processing: "000000", card: Wire.card(2), amount: 20_000, stan: 3,
            original: terminal.originalData(mti: 200, stan: 2))
        #expect(try client.exchange(reversedEarly).code == "00", "an unknown original's reversal is recorded")
        let toReverse = terminal.purchase(Wire.card(3), 30_000, stan: 4)
        #expect(try client.exchange(toReverse).code == "00")
        try Self.purchases(Self.fillerCount, client: client)
        // Runs merged on the way (runs after the durable snapshot merge too); the shard thread keeps its name:
        // a merge's retirement renamed its caller, the shard, "ledger-retire-0" until 2026-12-05.
        let threads = try OutboxEndToEndTests.threadNames(first!.process.pid)
        #expect(threads.contains("ledger-shard-0"), "\(threads)")
        // And the main thread keeps the process's (the audit journal's writer renamed its caller until 2026-12-05).
        let main = try String(contentsOfFile: "/proc/\(first!.process.pid)/comm", encoding: .utf8)
        #expect(main == "loyalty-switch\n", "\(main)")
        client.close()
        first!.stop()  // SIGKILL
        first = nil
        let second = try SwitchProcess(directory: directory, settings: Self.smallWindow, run: 1)
        defer { second.stop() }
        let again = try SwitchClient(port: second.port)
        #expect(try again.exchange(repeated).bytes == original.bytes, "the repeat gets the first answer byte for byte")
        let late = terminal.purchase(Wire.card(2), 20_000, stan: 2)
        #expect(try again.exchange(late).code == "05", "the original after its early reversal is declined")
        let reversal = terminal.message(
            400, processing: "000000", card: Wire.card(3), amount: 30_000, stan: 5,
            original: terminal.originalData(mti: 200, stan: 4))
        #expect(try again.exchange(reversal).code == "00")
        #expect(try again.availablePoints(Wire.card(3), terminal: &terminal) == 0, "the reversal took the points back")
        #expect(try again.availablePoints(Wire.card(2), terminal: &terminal) == nil, "the late original enrolled nobody")
        #expect(try again.availablePoints(Wire.card(1), terminal: &terminal) == 100, "the repeat added nothing")
    }

    /// Field 7 for `secondsAgo` seconds before now (negative: ahead).
    static func transmission(secondsAgo: Int) -> String {
        var when = time(nil) - secondsAgo
        var parts = tm()
        gmtime_r(&when, &parts)
        return Wire.digits(Int(parts.tm_mon) + 1, 2) + Wire.digits(Int(parts.tm_mday), 2)
            + Wire.digits(Int(parts.tm_hour), 2) + Wire.digits(Int(parts.tm_min), 2) + Wire.digits(Int(parts.tm_sec), 2)
    }

    @Test("field 7 older than requestKeyRetentionHours, or 20 minutes ahead, is declined 05 and changes nothing; none is 30")
    func staleTransmissionDeclined() throws {
        var settings = SwitchSettings()
        settings.program = ["holdExpiryMs": 600_000]
        settings.topLevel = ["requestKeyRetentionHours": 1]
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(7)
            #expect(try client.exchange(terminal.purchase(card, 10_000)).code == "00")
            terminal.transmission = Self.transmission(secondsAgo: 3_660)
            let stale = terminal.purchase(card, 50_000)
            let declined = try client.exchange(stale)
            expectWellFormed(declined, to: stale, mti: "0210", code: "05")
            #expect(try client.exchange(stale).code == "05", "its repeat too, however late")
            terminal.transmission = Self.transmission(secondsAgo: -1_200)
            #expect(try client.exchange(terminal.purchase(card, 50_000)).code == "05")
            terminal.transmission = Self.transmission(secondsAgo: 3_000)
            #expect(try client.exchange(terminal.purchase(card, 1_000)).code == "00", "inside the hour")
            var missing = terminal.purchase(card, 50_000)
            missing.remove(7)
            #expect(try client.exchange(missing).code == "30")
            terminal.transmission = Terminal.startTransmission
            #expect(try client.availablePoints(card, terminal: &terminal) == 110, "nothing declined was applied")
            #expect(server.log.contains("declined 05"))
        }
    }
}

/// The retention's configuration is strict: out of range, or shorter than a hold lives, refuses the start.
@Suite struct RequestKeyConfigurationTests {
    @Test("requestKeyRetentionHours defaults to 168 (7 days) and reaches the ledger with the future tolerance twice")
    func defaults() throws {
        let configuration = try ConfigurationFileTests.load("{}")
        #expect(configuration.requestKeyRetentionHours == 168)
        #expect(configuration.requestKeyBufferEntries == 65_536)
        let loaded = try ConfigurationFileTests.load(#"{"requestKeyRetentionHours": 720, "program": {"holdExpiryMs": 3600000}}"#)
        #expect(loaded.requestKeyRetentionHours == 720)
        #expect(RequestAge.ledgerRetentionMs(hours: 168) == 168 * 3_600_000 + 1_200_000)
    }

    @Test("a retention out of 1...2160 h, a buffer out of range, or a hold outliving the retention refuse the start")
    func refusals() throws {
        try ConfigurationFileTests.expectRefusal(
            #"{"requestKeyRetentionHours": 0}"#, "requestKeyRetentionHours: must be 1...2160")
        try ConfigurationFileTests.expectRefusal(
            #"{"requestKeyRetentionHours": 2161}"#, "requestKeyRetentionHours: must be 1...2160")
        try ConfigurationFileTests.expectRefusal(
            #"{"limits": {"requestKeyBufferEntries": 16}}"#, "limits.requestKeyBufferEntries: must be 1024...16777216")
        try ConfigurationFileTests.expectRefusal(
            #"{"requestKeyRetentionHours": 24}"#, "program.holdExpiryMs: 604800000 ms outlives requestKeyRetentionHours")
    }

    @Test("field 7 is judged in the year nearest the clock: a day old is fresh at 7 days, 8 days old is stale")
    func judging() {
        let nowMs: Int64 = 1_764_720_000_000  // 2025-12-03 00:00:00 UTC
        let week: Int64 = 168 * 3_600_000
        #expect(RequestAge.judge(field7: 1202000000, nowMs: nowMs, retentionMs: week) == .fresh)
        #expect(RequestAge.judge(field7: 1125000000, nowMs: nowMs, retentionMs: week) == .stale(ageMs: 8 * 86_400_000))
        #expect(RequestAge.judge(field7: 1203001100, nowMs: nowMs, retentionMs: week) == .future(aheadMs: 660_000))
        #expect(RequestAge.judge(field7: 1203000900, nowMs: nowMs, retentionMs: week) == .fresh)
        #expect(RequestAge.judge(field7: 1231000000, nowMs: nowMs, retentionMs: week) == .future(aheadMs: 28 * 86_400_000))
        #expect(RequestAge.judge(field7: 1332000000, nowMs: nowMs, retentionMs: week) == .unreadable)
        #expect(RequestAge.judge(field7: nil, nowMs: nowMs, retentionMs: week) == .unreadable)
    }
}
