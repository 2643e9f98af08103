import HTTP
import Ledger
import Metrics

extension SwitchServer {
    /// Starts the scheduled backups (`"backup"`), after the ledger opened; the first one runs at once.
    func startBackups() {
        guard let backup = configuration.backup else { return }
        precondition(adminMetrics.backups.withLock { $0 } == nil, "the backups start once")
        let log = self.log
        let schedule = BackupSchedule(
            configuration: backup, dataDirectory: configuration.dataDirectory, decider: runtime.decider,
            wallClockMs: runtime.clockMs, log: { line in log.info(line, priority: .essential) })
        schedule.start()
        adminMetrics.backups.withLock { $0 = schedule }
    }

    /// Stops the schedule before the ledger closes (a backup in progress finishes first).
    func stopBackups() {
        adminMetrics.backups.withLock { $0 }?.stop()
    }

    /// The backups' part of `GET /v1/health` while they are configured: the last good one and the failures. A
    /// failed backup does not make the switch unhealthy: authorizations go on; the operator sees it here.
    static func writeBackupHealth(_ schedule: BackupSchedule, _ json: inout JSONWriter) {
        let status = schedule.status.withLock { $0 }
        precondition(status.lastSuccessMs == nil || status.successes >= 1, "a last good backup was counted")
        json.key("backup")
        json.beginObject()
        json.member("directory", schedule.configuration.directory)
        if let last = status.lastSuccessMs {
            json.member("lastSuccessAt", UTCTime.rfc3339(milliseconds: last))
            json.member("lastDurationMs", status.lastDurationMs)
            json.member("lastBytes", status.lastBytes)
        }
        json.member("successes", Int64(status.successes))
        json.member("failures", Int64(status.failures))
        if let failure = status.lastFailure { json.member("lastFailure", failure) }
        json.endObject()
    }
}

extension AdminMetrics {
    /// The backups' counters and the last good backup's time in `GET /metrics` (nothing while none is configured).
    func writeBackups(_ text: inout PrometheusText) {
        guard let schedule = backups.withLock({ $0 }) else { return }
        let status = schedule.status.withLock { $0 }
        precondition(status.lastSuccessMs == nil || status.successes >= 1, "a last good backup was counted")
        text.family("loyalty_backups_total", type: .counter, help: "Scheduled backups written and verified.")
        text.sample(value: status.successes)
        text.family("loyalty_backup_failures_total", type: .counter, help: "Scheduled backups that failed (none kept).")
        text.sample(value: status.failures)
        text.family(
            "loyalty_backup_last_success_timestamp_seconds", type: .gauge,
            help: "When the last good backup was taken (0: none yet).")
        text.sample(value: UInt64(max(0, (status.lastSuccessMs ?? 0) / 1000)))
        text.family("loyalty_backup_last_bytes", type: .gauge, help: "Size of the last good backup.")
        text.sample(value: UInt64(max(0, status.lastBytes)))
    }
}
