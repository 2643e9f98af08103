import Foundation
import Glibc
import Synchronization
import Testing

/// Reports of a serving switch read a checkpoint of each shard in place, also under steady ISO traffic (the real
/// binary over real TCP and HTTP): fresh after an import, shared by concurrent reports, and 503 with Retry-After
/// when no checkpoint comes within the wait bound.
@Suite("Report checkpoints", .serialized)
struct ReportCheckpointTests {
    static let memberCount = 1_500

    static func settings(_ limits: [String: Any]) -> SwitchSettings {
        var settings = MemberImportTests.settings()
        settings.shards = 2
        settings.limits = limits
        return settings
    }

    /// Imports `memberCount` members; returns their card numbers once the import has ended.
    static func importMembers(_ harness: AdminHarness, test: Int) throws -> [String] {
        var text = MemberImportTests.header + "\n"
        let pans = (1...memberCount).map { MemberImportTests.card($0, test: test) }
        for (number, pan) in pans.enumerated() { text += "\(pan),عضو \(number),,,10,\n" }
        try ReportStreamTests.importFile(text, rows: memberCount, harness)
        return pans
    }

    /// Purchases on `pans` from a thread of its own until `stop` (at most `countMax`); returns the approvals.
    final class Traffic: @unchecked Sendable {
        let stop = Atomic<Bool>(false)
        let approved = Atomic<Int>(0)
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)

        init(port: UInt16, pans: [String], countMax: Int = 20_000) {
            let thread = Thread { [self] in
                defer { done.signal() }
                guard let client = try? SwitchClient(port: port) else {
                    started.signal()
                    return
                }
                var terminal = Terminal(id: "TRAF0001")
                for index in 0..<countMax where !stop.load(ordering: .relaxed) {
                    let answer = try? client.exchange(terminal.purchase(pans[index % pans.count], 1_000))
                    if answer?.code == "00" && approved.add(1, ordering: .relaxed).newValue == 20 { started.signal() }
                }
                if approved.load(ordering: .relaxed) < 20 { started.signal() }
            }
            thread.start()
            started.wait()
        }

