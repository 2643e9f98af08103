import Foundation
import Synchronization

/// Keeps the member search's index (`MemberSearchIndex`) current without touching a serving shard: at start it
/// reads every shard as a checkpoint view (`Ledger.shardView`, read-only, into this thread's memory, one shard at a
/// time) and then tails each shard's log read-only (`LogTail`, never past the durable mark), applying what each
/// record tells (`MemberFact`). Nothing of its own is on disk: a restart rebuilds the index the same way. Its log
/// consumer ("search") holds each shard's log from the view's end on; behind by more than its bound, a snapshot
/// drops the records anyway and the indexer reads that shard's view again (counted in `viewsReread`).
public final class MemberSearchIndexer: @unchecked Sendable {
    public static let recordsPerReadMax = 4_096
    /// Between reads that found nothing more: the search is at most this far behind the log.
    public static let pollIntervalMs = 100

    public let index: MemberSearchIndex
    private let ledger: Ledger
    /// The tails, the log consumer "search" and the thread.
    private let loop: LogConsumerLoop
    /// Per shard, the last log sequence applied (indexer thread only).
    private var marks: [UInt64]
    private var loaded = false
    private let ready = Atomic<Bool>(false)
    private let rereads = Atomic<UInt64>(0)

    public init(
        ledger: Ledger, index: MemberSearchIndex, holdRecordsMax: UInt64, log: @escaping @Sendable (String) -> Void
    ) {
        self.ledger = ledger
        self.index = index
        loop = LogConsumerLoop(
            name: "search", threadName: "member-search", root: ledger.directory, ledger: ledger,
            holdRecordsMax: holdRecordsMax, pollIntervalMs: Self.pollIntervalMs, log: log)
        marks = Array(repeating: 0, count: ledger.shardCount)
        // Hold everything (within the bound) until each shard's view says where the tail starts.
        for shard in 0..<ledger.shardCount { loop.consumer.advance(shard: shard, from: 1) }
    }

    /// True once every shard's view was read: searches before that would miss members.
    public var isReady: Bool { ready.load(ordering: .acquiring) }
    /// Shard views read again after a gap in a log, and failed reads (retried), since start.
    public var viewsReread: UInt64 { rereads.load(ordering: .relaxed) }
    public var readFailures: UInt64 { loop.readFailures }

    /// Reads the views first (again a second later while one cannot be read), then tails the logs.
    public func start() {
        loop.start { [self] in
            guard loaded else {
                loaded = loadViews()
                if loaded { ready.store(true, ordering: .releasing) }
                return loaded ? .now : .after(milliseconds: 1_000)
            }
            return indexOnce() ? .now : .poll
        }
    }

    public func stop() { loop.stop() }

    /// Reads every shard's view into the index; false when one could not be read (logged, retried).
    @discardableResult
    public func loadViews() -> Bool {
        for shard in 0..<ledger.shardCount {
            do throws(LedgerError) { try loadView(shard: shard) } catch {
                loop.failed("member search: shard \(shard): cannot read its checkpoint view: \(error)")
                return false
            }
        }
        return true
    }

    private func loadView(shard: Int) throws(LedgerError) {
        let last = try Self.load(
            shard: shard, directory: ledger.directory, configuration: ledger.configuration, into: index)
        marks[shard] = last
        loop.consumer.advance(shard: shard, from: last + 1)
    }

    /// Reads one shard of `directory` as a checkpoint view into `index` (members and their cards); returns the
    /// last log sequence the view holds. Read-only: also for tools on a directory a switch serves.
    public static func load(
        shard: Int, directory: String, configuration: LedgerConfiguration, into index: MemberSearchIndex
    ) throws(LedgerError) -> UInt64 {
        let view = try Ledger.shardView(directory: directory, shard: shard, configuration: configuration)
        for member in 0..<view.memberCount { index.upsert(view.searchRow(member)) }
        for card in 0..<view.cardCount {
            guard let record = view.card(card) else { continue }
            index.addCard(record.masked, member: record.member)
        }
        return view.lastSequence
    }

    /// One read of every shard's log; true when a shard had more than one read takes.
    @discardableResult
    public func indexOnce() -> Bool {
        var more = false
        let decider = ledger.configuration.decider
        for shard in loop.tails.indices {
            do throws(LedgerError) {
                let batch = try loop.tails[shard].memberFacts(
                    after: marks[shard], recordsMax: Self.recordsPerReadMax, decider: decider)
                if batch.gap.recordsSkipped > 0 {
                    // Records deleted before they were read: the view has what they did.
                    rereads.add(1, ordering: .relaxed)
                    loop.note("member search: shard \(shard): \(batch.gap.recordsSkipped) log records were dropped before they were read; reading its view again")
                    try loadView(shard: shard)
                    more = true
                    continue
                }
                for fact in batch.facts { apply(fact) }
                if batch.lastSequence - marks[shard] >= UInt64(Self.recordsPerReadMax) { more = true }
                marks[shard] = batch.lastSequence
                loop.consumer.advance(shard: shard, from: batch.lastSequence + 1)
            } catch {
                loop.failed("member search: shard \(shard): cannot read the log: \(error)")
            }
        }
        return more
    }

    func apply(_ fact: MemberFact) {
        if let card = fact.enrolledCard, index.row(fact.member) == nil {
            index.upsert(MemberSearchRow(id: fact.member, firstCard: card))
        }
        if let summary = fact.summary { index.update(fact.member, summary) }
        index.addCard(fact.card, member: fact.member)
        if let joined = fact.joinedCard { index.addCard(joined, member: fact.member) }
    }
}
