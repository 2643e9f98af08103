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
                _ = try Self.copy(file, from: shard.directory, to: directory, bytesMax: nil)
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
        return sequences
    }

    /// Copies the segments; the last one is cut after its last valid record. Returns the last sequence.
    private func copySegments(_ shard: PinnedShard, to directory: String) throws(LedgerError) -> UInt64 {
        let snapshotSequence = shard.files.first.flatMap { Snapshot.sequence(ofFileName: $0.name) } ?? 0
        guard let last = shard.segments.last else { return snapshotSequence }
        for segment in shard.segments.dropLast() {
            _ = try Self.copy(segment.file, from: shard.directory, to: directory, bytesMax: nil)
        }
        let path = try Self.copy(last.file, from: shard.directory, to: directory, bytesMax: nil)
        let lastRecord = try Self.cutAfterLastRecord(path, firstSequence: last.firstSequence)
        return max(snapshotSequence, lastRecord)
    }

    /// Copies a pinned file by descriptor, leaving all-zero pieces as holes (a segment's unused preallocation);
    /// the copy has the source's size. Returns the copy's path.
    static func copy(
        _ file: PinnedFile, from source: String, to directory: String, bytesMax: Int64?
    ) throws(LedgerError) -> String {
        let path = directory + "/" + file.name
        let size = try FileIO.fileSize(file.descriptor, path: source + "/" + file.name)
        let output = try FileIO.openFile(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { FileIO.closeFile(output) }
        let piece = UnsafeMutableRawBufferPointer.allocate(byteCount: copyPieceBytes, alignment: 4096)
        defer { piece.deallocate() }
        var offset: Int64 = 0
        while offset < size {
            let wanted = Int(min(Int64(copyPieceBytes), size - offset))
            let count = try FileIO.readFully(
                file.descriptor, UnsafeMutableRawBufferPointer(rebasing: piece[0..<wanted]), offset: offset,
                path: source + "/" + file.name)
            if count == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: piece[0..<count])
            if !isZero(bytes) { try FileIO.writeAll(output, bytes, offset: offset, path: path) }
            offset += Int64(count)
            if offset % Int64(syncEveryBytes) == 0 { try flush(output, path: path, through: offset) }
        }
        try FileIO.truncate(output, length: size, path: path)
        try FileIO.syncAll(output, path: path)
        return path
    }

    /// Written bytes synced and dropped from the page cache every this many: the copy never leaves gigabytes of
    /// dirty pages whose writeback the shards' fdatasync would queue behind, nor evicts the switch's pages for its
    /// own (the copy is not read again).
    static let syncEveryBytes = 8 << 20

    static func flush(_ descriptor: Int32, path: String, through offset: Int64) throws(LedgerError) {
        try FileIO.syncData(descriptor, path: path)
        _ = posix_fadvise(descriptor, 0, off_t(offset), POSIX_FADV_DONTNEED)
    }

    static func isZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] != 0 { return false }
            index += 1
        }
        return true
    }

    /// Finds the last whole, checksum-valid record of the copied newest segment (the writer may have been in the
    /// middle of a batch), zeroes what follows and writes a header saying the segment ends there and has no
    /// successor. Returns its last sequence (`firstSequence - 1` when it holds none).
    static func cutAfterLastRecord(_ path: String, firstSequence: UInt64) throws(LedgerError) -> UInt64 {
        let file = try MappedFile(path: path, bytesMax: WALReader.segmentFileBytesMax)
        let reader = WALReader(directory: "", readOnly: true)
        var expected = firstSequence
        var offset = WALSegment.recordsStart
        while let header = reader.validRecord(file.bytes, at: offset), header.sequence == expected {
            expected += 1
            offset += WALRecord.alignedLength(bodyLength: header.bodyLength)
        }
        let dataEnd = reader.lastNonZero(file.bytes, from: min(offset, file.bytes.count))
        let header = WALSegment.read(file.bytes)
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
