import Glibc
import Network

extension LoadRunner {
    /// Timeout scans every 10 ms, a progress line and a timeline sample every second.
    func periodic(now: UInt64) {
        if now >= nextTimeoutScanNs {
            expireRequests(now: now)
            nextTimeoutScanNs = now + LoadRunner.timeoutScanPeriodNs
        }
        if now >= nextProgressNs {
            closeSecond(now: now)
            nextProgressNs += 1_000_000_000
            if nextProgressNs <= now { nextProgressNs = now + 1_000_000_000 }
        }
    }

    /// Requests unanswered for longer than the timeout are errors; their slots are freed.
    func expireRequests(now: UInt64) {
        let timeoutNs = configuration.timeoutNs
        for connection in connections where !connection.isClosed && connection.table.count > 0 {
            for slot in 0..<connection.table.slots.count {
                let entry = connection.table.slots[slot]
                guard entry.stan != 0, now - min(now, entry.sentNs) > timeoutNs else { continue }
                connection.table.release(slot)
                inFlightTotal -= 1
                statistics.errors[LoadErrorKind.timeout.rawValue] += 1
            }
        }
    }

    /// Appends the second's sample to the timeline and prints the progress line.
    func closeSecond(now: UInt64) {
        let errors = statistics.errorCount
        let sample = SecondSample(
            elapsedSeconds: Double(now - startNs) / 1e9, warmup: nextProgressNs - 1_000_000_000 < measureStartNs,
            answered: secondAnswered,
            errors: errors - secondErrorsBefore, p50Ns: second.valueAt(percentile: 50),
            p99Ns: second.valueAt(percentile: 99), maximumNs: second.maximumNs)
        if timeline.count < LoadRunner.timelineSecondsMax { timeline.append(sample) }
        secondErrorsBefore = errors
        secondAnswered = 0
        second.reset()
        guard let descriptor = configuration.progressDescriptor else { return }
        var line = "\(ReportFormat.fixed(sample.elapsedSeconds, decimals: 1))s"
        line += sample.warmup ? " warm-up" : ""
        line += " sent \(statistics.sent) answered \(statistics.answered) rate \(sample.answered)/s"
        line += " p99 \(ReportFormat.milliseconds(sample.p99Ns)) ms errors \(errors) in-flight \(inFlightTotal)\n"
        line.withUTF8 { bytes in _ = write(descriptor, bytes.baseAddress, bytes.count) }
    }

    /// Closes the books: requests the schedule called for but never sent, the measured window, the result.
    func finish(now: UInt64) -> LoadResult {
        if stoppedIssuingNs == 0 { stoppedIssuingNs = now }
        if let schedule {
            var due = schedule.dueCount(at: min(stoppedIssuingNs, endNs - 1))
            if let limit = configuration.requestCount {
                // With a count, only the requests up to the count were ever owed.
                due = min(due, issuedTotal - issuedMeasured + limit)
            }
            statistics.errors[LoadErrorKind.unsent.rawValue] += due - min(due, issuedTotal)
        }
        expireRequests(now: now &+ configuration.timeoutNs &+ 1)
        // A last part-second over half a second long gets its own sample; a shorter one would draw a false drop.
        if secondAnswered > 0 && now + 500_000_000 >= nextProgressNs { closeSecond(now: now) }
        for connection in connections { connection.closeSocket() }
        let measuredEnd = max(stoppedIssuingNs, lastMeasuredAnswerNs)
        return LoadResult(
            target: configuration.target.description, connections: configuration.connections,
            inFlightPerConnection: configuration.inFlightPerConnection, ratePerSecond: configuration.ratePerSecond,
            mix: configuration.mix.description, dialectName: configuration.dialect.name,
            warmupNs: configuration.warmupNs, measuredNs: measuredEnd - min(measuredEnd, measureStartNs),
            statistics: statistics, timeline: timeline)
    }

    /// Seconds of timeline kept (the longest run plus its warm-up and drain).
    static let timelineSecondsMax = 7300
}
