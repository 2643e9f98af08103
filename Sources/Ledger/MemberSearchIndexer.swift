import Foundation
import Synchronization
import SystemCalls

/// Keeps the member search's index (`MemberSearchIndex`) current without touching a serving shard: at its first
/// step it reads every shard as a checkpoint view (`Ledger.shardView`, read-only, into this thread's memory, one
/// shard at a time), then takes each durable record after the view's end (a view fed by the switch's
/// `LogViewReader`), applying what each record tells (`MemberFact`). Nothing of its own is on disk: a restart
/// rebuilds the index the same way. Its log consumer ("search") holds each shard's log from the view's end on;
/// behind by more than its bound, a snapshot drops the records anyway and the indexer reads that shard's view
/// again (counted in `viewsReread`).
public final class MemberSearchIndexer: LogView, @unchecked Sendable {
    /// After a view that could not be read, the next try.
    static let viewRetryMs: UInt64 = 1_000

    public let index: MemberSearchIndex
    let registration: LogViewRegistration
    private let ledger: Ledger
    /// Per shard, the last log sequence applied (reader thread only).
    private var marks: [UInt64]
    private var loaded = false
    /// When the views may be read again after a failed read (monotonic ns; reader thread only).
    private var nextLoadNs: UInt64 = 0
    private let ready = Atomic<Bool>(false)
    private let rereads = Atomic<UInt64>(0)
    /// What the records of the read in progress tell (reader thread only), and the decider they are read with.
    private var facts: [MemberFact] = []
    private var decider: (any Decider)?

    public init(
        ledger: Ledger, index: MemberSearchIndex, holdRecordsMax: UInt64, log: @escaping @Sendable (String) -> Void
    ) {
        self.ledger = ledger
        self.index = index
        registration = LogViewRegistration(name: "search", ledger: ledger, holdRecordsMax: holdRecordsMax, log: log)
        marks = Array(repeating: 0, count: ledger.shardCount)
        // Hold everything (within the bound) until each shard's view says where the tail starts.
        for shard in 0..<ledger.shardCount { registration.consumer.advance(shard: shard, from: 1) }
    }

    /// True once every shard's view was read: searches before that would miss members.
    public var isReady: Bool { ready.load(ordering: .acquiring) }
    /// Shard views read again after a gap in a log, and failed reads (retried), since start.
    public var viewsReread: UInt64 { rereads.load(ordering: .relaxed) }
    public var readFailures: UInt64 { registration.readFailures }

    /// Reads the views first (again a second later while one cannot be read); then takes records.
    func beginStep() -> Bool {
        decider = ledger.configuration.decider
        guard !loaded else { return true }
        let now = monotonicNanoseconds()
        guard now >= nextLoadNs else { return false }
        loaded = loadViews()
        if loaded { ready.store(true, ordering: .releasing) } else { nextLoadNs = now + Self.viewRetryMs * 1_000_000 }
        return loaded
    }

    func mark(shard: Int) -> UInt64 { marks[shard] }

    func take(shard: Int, sequence: UInt64, body: borrowing WALRecord.Body) {
        precondition(loaded && sequence > marks[shard], "records past the view's end, once it is read")
        if let fact = WALRecord.memberFact(of: body, decider: decider) { facts.append(fact) }
    }

    func endRead(shard: Int, through: UInt64, skipped: UInt64, unreadable: UInt64) throws(LedgerError) {
        precondition(through > marks[shard], "a read ends past the mark")
        defer { facts.removeAll(keepingCapacity: true) }
        if skipped > 0 {
            // Records deleted before they were read: the view has what they did.
            rereads.add(1, ordering: .relaxed)
            registration.note("member search: shard \(shard): \(skipped) log records were dropped before they were read; reading its view again")
            try loadView(shard: shard)
            return
        }
        for fact in facts { index.apply(fact) }
        marks[shard] = through
        registration.consumer.advance(shard: shard, from: through + 1)
    }

    func abandonRead(shard: Int) { facts.removeAll(keepingCapacity: true) }

    func endStep() {}

    /// Nothing of the index is on disk.
    func commit() {}

    /// Reads every shard's view into the index; false when one could not be read (logged, retried).
    @discardableResult
    public func loadViews() -> Bool {
        for shard in 0..<ledger.shardCount {
            do throws(LedgerError) { try loadView(shard: shard) } catch {
                registration.failed("member search: shard \(shard): cannot read its checkpoint view: \(error)")
                return false
            }
        }
        return true
    }

    private func loadView(shard: Int) throws(LedgerError) {
        let last = try Self.load(
            shard: shard, directory: ledger.directory, configuration: ledger.configuration, into: index)
        marks[shard] = last
        registration.consumer.advance(shard: shard, from: last + 1)
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
}
