import Synchronization

/// What a reader of a shard's log (the notification outbox) still needs: segments holding records from
/// `firstNeeded` on are kept when a snapshot would drop them, up to `recordsMax` records behind the snapshot. Past
/// that bound the snapshot drops them anyway (authorizations never wait for a reader, and the disk stays
/// bounded), and the records given up are counted in `recordsReleased` (health and metrics report them).
public final class LogHold: Sendable {
    /// The lowest sequence the reader has not finished with (0: no reader, nothing held).
    private let firstNeeded = Atomic<UInt64>(0)
    private let recordsMaxValue = Atomic<UInt64>(LogHold.recordsMaxDefault)
    private let releasedValue = Atomic<UInt64>(0)

    /// Records a reader may hold behind a snapshot by default (at ~200 bytes a record, ~800 MB of log).
    public static let recordsMaxDefault: UInt64 = 4_000_000

    init() {}

    /// The reader needs the records from `sequence` on (it finished every one before it).
    public func hold(from sequence: UInt64) {
        precondition(sequence >= 1, "sequences start at 1")
        firstNeeded.store(sequence, ordering: .releasing)
    }

    /// The bound on records held behind a snapshot (at least 1).
    public var recordsMax: UInt64 {
        get { recordsMaxValue.load(ordering: .relaxed) }
        set {
            precondition(newValue >= 1, "a hold keeps at least one record")
            recordsMaxValue.store(newValue, ordering: .relaxed)
        }
    }

    /// Records given up at the bound before the reader finished them, since start.
    public var recordsReleased: UInt64 { releasedValue.load(ordering: .relaxed) }

    /// Snapshot thread: the sequence through which a snapshot at `snapshotSequence` may drop segments.
    func dropThrough(snapshotSequence: UInt64) -> UInt64 {
        let needed = firstNeeded.load(ordering: .acquiring)
        guard needed != 0, needed <= snapshotSequence else { return snapshotSequence }
        let behind = snapshotSequence - needed + 1
        let bound = recordsMax
        guard behind > bound else { return needed - 1 }
        let through = snapshotSequence - bound
        releasedValue.add(through - needed + 1, ordering: .relaxed)
        firstNeeded.store(through + 1, ordering: .relaxed)
        return through
    }
}
