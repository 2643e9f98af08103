@testable import Ledger

extension LogView {
    /// One step of a log view reader of its own over `root`'s shards: what the switch's reader does for all its
    /// views, for a test that feeds one view.
    @discardableResult
    func indexOnce(root: String, shardCount: Int = 1) -> Bool {
        let reader = LogViewReader(root: root, shardCount: shardCount)
        reader.add(self)
        return reader.step()
    }
}
