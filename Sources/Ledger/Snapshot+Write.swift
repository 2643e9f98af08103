import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

extension Snapshot {
    /// Writes the state as of `sequence` durably on the calling thread, which owns the state and writes nothing
    /// meanwhile (a limit change at open, a shard's final snapshot): temp file, fsync, rename, fsync directory.
    /// Returns the snapshot's path.
    static func write(
        _ state: ShardState, sequence: UInt64, lastCRC: UInt32, directory: String
    ) throws(LedgerError) -> String {
        precondition(!directory.isEmpty, "a snapshot is written into a directory")
        let checkpoint = Checkpoint(state, sequence: sequence, lastCRC: lastCRC, budget: nil)
        guard let path = try checkpoint.write(directory: directory) else {
            preconditionFailure("a checkpoint without a copy budget cannot run out of it")
        }
        precondition(path.hasSuffix(fileName(sequence: sequence)), "the snapshot is named after its sequence")
        return path
    }

    /// Tests only: called before each covered segment leaves the log (a throw plays a crash there).
    nonisolated(unsafe) static var beforeDrop: ((String) throws(LedgerError) -> Void)? = nil

    /// After a snapshot at `sequence`: deletes older snapshots and the segments whose records all precede it
    /// (segment i goes when segment i + 1 starts at or before `sequence + 1`, so the segment being appended to,
    /// always the last, never goes; `currentSegment` is kept as a second guard). With `recyclingBytes`, the newest
    /// such segments of that size are kept for the next spares, in the free recycling slots (`SegmentReserve`),
    /// except one a reader leases (`FileIO.openSegmentLeased`: a backup, a log reader, a live verify): deleted.
    static func dropCovered(
        directory: String, sequence: UInt64, keeping snapshotPath: String, currentSegment: String,
        keepingSegments: Bool = false, recyclingBytes: Int? = nil
    ) throws(LedgerError) {
        precondition(!directory.isEmpty, "snapshots are dropped in a directory")
        for name in try FileIO.listDirectory(directory) where name.hasPrefix("snapshot-") {
            let path = directory + "/" + name
            if path != snapshotPath { try FileIO.remove(path) }
        }
        let segments = keepingSegments ? [] : try WALReader.segments(in: directory)
        let covered = segments.indices.dropLast().filter {
            segments[$0 + 1].firstSequence <= sequence + 1 && segments[$0].path != currentSegment
        }
        let freeSlots = recyclingBytes == nil ? [] : (0..<SegmentReserve.recycledSlots).map {
            SegmentReserve.recycledPath(directory: directory, slot: $0)
        }.filter { !FileIO.exists($0) }
        // The newest covered segments of a segment's size take the free slots (the newest first: the likeliest
        // still cached)...
        let recyclable = covered.filter { index in
            recyclingBytes.map { (try? FileIO.sizeOfFile(segments[index].path)) == Int64($0) } ?? false
        }
        var slots: [Int: String] = [:]
        for (slot, index) in zip(freeSlots, recyclable.reversed()) { slots[index] = slot }
        // ...but the segments leave the log oldest first: a crash part way leaves the log a contiguous run of
        // segments, never a gap (which recovery and `verify` refuse as a missing segment).
        for index in covered {
            let path = segments[index].path
            try beforeDrop?(path)
            if let slot = slots[index], let lease = FileIO.tryRecyclingLease(path) {
                defer { FileIO.closeFile(lease) }
                try FileIO.rename(path, slot)
            } else {
                try FileIO.remove(path)
            }
        }
        try FileIO.syncDirectory(directory)
    }
}
