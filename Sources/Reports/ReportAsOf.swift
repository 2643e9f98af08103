import Ledger

/// How fresh a report is: per shard, the last log record its view holds, the checkpoint it started from and the
/// newest record time. Printed by the CLI on standard error; the HTTP answer names the moment reading began.
public struct ReportAsOf: Sendable, Equatable, CustomStringConvertible {
    public struct Shard: Sendable, Equatable {
        public var shard: Int
        public var lastSequence: UInt64
        public var snapshotSequence: UInt64
        public var newestRecordTimeMs: Int64?
    }
    public var shards: [Shard] = []

    public var description: String {
        shards.map { shard in
            var text = "shard \(shard.shard) seq \(shard.lastSequence) (checkpoint \(shard.snapshotSequence)"
            if let time = shard.newestRecordTimeMs { text += ", newest record " + UTCTime.rfc3339(milliseconds: time) }
            return text + ")"
        }.joined(separator: "; ")
    }
}