        func finish() -> Int {
            stop.store(true, ordering: .relaxed)
            done.wait()
            return approved.load(ordering: .relaxed)
        }
    }

    static func sequences(_ answer: AdminAnswer) -> [UInt64] {
        (answer.header("x-report-sequences") ?? "").split(separator: ",").compactMap { UInt64($0) }
    }

    @Test("under steady purchases a members report reads each shard's fresh checkpoint in place, imports included")
    func inPlaceUnderTraffic() throws {
        let harness = try AdminHarness(settings: Self.settings(["reportCheckpointReuseMs": 0]))
        defer { harness.close() }
        let pans = try Self.importMembers(harness, test: 71)
        let traffic = Traffic(port: harness.server.port, pans: pans)
        let first = try harness.get("/v1/reports/members.csv", token: harness.admin)
        #expect(first.code == 200, "\(first.body)")
        #expect(first.header("x-report-read") == "checkpoint")
        let rows = first.body.split(separator: "\r\n")
        #expect(rows.count == Self.memberCount + 1, "every imported member, right after the import")
        #expect(!pans.contains { first.body.contains($0) }, "no full card number")
        // One more approval after the first report: the next one reads a newer checkpoint (reuse age 0).
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal(id: "TEST0001")
        #expect(try client.exchange(terminal.purchase(pans[1], 5_000)).code == "00")
        let second = try harness.get("/v1/reports/members.csv", token: harness.admin)
        #expect(traffic.finish() >= 20)
        #expect(second.code == 200 && second.header("x-report-read") == "checkpoint")
        let (before, after) = (Self.sequences(first), Self.sequences(second))
        #expect(before.count == 2 && after.count == 2)
        #expect(zip(before, after).contains { $0 < $1 }, "\(before) then \(after)")
        #expect(second.header("x-report-as-of") != nil)
        let breakage = try harness.get("/v1/reports/breakage.csv", token: harness.admin)
        #expect(breakage.code == 200 && breakage.header("x-report-read") == "recovered")
    }

    @Test("two reports at once under traffic read the same checkpoints; a later one within the reuse age too")
    func concurrentReportsShare() throws {
        let harness = try AdminHarness(settings: Self.settings(["reportCheckpointReuseMs": 600_000]))
        defer { harness.close() }
        let pans = try Self.importMembers(harness, test: 72)
        let traffic = Traffic(port: harness.server.port, pans: pans)
        let answers = Mutex<[AdminAnswer]>([])
        let group = DispatchGroup()
        let (port, token) = (harness.port, harness.admin)
        for _ in 0..<2 {
            group.enter()
            Thread {
                defer { group.leave() }
                if let answer = try? AdminReportsTests.report(port, "cards-issued.csv", token: token) {
                    answers.withLock { $0.append(answer) }
                }
            }.start()
        }
        group.wait()
        let both = answers.withLock { $0 }
        #expect(both.map(\.code) == [200, 200])
        #expect(both.allSatisfy { $0.header("x-report-read") == "checkpoint" })
        #expect(Self.sequences(both[0]).count == 2)
        #expect(Self.sequences(both[0]) == Self.sequences(both[1]), "one checkpoint per shard for both")
        #expect(both[0].body == both[1].body)
        let later = try harness.get("/v1/reports/members.csv", token: harness.admin)
        #expect(traffic.finish() >= 20)
        #expect(Self.sequences(later) == Self.sequences(both[0]), "reused: younger than reportCheckpointReuseMs")
    }

    @Test("no checkpoint within reportCheckpointWaitMs: 503 with Retry-After; totals still come from recovery")
    func waitBound() throws {
        let harness = try AdminHarness(
            settings: Self.settings(["reportCheckpointReuseMs": 0, "reportCheckpointWaitMs": 0]))
        defer { harness.close() }
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal(id: "TEST0002")
        for number in 1...4 {
            #expect(try client.exchange(terminal.purchase(MemberImportTests.card(number, test: 73), 5_000)).code == "00")
        }
        // A checkpoint that is durable before the handler looks is within even a 0 ms bound (a 200, legitimately:
        // seen once in CI on an idle machine); asked again, a slower one is not: at least one of 5 is a 503.
        var answer = try harness.get("/v1/reports/members.csv", token: harness.admin)
        for _ in 0..<4 where answer.code == 200 {
            answer = try harness.get("/v1/reports/members.csv", token: harness.admin)
        }
        #expect(answer.code == 503, "\(answer.body)")
        #expect(answer.header("retry-after") == "5")
        #expect(answer.body.contains("reportCheckpointWaitMs") || answer.body.contains("checkpoint"))
        let settlement = try harness.get("/v1/reports/settlement.csv", token: harness.admin)
        #expect(settlement.code == 200 && settlement.header("x-report-read") == "recovered")
    }

    @Test("a reader that reads nothing for reportStalledReaderTimeoutMs loses its report: its place is free again")
    func stalledReaderTimesOut() throws {
        var settings = MemberImportTests.settings()
        settings.limits = ["reportStalledReaderTimeoutMs": 1000]
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        _ = try ReportStreamTests.importMembers(harness)
        let stalled = try (0..<2).map { _ in
            try SlowReader(port: harness.port, path: "/v1/reports/members.csv", token: harness.admin)
        }
        #expect(stalled.map(\.status) == [200, 200])
        for reader in stalled { reader.waitUntilStalled() }
        // Both places were held by readers that never read; they are given back without the readers going away.
        var answer = try harness.get("/v1/reports/tiers.csv", token: harness.admin)
        for _ in 0..<300 where answer.code == 503 {
            usleep(100_000)
            answer = try harness.get("/v1/reports/tiers.csv", token: harness.admin)
        }
        #expect(answer.code == 200, "\(answer.code) \(answer.body)")
        // The place came from a report whose reader had read nothing: that answer is cut (no last chunk). The other
        // reader may still be within its timeout; reading now lets its report run to the end.
        let cut = stalled.filter { (try? $0.readToEnd()) == nil }
        #expect(cut.count >= 1)
    }
}

