#if canImport(Glibc)
    import Glibc
#endif

/// Deciding what a stop in the record stream means: clean end, torn tail, or damage.
extension WALReader {
    func classifyStop(
        _ segment: Segment, bytes: UnsafeRawBufferPointer, stop: Int, isLast: Bool, state: ScanState
    ) throws(LedgerError) -> (end: Int64, tornTail: TornTail?) {
        if isAllZero(bytes, from: stop) { return (Int64(stop), nil) }
        let expected = state.expectedSequence ?? segment.firstSequence
        let lastValid = lastValidRecord(bytes, after: stop, sequenceAtLeast: expected)
        let reason = "record fails its checksum or framing"
        guard isLast else {
            throw .damagedLog(file: segment.path, offset: Int64(stop), reason: reason + " (not the last segment)")
        }
        if let lastValid, lastValid.batchFirstSequence > expected {
            throw .damagedLog(
                file: segment.path, offset: Int64(stop),
                reason: reason + "; later batches from sequence \(lastValid.batchFirstSequence) are intact")
        }
        let torn = TornTail(file: segment.path, offset: Int64(stop), bytesDiscarded: Int64(bytes.count - stop))
        return (Int64(stop), torn)
    }

    private func isAllZero(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        var offset = start
        while offset < bytes.count && offset % 8 != 0 {
            if bytes[offset] != 0 { return false }
            offset += 1
        }
        while offset + 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != 0 { return false }
            offset += 8
        }
        while offset < bytes.count {
            if bytes[offset] != 0 { return false }
            offset += 1
        }
        return true
    }

    /// The last record at an 8-byte aligned offset after `stop` that passes its checksum and belongs after
    /// the records already read. Bounded by the segment size.
    private func lastValidRecord(
        _ bytes: UnsafeRawBufferPointer, after stop: Int, sequenceAtLeast: UInt64
    ) -> WALRecord.Header? {
        var found: WALRecord.Header?
        var offset = (stop + 8) & ~7
        while offset + WALRecord.headerBytes <= bytes.count {
            if let header = validRecord(bytes, at: offset), header.sequence >= sequenceAtLeast {
                found = header
                offset += WALRecord.alignedLength(bodyLength: header.bodyLength)
            } else {
                offset += 8
            }
        }
        return found
    }

    /// Cuts the torn tail off and restores the segment's preallocated size with zeros.
    func truncate(_ torn: TornTail) throws(LedgerError) {
        let descriptor = try FileIO.openFile(torn.file, flags: O_RDWR)
        defer { FileIO.closeFile(descriptor) }
        try FileIO.truncate(descriptor, length: torn.offset, path: torn.file)
        let size = max(Int64(segmentBytes), torn.offset)
        let result = posix_fallocate(descriptor, 0, off_t(size))
        if result != 0 { throw .io(operation: "posix_fallocate", path: torn.file, errno: result) }
        try FileIO.syncAll(descriptor, path: torn.file)
    }
}
