import Ledger

extension SwitchServer {
    /// Starts the thread that feeds the history, the sales store and the member search from one read of the log
    /// (nothing when all three are off).
    func startLogViews() {
        if logViews.viewCount > 0 { logViews.start() }
    }

    /// Stops the log views' thread (after the loops stopped; what the history and the sales store took is durable
    /// at every step, and the search keeps nothing on disk).
    func stopLogViews() {
        logViews.stop()
    }
}
