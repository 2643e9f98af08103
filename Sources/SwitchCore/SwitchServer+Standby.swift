import HTTP
import Ledger
import Metrics

extension SwitchServer {
    /// Holds the log a configured standby has not copied yet (`"standby"`), before any snapshot of this run.
    func startStandbyHold() {
        guard let standby = configuration.standby else { return }
        precondition(adminMetrics.standbyHold.withLock { $0 } == nil, "the standby's hold starts once")
        let hold = StandbyHold(
            standby: standby.directory, ledger: runtime.ledger, recordsMax: UInt64(standby.logRecordsHeldMax))
        hold.start()
        adminMetrics.standbyHold.withLock { $0 = hold }
        log.info(
            "standby \(standby.directory): the log it has not copied is kept (at most \(standby.logRecordsHeldMax) "
                + "records per shard behind a snapshot)", priority: .essential)
    }

    func stopStandbyHold() {
        adminMetrics.standbyHold.withLock { $0 }?.stop()
    }
}

extension SwitchServer {
    /// The standby's part of `GET /v1/health` while one is configured: how far behind it is, the records a
    /// snapshot deleted before it copied them (it must be seeded again: `ledger follow` stops naming them), and the
    /// failed reads of its log (its directory missing: not seeded yet). None makes the switch unhealthy.
    static func writeStandbyHealth(_ hold: StandbyHold, root: String, _ json: inout JSONWriter) {
        json.key("standby")
        json.beginObject()
        json.member("directory", hold.directory)
        json.member("recordsBehind", Int64(clamping: hold.recordsBehind(root: root)))
        json.member("recordsReleased", Int64(clamping: hold.consumer.recordsReleased))
        json.member("readFailures", Int64(clamping: hold.readFailures))
        json.endObject()
    }
}

extension AdminMetrics {
    /// The standby's counts in `GET /metrics` (nothing while none is configured).
    func writeStandby(_ text: inout PrometheusText) {
        guard let hold = standbyHold.withLock({ $0 }) else { return }
        let samples: [(String, PrometheusText.MetricType, String, UInt64)] = [
            (
                "loyalty_standby_behind_records", .gauge,
                "Durable log records (all shards) the standby has not acknowledged yet.",
                hold.recordsBehind(root: ledger.directory)
            ),
            (
                "loyalty_standby_records_released_total", .counter,
                "Log records deleted past standby.logRecordsHeldMax before the standby copied them (seed it again).",
                hold.consumer.recordsReleased
            ),
            (
                "loyalty_standby_read_failures_total", .counter,
                "Failed reads of the standby's log marks (its directory missing: not seeded yet; retried every second).",
                hold.readFailures
            ),
        ]
        text.singleSampleFamilies(samples)
    }
}
