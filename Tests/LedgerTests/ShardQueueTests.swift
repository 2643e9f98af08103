import Foundation
import SystemCalls
import Testing

@testable import Ledger

/// The shard's queue: client commands in order, as many as fit, with the sales they name; the ring wraps.
@Suite struct ShardQueueTests {
    static func command(_ number: Int, saleIndex: UInt32 = 0) -> ShardCommand {
        var command = ShardCommand(kind: .earn, key: IdempotencyKey(word0: UInt64(number)))
        command.saleIndex = saleIndex
        return command
    }

    static func sale(_ terminal: String) -> SaleDetail {
        SaleDetail(terminal: SaleCode(ascii: Array(terminal.utf8))!, merchant: .none)
    }

    @Test("pushed batches come out in order across the ring's wrap, each sale with its command, the rest refused at capacity")
    func batchesWrapKeepSalesAndRefuse() {
        let queue = ShardQueue(capacity: 8, internalReserve: 2)
        var batch: [ShardCommand] = []
        var sales: [SaleDetail] = []
        var taken: [(UInt64, String?)] = []
        func take() {
            batch.removeAll()
            sales.removeAll()
            _ = queue.takeAll(into: &batch, sales: &sales)
            for command in batch {
                let sale = command.saleIndex == 0 ? nil : sales[Int(command.saleIndex) - 1]
                taken.append((command.key.word0, sale.map { String(decoding: $0.terminal.bytes, as: UTF8.self) }))
            }
        }
        // 6 in, taken: the ring's head moves to slot 6, so the next push wraps after 4 (ring of 10).
        #expect(queue.push(contentsOf: (1...6).map { Self.command($0) }) == 6)
        take()
        let wrapping = [
            Self.command(7), Self.command(8, saleIndex: 2), Self.command(9), Self.command(10),
            Self.command(11, saleIndex: 1), Self.command(12), Self.command(13), Self.command(14), Self.command(15),
        ]
        // Capacity 8: the ninth is refused and nothing of it queued.
        #expect(queue.push(contentsOf: wrapping, sales: [Self.sale("T-ONE"), Self.sale("T-TWO")]) == 8)
        take()
        #expect(taken.map(\.0) == Array(1...14).map(UInt64.init))
        #expect(taken.filter { $0.1 != nil }.map { "\($0.0) \($0.1!)" } == ["8 T-TWO", "11 T-ONE"])
        // The slots the sales used are free again: a push over them carries no stale sale.
        taken.removeAll()
        #expect(queue.push(contentsOf: (20...27).map { Self.command($0) }) == 8)
        take()
        #expect(taken.map(\.0) == Array(20...27).map(UInt64.init) && taken.allSatisfy { $0.1 == nil })
    }

    @Test("a batch taken says when its oldest command was queued; a later push into a queue not empty keeps it")
    func batchKnowsItsOldestCommand() throws {
        let queue = ShardQueue(capacity: 8, internalReserve: 2)
        var batch: [ShardCommand] = []
        var sales: [SaleDetail] = []
        let before = monotonicNanoseconds()
        #expect(queue.push(contentsOf: [Self.command(1)]) == 1)
        usleep(20_000)
        #expect(queue.push(Self.command(2)), "a second push while the first waits")
        _ = queue.takeAll(into: &batch, sales: &sales)
        let queuedSince = queue.lastBatchQueuedSinceNs
        #expect(batch.count == 2 && queuedSince >= before)
        #expect(monotonicNanoseconds() - queuedSince >= 20_000_000, "the first command's time, not the second's")
        // Nothing queued: the next take (a wake without commands) names no time.
        queue.wake()
        batch.removeAll()
        _ = queue.takeAll(into: &batch, sales: &sales)
        #expect(batch.isEmpty && queue.lastBatchQueuedSinceNs == 0)
        queue.pushInternal(Self.command(3))
        _ = queue.takeAll(into: &batch, sales: &sales)
        #expect(queue.lastBatchQueuedSinceNs > queuedSince, "an internal command is timed too")
    }
}
