import Glibc

extension AuditJournalFile {
    /// The journal's state after `checkpoint`'s entries and the entries of its users, or nil when the journal does
    /// not match it: shorter than its `end`, another CRC32C of those bytes, another number of lines, or a last
    /// sealed entry that does not parse with the checkpoint's hash. Reads the sealed bytes once (CRC32C and line
    /// starts, no JSON) and parses only the last sealed entry and the users' entries.
    static func resume(
        path: String, checkpoint: AuditJournalCheckpoint
    ) throws(AccessError) -> (state: AuditJournalState, userEntries: [AuditEntry])? {
        guard AccessFile.exists(path), checkpoint.entryCount > 0, checkpoint.end > 0 else { return nil }
        let descriptor = try AccessFile.open(path, flags: O_RDONLY)
        defer { close(descriptor) }
        guard try AccessFile.size(descriptor, path: path) >= checkpoint.end,
            let (crc, offsets) = try lineStarts(descriptor, path: path, checkpoint: checkpoint)
        else { return nil }
        var state = AuditJournalState()
        state.entryCount = checkpoint.entryCount
        state.lastHash = checkpoint.lastHash
        state.end = checkpoint.end
        state.crc = crc
        state.offsets = offsets
        func entry(_ seq: UInt64) throws(AccessError) -> AuditEntry? {
            guard seq >= 1, seq <= checkpoint.entryCount else { return nil }
            let start = offsets[Int(seq) - 1]
            let end = seq < checkpoint.entryCount ? offsets[Int(seq)] : checkpoint.end
            guard end - start <= Int64(AuditEntry.lineBytesMax) else { return nil }
            let line = try AccessFile.read(descriptor, offset: start, count: Int(end - start) - 1, path: path)
            let parsed = line.withUnsafeBytes { raw in Result { () throws(AuditLineError) in try AuditEntry.parse(raw) } }
            guard case .success(let entry) = parsed, entry.seq == seq else { return nil }
            return entry
        }
        guard let sealed = try entry(checkpoint.entryCount), sealed.hash == checkpoint.lastHash else { return nil }
        var userEntries: [AuditEntry] = []
        for seq in checkpoint.userSeqs {
            guard let user = try entry(seq), user.action == "users.create" else { return nil }
            userEntries.append(user)
        }
        return (state, userEntries)
    }

    /// CRC32C and the line starts of the checkpoint's bytes, nil when they are not `entryCount` whole lines with
    /// its CRC32C. Bounded: a block at a time, at most `entryCount` offsets.
    private static func lineStarts(
        _ descriptor: Int32, path: String, checkpoint: AuditJournalCheckpoint
    ) throws(AccessError) -> (crc: UInt32, offsets: [Int64])? {
        guard checkpoint.entryCount <= UInt64(checkpoint.end) else { return nil }
        var crc: UInt32 = 0
        var offsets: [Int64] = []
        offsets.reserveCapacity(Int(checkpoint.entryCount))
        var lineStart: Int64 = 0
        var offset: Int64 = 0
        while offset < checkpoint.end {
            let count = Int(min(Int64(LineReader.blockBytes), checkpoint.end - offset))
            let block = try AccessFile.read(descriptor, offset: offset, count: count, path: path)
            guard block.count == count else { return nil }
            let fits = block.withUnsafeBytes { raw -> Bool in
                crc = AuditChecksum.update(crc, raw)
                var index = 0
                while index < raw.count,
                    let found = memchr(raw.baseAddress! + index, Int32(UInt8(ascii: "\n")), raw.count - index)
                {
                    guard offsets.count < Int(checkpoint.entryCount) else { return false }
                    let position = raw.baseAddress!.distance(to: UnsafeRawPointer(found))
                    offsets.append(lineStart)
                    lineStart = offset + Int64(position) + 1
                    index = position + 1
                }
                return true
            }
            guard fits else { return nil }
            offset += Int64(count)
        }
        guard crc == checkpoint.journalCRC, lineStart == checkpoint.end, offsets.count == Int(checkpoint.entryCount)
        else { return nil }
        return (crc, offsets)
    }
}
