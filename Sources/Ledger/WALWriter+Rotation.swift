#if canImport(Glibc)
    import Glibc
#endif

/// Starting segments: between batches, from the reserve, with shortages told apart from failures.
extension WALWriter {
    /// Called before the first record of every batch: when the current segment cannot take a whole batch, starts
    /// the next one. Returns nil when the batch may go ahead, or the shortage (disk full, descriptors exhausted)
    /// that prevents it: the caller declines the batch, having applied nothing, and asks again later. Throws a
    /// failure that leaves the log in doubt (the directory's or the old segment's sync), which stops the shard.
    func makeRoomForBatch() throws(LedgerError) -> LedgerError? {
        precondition(isBatchEmpty, "segments start between batches")
        if hasRoomInSegment { return nil }
        let now = SegmentReserve.monotonicNs()
        let descriptor: Int32
        let temporaryPath: String
        if let ready = reserve.take() {
            descriptor = ready
            temporaryPath = reserve.path
        } else {
            // No reserve ready (still being zero-filled, or it could not be made): make one now, at most once per
            // retry interval while it keeps failing, so a full disk costs one failed allocation per interval.
            if shortage != nil && now &- shortageAtNs < retryIntervalNs { return shortage }
            temporaryPath = directory + "/" + Self.fallbackName
            do {
                descriptor = try SegmentReserve.makeFile(path: temporaryPath, bytes: segmentBytes, zeroFill: false)
            } catch {
                return try noteShortage(error, atNs: now)
            }
        }
        do {
            try install(descriptor, temporaryPath: temporaryPath)
        } catch {
            return try noteShortage(error, atNs: now)
        }
        shortage = nil
        reserve.prepareInBackground()
        precondition(hasRoomInSegment, "a new segment has room for a batch")
        return nil
    }

    /// A shortage is remembered and returned (declines, retried later); anything else is thrown (stops).
    private func noteShortage(_ error: LedgerError, atNs now: UInt64) throws(LedgerError) -> LedgerError {
        guard error.isShortage else { throw error }
        shortage = error
        shortageAtNs = now
        return error
    }

    /// Between batches: when the last background preparation of the reserve failed, tries again once the retry
    /// interval has passed, so that the reserve is back before the current segment fills.
    func maintainReserve() {
        guard let failure = reserve.failure else { return }
        if SegmentReserve.monotonicNs() &- failure.atNs >= retryIntervalNs { reserve.prepareInBackground() }
    }

    /// Why the next segment is not reserved: the last failed attempt, until one succeeds (nil: it is).
    var reserveProblem: LedgerError? { reserve.problem }

    /// Turns a prepared file into the next segment: header written and synced, renamed into the log, the
    /// directory synced; then the old segment is sealed with the new one's first sequence, so that deleting the
    /// new one can never pass unnoticed. A shortage before the rename leaves the log as it was (the file is
    /// removed) and is thrown for the caller to decline with; after the rename every error stops the shard.
    func install(_ descriptor: Int32, temporaryPath: String) throws(LedgerError) {
        let published: (path: String, header: WALSegment.Header)
        do throws(LedgerError) {
            published = try Self.publish(
                descriptor, temporaryPath: temporaryPath, directory: directory, firstSequence: nextSequence,
                segmentBytes: segmentBytes)
        } catch {
            FileIO.closeFile(descriptor)
            throw error
        }
        do throws(LedgerError) {
            try FileIO.syncAll(directoryDescriptor, path: directory)
            try sealCurrentSegment(successor: nextSequence)
        } catch {
            FileIO.closeFile(descriptor)
            throw .logFailed(reason: error.description)
        }
        replaceSegment(descriptor: descriptor, path: published.path, header: published.header)
        precondition(segmentPath == published.path, "the published segment is the current one")
    }

    /// Gives a prepared file (allocated, synced, open as `descriptor`) the header of the segment that starts at
    /// `firstSequence`, syncs it, and renames it into the log: a segment appears in the log only whole. On an
    /// error the temporary file is removed (the descriptor stays the caller's). The caller syncs the directory.
    static func publish(
        _ descriptor: Int32, temporaryPath: String, directory: String, firstSequence: UInt64, segmentBytes: Int
    ) throws(LedgerError) -> (path: String, header: WALSegment.Header) {
        precondition(descriptor >= 0 && firstSequence >= 1, "a prepared file for a segment from a sequence")
        let path = directory + "/" + WALSegment.fileName(firstSequence: firstSequence)
        do throws(LedgerError) {
            let fresh = WALSegment.Header(firstSequence: firstSequence, segmentBytes: Int64(segmentBytes))
            let written = try WALSegment.writeBothSlots(fresh, descriptor: descriptor, path: temporaryPath)
            precondition(written.firstSequence == firstSequence && written.nextFirstSequence == 0, "a fresh header")
            // The end mark before the first batch: a recycled file holds an older segment's records there, and a
            // crash before the first batch must leave a segment that reads as empty.
            let start = Int64(WALSegment.recordsStart)
            try FileIO.writeZeros(descriptor, range: start..<(start + Int64(endMarkBytes)), path: temporaryPath)
            try FileIO.syncData(descriptor, path: temporaryPath)
            try FileIO.rename(temporaryPath, path)
            return (path, written)
        } catch {
            try? FileIO.remove(temporaryPath)
            throw error
        }
    }
}
