import Foundation
import Ledger
import Synchronization
import Testing

@testable import AdminAccess
@testable import SwitchCore

/// The admin door's limit on requests waiting for the ledger: at it, a request is answered `overloaded` at once
/// (503 to the client) and never reaches a shard; below it, the same request is applied.
@Suite("Admin door at its waiting limit")
struct AdminLedgerLimitTests {
    @Test("a full door answers overloaded at once and queues nothing; an open one applies the request")
    func fullDoorRefuses() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        var configuration = LedgerConfiguration()
        configuration.shardCount = 1
        configuration.log = { _ in }
        let ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        defer { ledger.close() }
        let (access, _) = try AccessControl.open(dataDirectory: directory.data)
        defer { access.close() }
        let card = CardNumber("6037991234567890")!
        let enrol = LedgerRequest(
            tag: 0, key: AdminLedger.key(operation: 1), digest: ContentDigest(high: 0, low: 1), card: card,
            operation: .enrol)

        let full = AdminLedger(ledger: ledger, access: access, nowMs: 0, waitingMax: 0)
        let refused = Mutex<[LedgerReply]>([])
        full.submit(enrol) { reply in refused.withLock { $0.append(reply) } }
        // Answered synchronously, inside submit: nothing waits and nothing reached the shard.
        #expect(refused.withLock { $0.map(\.status) } == [.overloaded])
        #expect(
            ledger.perform(
                LedgerRequest(tag: 0, key: .zero, digest: .init(high: 0, low: 0), card: card, operation: .balance)
            ).status == .unknownCard)

        let open = AdminLedger(ledger: ledger, access: access, nowMs: 0, waitingMax: 1)
        let done = DispatchSemaphore(value: 0)
        let applied = Mutex<LedgerStatus?>(nil)
        open.submit(enrol) { reply in
            applied.withLock { $0 = reply.status }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(applied.withLock { $0 } == .approved)
    }
}
