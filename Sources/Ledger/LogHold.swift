import Synchronization

/// What the readers of one shard's log (the notification outbox, a history indexer) still need: a snapshot drops
/// the segments it covers only up to the slowest consumer's first needed record, and each consumer holds at most
/// its `recordsMax` records behind the snapshot. Past a consumer's bound the snapshot drops them anyway
/// (authorizations never wait for a reader, and the disk stays bounded), and the records deleted before that
/// consumer finished them are counted for it alone (`LogConsumer.recordsReleased`).
public final class LogHold: Sendable {
    /// Consumers a log may have (registered at start, replaced only by a reader of the same name): a bound, so a mistake cannot grow the list.
    public static let consumersMax = 8

    /// One consumer's place in this shard's log.
    final class Slot: Sendable {
        let name: String
        /// The lowest sequence the consumer has not finished with (0: nothing held yet).
        let firstNeeded = Atomic<UInt64>(0)
        let recordsMax: UInt64
        let released = Atomic<UInt64>(0)

        init(name: String, recordsMax: UInt64) {
            precondition(recordsMax >= 1, "a hold keeps at least one record")
            self.name = name
            self.recordsMax = recordsMax
        }

        /// The consumer needs the records from `sequence` on. Only moves forward: a snapshot may have released
        /// what the reader still reports as needed, and those records are gone (counted once).
        func advance(from sequence: UInt64) {
            precondition(sequence >= 1, "sequences start at 1")
            var current = firstNeeded.load(ordering: .relaxed)
            while sequence > current {
                let (exchanged, original) = firstNeeded.compareExchange(
                    expected: current, desired: sequence, ordering: .acquiringAndReleasing)
                if exchanged { return }
                current = original
            }
        }

        /// The sequence through which this consumer lets a snapshot at `snapshotSequence` drop segments.
        func allowedThrough(snapshotSequence: UInt64) -> UInt64 {
            let needed = firstNeeded.load(ordering: .acquiring)
            guard needed != 0, needed <= snapshotSequence else { return snapshotSequence }
            let behind = snapshotSequence - needed + 1
            let through = behind > recordsMax ? snapshotSequence - recordsMax : needed - 1
            precondition(through < snapshotSequence, "a lagging consumer keeps part of the snapshot's log")
            return through
        }

        /// Segments through `through` are being dropped: what this consumer still needed of them is given up.
        func release(through: UInt64) {
            precondition(through < UInt64.max, "a sequence to release through")
            var needed = firstNeeded.load(ordering: .acquiring)
            while needed != 0, needed <= through {
                let (exchanged, original) = firstNeeded.compareExchange(
                    expected: needed, desired: through + 1, ordering: .acquiringAndReleasing)
                if exchanged {
                    released.add(through - needed + 1, ordering: .relaxed)
                    return
                }
                needed = original
            }
        }
    }

    private let slots = Mutex<[Slot]>([])

    init() {}

    /// A name registered again replaces its earlier slot (a reader restarted in the same process).
    func add(_ slot: Slot) {
        slots.withLock { slots in
            slots.removeAll { $0.name == slot.name }
            precondition(slots.count < Self.consumersMax, "a log has at most consumersMax consumers")
            slots.append(slot)
            precondition(slots.filter { $0.name == slot.name }.count == 1, "one slot per consumer name")
        }
    }

    /// Snapshot thread: the sequence through which a snapshot at `snapshotSequence` may drop segments (the
    /// slowest consumer's, each bounded), with what each consumer gives up counted.
    func dropThrough(snapshotSequence: UInt64) -> UInt64 {
        slots.withLock { slots in
            let through = slots.map { $0.allowedThrough(snapshotSequence: snapshotSequence) }.min() ?? snapshotSequence
            precondition(through <= snapshotSequence, "a snapshot drops only what it covers")
            for slot in slots { slot.release(through: through) }
            return through
        }
    }
}

/// A reader of every shard's log registered with the ledger (`Ledger.registerLogConsumer`): the outbox of each
/// webhook set, a history indexer. It tells, per shard, the first record it still needs; snapshots keep the log
/// from there on, up to `recordsMax` records behind them.
public final class LogConsumer: Sendable {
    public let name: String
    public let recordsMax: UInt64
    private let slots: [LogHold.Slot]

    init(name: String, recordsMax: UInt64, holds: [LogHold]) {
        precondition(!holds.isEmpty, "a ledger has shards")
        precondition(!name.isEmpty, "a consumer has a name")
        self.name = name
        self.recordsMax = recordsMax
        slots = holds.map { _ in LogHold.Slot(name: name, recordsMax: recordsMax) }
        for (hold, slot) in zip(holds, slots) { hold.add(slot) }
        precondition(slots.count == holds.count, "a slot per shard")
    }

    /// The consumer finished every record of `shard` before `sequence` and needs the rest (never moves back).
    public func advance(shard: Int, from sequence: UInt64) {
        precondition(shard >= 0 && shard < slots.count, "a shard of the ledger")
        slots[shard].advance(from: sequence)
    }

    /// The first record of `shard` the consumer still needs (0 while it has said nothing).
    public func firstNeeded(shard: Int) -> UInt64 {
        precondition(shard >= 0 && shard < slots.count, "a shard of the ledger")
        return slots[shard].firstNeeded.load(ordering: .acquiring)
    }

    /// Records of `shard` a snapshot deleted before this consumer finished them, since start.
    public func recordsReleased(shard: Int) -> UInt64 {
        precondition(shard >= 0 && shard < slots.count, "a shard of the ledger")
        return slots[shard].released.load(ordering: .relaxed)
    }

    /// Records deleted before this consumer finished them, every shard, since start.
    public var recordsReleased: UInt64 { slots.reduce(0) { $0 + $1.released.load(ordering: .relaxed) } }
}
