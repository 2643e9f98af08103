import Ledger

extension SwitchServer {
    /// Holds the log a configured standby has not copied yet (`"standby"`), before any snapshot of this run.
    func startStandbyHold() {
        guard let standby = configuration.standby else { return }
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
