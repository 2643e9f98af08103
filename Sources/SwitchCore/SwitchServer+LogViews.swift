import Ledger

extension SwitchServer {
    /// Starts the thread that feeds the history, the sales store and the member search from one read of the log
    /// (nothing when all three are off).
    func startLogViews() {
        if logViews.viewCount > 0 { logViews.start() }
    }

    /// Stops the log views' thread (after the loops stopped, before the ledger's last snapshot): its last commit
    /// makes what the history and the sales store took durable and releases the log through it, so that snapshot
    /// can delete the segments they read; the search keeps nothing on disk.
    func stopLogViews() {
        logViews.stop()
    }
}
