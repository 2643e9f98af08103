/// How a shard meets storage faults: a shortage (no space or descriptor for the next log segment) declines new
/// work before any of it is applied and heals by itself; a failed write or sync of the log stops the shard.
extension Shard {
    /// How long the shard may sleep with nothing queued: long enough to idle, short enough to sweep lots, make
    /// the acknowledged mark durable, and retry the log's room while it declines or lacks its reserve.
    var waitAtMostMs: Int {
        var wait = configuration.lotSweepIntervalMs > 0 ? configuration.lotSweepIntervalMs : Int.max
        if writer.isMarkUnsynced { wait = min(wait, configuration.idleMarkSyncMs) }
        if failure == nil && faults.condition != .serving { wait = min(wait, configuration.reserveRetryIntervalMs) }
        precondition(wait >= 0, "a wait is not negative")
        return wait == Int.max ? 0 : wait
    }

    /// Nothing arrived within the wait: sync the mark, and while declining try the log's room again, so that the
    /// shard's health turns back to serving without waiting for a request.
    func idle() {
        syncMarkWhenIdle()
        if failure == nil && faults.isDeclining && faults.deferred.isEmpty { _ = hasRoomForBatch() }
    }

    func syncMarkWhenIdle() {
        guard failure == nil, writer.isMarkUnsynced else { return }
        do {
            try writer.syncMark()
        } catch {
            stop(after: error, in: "log sync")
        }
    }

    /// Before the first record of a batch: true when the log has room for it; false when the shard declines
    /// (a shortage: retried, approvals resume once it clears) or stopped (a failure that puts the log in doubt).
    func hasRoomForBatch() -> Bool {
        guard failure == nil else { return false }
        let shortage: LedgerError?
        do {
            shortage = try writer.makeRoomForBatch()
        } catch {
            stop(after: error, in: "log segment change")
            return false
        }
        if let shortage {
            startDeclining(shortage)
            return false
        }
        if faults.isDeclining { stopDeclining() }
        precondition(writer.hasRoomInSegment, "a batch starts with room in its segment")
        return true
    }

    /// Answers `systemError` without applying anything. While the shard only declines (not stopped), transfer
    /// halves are kept for later instead: their other half is already logged on a peer.
    func decline(_ command: ShardCommand) {
        let isTransferHalf = command.kind.isTransferIn || command.kind == .transferDone || command.kind == .forwardCard
        if failure == nil && isTransferHalf {
            precondition(faults.deferred.count < queue.internalReserve, "deferred transfers beyond the reserve")
            faults.deferred.append(command)
            return
        }
        faults.declinedCount += 1
        deliverLater(command, LedgerReply(tag: command.tag, key: command.key, status: .systemError))
    }

    /// Transfer halves kept while declining go before the new batch; those the log still has no room for are
    /// kept again.
    func processDeferred() {
        guard !faults.deferred.isEmpty, failure == nil else { return }
        var waiting = faults.deferred
        faults.deferred.removeAll(keepingCapacity: true)
        for index in waiting.indices { process(&waiting[index]) }
        precondition(faults.deferred.count <= waiting.count, "deferred halves are kept at most once more")
    }

    private func startDeclining(_ shortage: LedgerError) {
        guard !faults.isDeclining else { return }
        faults.declinedCount = 0
        faults.decliningSinceNs = SegmentReserve.monotonicNs()
        faults.set(.declining(reason: shortage.description))
        configuration.logWarning(
            "shard \(index): declining every request (96, nothing applied): no room to start the next log segment: "
                + "\(shortage); retrying every \(configuration.reserveRetryIntervalMs) ms")
    }

    private func stopDeclining() {
        let seconds = Double(SegmentReserve.monotonicNs() &- faults.decliningSinceNs) / 1e9
        faults.set(writer.reserveProblem.map { .servingWithoutReserve(reason: $0.description) } ?? .serving)
        configuration.logWarning(
            "shard \(index): approving again: the next log segment was started after declining "
                + "\(faults.declinedCount) requests for \(String(format: "%.1f", seconds)) s")
    }

    /// After each batch: retries a failed reserve and says when the shard lost or regained it.
    func watchReserve() {
        guard failure == nil else { return }
        writer.maintainReserve()
        let problem = writer.reserveProblem
        switch faults.condition {
        case .serving:
            guard let problem else { return }
            faults.set(.servingWithoutReserve(reason: problem.description))
            configuration.logWarning(
                "shard \(index): the next log segment cannot be allocated (\(problem)): approving until the current "
                    + "one is full, then declining until it can; retrying every "
                    + "\(configuration.reserveRetryIntervalMs) ms")
        case .servingWithoutReserve:
            guard problem == nil else { return }
            faults.set(.serving)
            configuration.log("shard \(index): the next log segment is allocated again")
        case .declining, .stopped:
            return
        }
    }

    /// Fail-stop: the log could not be written or synced, so what is on disk is in doubt (after a failed
    /// fsync the kernel may have dropped the pages it could not write, and a retry may report success without
    /// them). The shard declines everything from now on, said once; a restart recovers from the disk.
    func stop(after error: LedgerError, in step: String) {
        precondition(failure == nil, "a shard stops once")
        failure = error
        faults.set(.stopped(reason: "\(step) failed: \(error)"))
        statistics.recordStop("\(step) failed: \(error)")
        configuration.logFailure(
            "shard \(index): \(step) failed, shard stopped (fail-stop; a restart recovers from the disk): \(error)")
    }
}
