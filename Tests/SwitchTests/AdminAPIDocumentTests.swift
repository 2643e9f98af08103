import AdminAccess
import Foundation
import HTTP
import Ledger
import Network
import Testing

@testable import SwitchCore

/// specs/admin-api.json describes exactly the routes the server has.
@Suite struct AdminAPIDocumentTests {
    @Test("every route of the admin router is in specs/admin-api.json and every path there is a route")
    func documentMatchesRouter() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var ledgerConfiguration = LedgerConfiguration()
        ledgerConfiguration.shardCount = 1
        ledgerConfiguration.log = { _ in }
        let ledger = try Ledger.open(directory: directory.data, configuration: ledgerConfiguration)
        defer { ledger.close() }
        let group = try EventLoopGroup(
            loopCount: 1, limits: NetworkLimits(), log: LogSink(descriptor: open("/dev/null", O_WRONLY)))
        let (access, _) = try AccessControl.open(dataDirectory: directory.data)
        defer { access.close() }
        let router = AdminAPI.router(
            ledger: ledger, metrics: AdminMetrics(loops: [], ledger: ledger, group: group),
            gate: AdminGate(access: access), door: AdminLedger(ledger: ledger, access: access, nowMs: 0),
            metricsRequireToken: false, operatorAdjustmentMax: 10_000,
            lotteries: LotteryBook(limits: LotteryBook.Limits(), clockMs: { 0 }),
            imports: MemberImports(dataDirectory: directory.data, clockMs: { 0 }))
        let served = Set(router.routes.map { "\($0.method.description.lowercased()) \($0.pattern)" })
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("specs/admin-api.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method) \(path)") }
        }
        #expect(served == documented)
        #expect(document["openapi"] as? String == "3.1.0")
        #expect(
            String(decoding: AdminAPIDocument.bytes, as: UTF8.self) == (try String(contentsOf: file, encoding: .utf8)))
    }
}
