#if canImport(Glibc)
    import Glibc
#endif

extension LedgerCopy {
    /// Writes the pinned files under `destination` (which must not hold a ledger yet) and syncs them; returns the
    /// last sequence copied per shard. A failed write (a full disk) throws naming the file being written.
    public func write(to destination: String) throws(LedgerError) -> [UInt64] {
        precondition(!shards.isEmpty, "write after close")
        try FileIO.makeDirectory(destination)
        var sequences: [UInt64] = []
        for (index, shard) in shards.enumerated() {
            let directory = DataDirectory.shardDirectory(destination, shard: index)
            try FileIO.makeDirectory(directory)
            for file in shard.files {
                _ = try Self.copy(file, from: shard.directory, to: directory, pace: pace)
            }
            sequences.append(try copySegments(shard, to: directory))
            try FileIO.syncDirectory(directory)
        }
        for file in rootFiles {
            try file.bytes.withBytes { bytes throws(LedgerError) in
                try FileIO.writeFileAtomically(directory: destination, name: file.name, bytes)
            }
        }
        try FileIO.syncDirectory(destination)
        precondition(sequences.count == shards.count, "a last sequence per shard")
        return sequences
    }

    /// Copies the segments; the last one is cut after its last valid record. Returns the last sequence.
    private func copySegments(_ shard: PinnedShard, to directory: String) throws(LedgerError) -> UInt64 {
        let snapshotSequence = shard.files.first.flatMap { Snapshot.sequence(ofFileName: $0.name) } ?? 0
        guard let last = shard.segments.last else { return snapshotSequence }
        for segment in shard.segments.dropLast() {
            _ = try Self.copy(segment.file, from: shard.directory, to: directory, pace: pace)
        }
        let path = try Self.copy(last.file, from: shard.directory, to: directory, pace: pace)
        let lastRecord = try Self.cutAfterLastRecord(path, firstSequence: last.firstSequence)
        precondition(lastRecord + 1 >= last.firstSequence, "the last segment's records start at its first sequence")
        return max(snapshotSequence, lastRecord)
    }

    /// Copies a pinned file by descriptor (unused preallocation stays a hole) under `pace`; returns the copy's path.
    static func copy(
        _ file: PinnedFile, from source: String, to directory: String, pace: CopyPace?
    ) throws(LedgerError) -> String {
        precondition(file.descriptor >= 0 && !file.name.isEmpty, "a pinned file")
        let path = directory + "/" + file.name
        _ = try FileCopy.copy(
            descriptor: file.descriptor, source: source + "/" + file.name, to: path, length: nil, allocate: false,
            pace: pace)
        return path
    }

    /// Finds the last whole, checksum-valid record of the copied newest segment (the writer may have been in the
    /// middle of a batch), zeroes what follows and writes a header saying the segment ends there and has no
    /// successor. Returns its last sequence (`firstSequence - 1` when it holds none).
    static func cutAfterLastRecord(_ path: String, firstSequence: UInt64) throws(LedgerError) -> UInt64 {
        precondition(firstSequence >= 1, "sequences start at 1")
        let file = try MappedFile(path: path, bytesMax: WALReader.segmentFileBytesMax)
        let reader = WALReader(directory: "", readOnly: true)
        var expected = firstSequence
        var offset = WALSegment.recordsStart
        while let header = reader.validRecord(file.bytes, at: offset), header.sequence == expected {
            expected += 1
            offset += WALRecord.alignedLength(bodyLength: header.bodyLength)
        }
        precondition(expected >= firstSequence && offset >= WALSegment.recordsStart, "records read forward")
        let dataEnd = reader.lastNonZero(file.bytes, from: min(offset, file.bytes.count))
        let header = WALSegment.read(file.bytes)
        if let header, header.firstSequence != firstSequence {
            throw .damagedLog(
                file: path, offset: 0,
                reason: "the copy's header names first sequence \(header.firstSequence), its name \(firstSequence): "
                    + "the segment was reused while it was copied")
        }
        let descriptor = try FileIO.openFile(path, flags: O_RDWR)
        defer { FileIO.closeFile(descriptor) }
        if dataEnd > offset {
            try FileIO.writeZeros(descriptor, range: Int64(offset)..<Int64(dataEnd), path: path)
        }
        if var header {
            header.acknowledgedSequence = expected - 1
            header.acknowledgedEnd = Int64(offset)
            header.nextFirstSequence = 0
            header.generation += 1
            _ = try WALSegment.writeBothSlots(header, descriptor: descriptor, path: path)
        }
        try FileIO.syncAll(descriptor, path: path)
        return expected - 1
    }
}
