import Foundation
import Testing

@testable import Ledger

/// The key store's buffer is reused after its run is adopted: emptied in one pass, it must forget every name
/// and position of its last round and index the next round as a new buffer would.
@Suite struct KeyBufferTests {
    /// An entry with only its names set (the rest zero, as the buffer's indexes never read it).
    static func entry(key: UInt64, reference: UInt64 = 0, terminal: UInt64 = 0) -> IdempotencyEntry {
        var entry = withUnsafeTemporaryAllocation(of: IdempotencyEntry.self, capacity: 1) { buffer in
            memset(buffer.baseAddress!, 0, MemoryLayout<IdempotencyEntry>.stride)
            return buffer[0]
        }
        entry.key = IdempotencyKey(word0: key)
        if reference != 0 { entry.reference = IdempotencyKey(word0: reference) }
        if terminal != 0 { entry.terminalReference = IdempotencyKey(word0: terminal) }
        return entry
    }

    /// Fills `buffer` with first versions at positions `first...` (every third with a reference, every fifth with
    /// a terminal reference) and a few amendments.
    static func fill(_ buffer: KeyBuffer, first: Int64, names: UInt64) {
        for index in 0..<Int64(buffer.capacity - 8) {
            let name = names + UInt64(index)
            buffer.addFirst(
                entry(key: name, reference: index % 3 == 0 ? name + 1_000_000 : 0,
                      terminal: index % 5 == 0 ? name + 2_000_000 : 0),
                position: first + index)
        }
        for index in 0..<Int64(8) { buffer.store(entry(key: names + UInt64(index)), position: first - 100 - index) }
    }

    @Test("a cleared buffer forgets every name and position, and indexes the next round as a new one")
    func clearedBufferIsNew() {
        let buffer = KeyBuffer(capacity: 1024)
        Self.fill(buffer, first: 5_000, names: 70_000)
        #expect(buffer.count == 1024)
        #expect(buffer.find(IdempotencyKey(word0: 70_003), kind: .key) == 5_003)
        #expect(buffer.find(IdempotencyKey(word0: 1_070_003), kind: .reference) == 5_003)
        #expect(buffer.find(IdempotencyKey(word0: 2_070_005), kind: .terminalReference) == 5_005)
        #expect(buffer.slot(of: 4_900) != nil)

        buffer.clear()
        #expect(buffer.isEmpty && buffer.freeSlots == 1024)
        for index in UInt64(0)..<1016 {
            #expect(buffer.find(IdempotencyKey(word0: 70_000 + index), kind: .key) == nil)
            #expect(buffer.find(IdempotencyKey(word0: 1_070_000 + index), kind: .reference) == nil)
            #expect(buffer.find(IdempotencyKey(word0: 2_070_000 + index), kind: .terminalReference) == nil)
            #expect(buffer.slot(of: 5_000 + Int64(index)) == nil)
        }
        #expect(buffer.slot(of: 4_900) == nil)

        // The next round: other names and positions, all found, in the slots a new buffer would give them.
        Self.fill(buffer, first: 9_000, names: 80_000)
        let fresh = KeyBuffer(capacity: 1024)
        Self.fill(fresh, first: 9_000, names: 80_000)
        for index in UInt64(0)..<1016 {
            let name = IdempotencyKey(word0: 80_000 + index)
            #expect(buffer.find(name, kind: .key) == 9_000 + Int64(index))
            #expect(buffer.find(name, kind: .key) == fresh.find(name, kind: .key))
            #expect(buffer.slot(of: 9_000 + Int64(index)) == fresh.slot(of: 9_000 + Int64(index)))
        }
        #expect(buffer.find(IdempotencyKey(word0: 1_080_003), kind: .reference) == 9_003)
        #expect(buffer.find(IdempotencyKey(word0: 70_003), kind: .key) == nil)
    }
}
