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

    /// After a snapshot at `sequence`: deletes older snapshots and the segments whose records all precede it
    /// (segment i goes when segment i + 1 starts at or before `sequence + 1`, so the segment being appended to,
    /// always the last, never goes; `currentSegment` is kept as a second guard).
    static func dropCovered(
        directory: String, sequence: UInt64, keeping snapshotPath: String, currentSegment: String,
        keepingSegments: Bool = false
    ) throws(LedgerError) {
        precondition(!directory.isEmpty, "snapshots are dropped in a directory")
        for name in try FileIO.listDirectory(directory) where name.hasPrefix("snapshot-") {
            let path = directory + "/" + name
            if path != snapshotPath { try FileIO.remove(path) }
        }
        let segments = keepingSegments ? [] : try WALReader.segments(in: directory)
        for (position, segment) in segments.enumerated().dropLast()
        where segments[position + 1].firstSequence <= sequence + 1 && segment.path != currentSegment {
            try FileIO.remove(segment.path)
        }
        try FileIO.syncDirectory(directory)
    }
}
