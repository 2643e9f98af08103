#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import SystemCalls

/// The movements history's durable store (DATA/history/, docs/history.md): fixed-size movement records in files of
/// `recordsPerFile` (named by their first seq), a file of cards that joined a member (`cards`: 32 bytes each, card
/// then member), and a progress mark (`progress`: the next seq, the cards kept and each shard's last indexed log
/// sequence), written atomically after the records and cards it covers are synced (`commit`, which the indexer
/// calls about once a second: a sync per read competed with the shards' group commits for the disk). In RAM: per
/// member its last movement's seq and balances, per card its member; both bounded.
///
/// One writer (the indexer thread) and any number of readers (admin queries). The writer reads its own maps
/// without the lock and changes them only under it; readers take the lock, and see the movements added.
public final class HistoryStore: @unchecked Sendable {
    /// What the store knows of one member: its last movement and its balances after it.
    struct MemberHead {
        var lastSeq: UInt64
        var balances: (points: Int64, credit: Int64, gift: Int64)
    }

    public struct Limits: Sendable {
        public var membersMax: Int
        public var cardsMax: Int
        public var recordsPerFile: Int
        public var retentionMs: Int64

        public init(membersMax: Int, cardsMax: Int, recordsPerFile: Int = 65_536, retentionMs: Int64) {
            precondition(membersMax >= 1 && cardsMax >= 1 && recordsPerFile >= 1 && retentionMs >= 1, "history limits")
            self.membersMax = membersMax
            self.cardsMax = cardsMax
            self.recordsPerFile = recordsPerFile
            self.retentionMs = retentionMs
        }
    }

    /// Counters for health and metrics.
    public struct Counters: Sendable, Equatable {
        public var movements: UInt64 = 0
        /// Log records the history never saw: deleted before it read them (the hold's bound), or unreadable.
        public var recordsSkipped: UInt64 = 0
        /// Movements not kept because the member map was full (`membersMax`).
        public var movementsRefused: UInt64 = 0
        public var filesDropped: UInt64 = 0
    }

    let directory: String
    let limits: Limits
    let shardCount: Int
    private let lock = NSLock()
    /// Per member its head, per joined card its member: open-addressed tables (`KeyMap`), each looked up for
    /// every change indexed, where a Swift dictionary's SipHash cost more than the rest of the lookup.
    var heads: KeyMap<CardHash, MemberHead>
    var cardMembers: KeyMap<CardHash, CardHash>
    /// First seqs of the files kept, oldest first; the last is the one appended to.
    var files: [UInt64] = []
    var appendDescriptor: Int32 = -1 {
        didSet { appendWriteBehind = WriteBehind(descriptor: appendDescriptor) }
    }
    /// The appends' writeback started every `WriteBehind.windowBytes` (writer only): the sync about once a second
    /// then finds little left, instead of a second's movements at once in the disk queue the log's fdatasync uses.
    private var appendWriteBehind = WriteBehind(descriptor: -1)
    var cardsDescriptor: Int32 = -1
    /// The next seq to give, and how many cards the cards file holds (both as synced).
    var nextSeq: UInt64 = 1
    var cardsCount: UInt64 = 0
    /// Per shard: the last log sequence whose changes are in the store.
    var indexedThrough: [UInt64]
    var counters = Counters()
    /// Whether movements or cards were written since the last sync (writer only).
    private var unsynced = false
    /// Per shard, the last log sequence the mark on disk covers (writer only).
    private(set) var durableThrough: [UInt64]
    /// A failed sync (writer only): what the files hold is unknown from then on, so nothing more is added or
    /// marked (fail-stop, as the shards do); a restart cuts back to the last mark and writes the rest again.
    private var syncFailure: LedgerError?

    /// Opens (creating) `root`/history, dropping what was written after the last mark, and rebuilds the maps from
    /// the cards file and the movement files kept.
    public init(root: String, shardCount: Int, limits: Limits) throws(LedgerError) {
        precondition(shardCount >= 1 && !root.isEmpty, "a history of a ledger's shards")
        directory = root + "/history"
        self.limits = limits
        self.shardCount = shardCount
        indexedThrough = Array(repeating: 0, count: shardCount)
        durableThrough = indexedThrough
        heads = KeyMap(countMax: limits.membersMax)
        cardMembers = KeyMap(countMax: limits.cardsMax)
        if !FileIO.exists(directory) { try FileIO.makeDirectory(directory) }
        try readMark()
        try openCards()
        try openMovementFiles()
        durableThrough = indexedThrough
        precondition(indexedThrough.count == shardCount && nextSeq >= 1, "a mark per shard, seqs from 1")
        precondition(heads.count <= limits.membersMax && cardMembers.count <= limits.cardsMax, "maps within limits")
    }

    deinit {
        if appendDescriptor >= 0 { FileIO.closeFile(appendDescriptor) }
        if cardsDescriptor >= 0 { FileIO.closeFile(cardsDescriptor) }
    }

    public var statistics: Counters { lock.withLock { counters } }
    public var indexedSequences: [UInt64] { lock.withLock { indexedThrough } }

    static func fileName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        precondition(digits.count <= 20, "a seq has at most 20 digits")
        return "movements-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".hist"
    }

    private func path(firstSeq: UInt64) -> String { directory + "/" + Self.fileName(firstSeq: firstSeq) }

    // MARK: Opening (HistoryStore+Open.swift; before the store is shared)

    var cardsKept: UInt64 { cardsCount }
    func setMark(nextSeq: UInt64, cardsCount: UInt64, marks: [UInt64]) {
        precondition(nextSeq >= 1 && marks.count == shardCount, "a checked mark: seqs from 1, a mark per shard")
        self.nextSeq = nextSeq
        self.cardsCount = cardsCount
        indexedThrough = marks
    }
    func setCardsDescriptor(_ descriptor: Int32) { cardsDescriptor = descriptor }
    func setAppendDescriptor(_ descriptor: Int32) { appendDescriptor = descriptor }
    func restoreFiles(_ firsts: [UInt64]) { files = firsts }
    func restoreCards(_ pairs: [(CardHash, CardHash)]) {
        for (card, member) in pairs where card != .zero && cardMembers.count < limits.cardsMax {
            cardMembers.set(card, member)
        }
        precondition(cardMembers.count <= limits.cardsMax, "the card map within cardsMax")
    }
    func restoreHeads(_ records: [HistoryRecord]) {
        for record in records {
            // The zero hash is no member (and no key of the map): a record of it was never written.
            guard record.member != .zero else { continue }
            var head = heads[record.member] ?? MemberHead(lastSeq: 0, balances: (0, 0, 0))
            guard heads[record.member] != nil || heads.count < limits.membersMax else { continue }
            head.lastSeq = record.seq
            switch record.asset {
            case 0: head.balances.points = record.balanceAfter
            case 1: head.balances.credit = record.balanceAfter
            default: head.balances.gift = record.balanceAfter
            }
            heads.set(record.member, head)
            counters.movements += 1
        }
        precondition(heads.count <= limits.membersMax, "the member map within membersMax")
    }

    // MARK: Indexing (writer thread)

    /// Turns `changes` (one shard's, in log order, through log sequence `through`) into movements, writes and
    /// syncs them with the cards that joined, then the mark (`add`, then `commit`).
    public func index(shard: Int, changes: [RecordChange], through: UInt64, skipped: UInt64) throws(LedgerError) {
        try add(shard: shard, changes: changes, through: through, skipped: skipped)
        try commit()
    }

    /// Turns `changes` (one shard's, in log order, through log sequence `through`) into movements and writes them
    /// with the cards that joined: queries see them at once, the mark covers them at the next `commit`.
    func add(shard: Int, changes: [RecordChange], through: UInt64, skipped: UInt64) throws(LedgerError) {
        if let syncFailure { throw syncFailure }
        precondition(shard >= 0 && shard < shardCount && through >= indexedThrough[shard], "indexing goes forward")
        var batch = HistoryBatch(
            store: self, firstSeq: nextSeq, shard: UInt8(truncatingIfNeeded: shard), changesMax: changes.count)
        for change in changes { batch.add(change) }
        precondition(batch.nextSeq == nextSeq + UInt64(batch.records.count), "a batch numbers its movements in order")
        try write(batch.records)
        try appendCards(batch.joined)
        var marks = indexedThrough
        marks[shard] = through
        lock.withLock {
            for (member, head) in batch.heads { heads.set(member, head) }
            for (card, member) in batch.joined { cardMembers.set(card, member) }
            nextSeq = batch.nextSeq
            cardsCount += UInt64(batch.joined.count)
            indexedThrough = marks
            counters.movements += UInt64(batch.records.count)
            counters.movementsRefused += batch.refused
            counters.recordsSkipped += skipped
        }
        precondition(indexedThrough[shard] == through, "the shard's mark moved to what was indexed")
    }

    /// Syncs what was added since the last commit and writes the mark over it; returns each shard's last log
    /// sequence the mark covers (the log before it is no longer needed). A failed sync is kept: every later call
    /// throws it.
    @discardableResult
    func commit() throws(LedgerError) -> [UInt64] {
        if let syncFailure { throw syncFailure }
        guard unsynced || durableThrough != indexedThrough else { return durableThrough }
        if unsynced {
            if appendDescriptor >= 0, let first = files.last { try sync(appendDescriptor, path(firstSeq: first)) }
            try sync(cardsDescriptor, directory + "/cards")
            unsynced = false
        }
        try writeMark(nextSeq: nextSeq, cardsCount: cardsCount, marks: indexedThrough)
        durableThrough = indexedThrough
        return durableThrough
    }

    /// `fdatasync`, its failure kept.
    private func sync(_ descriptor: Int32, _ path: String) throws(LedgerError) {
        do { try FileIO.syncData(descriptor, path: path) } catch {
            syncFailure = error
            throw error
        }
    }

    func head(_ member: CardHash) -> MemberHead? { heads[member] }
    func member(of card: CardHash) -> CardHash? { cardMembers[card] }
    var memberCount: Int { heads.count }
    var cardCount: Int { cardMembers.count }

    /// Appends `records` to the files (a new file every `recordsPerFile`) and syncs them.
    private func write(_ records: [HistoryRecord]) throws(LedgerError) {
        guard !records.isEmpty else { return }
        var start = 0
        while start < records.count {
            let seq = records[start].seq
            if files.isEmpty || seq >= files.last! + UInt64(limits.recordsPerFile) { try startFile(firstSeq: seq) }
            let room = Int(files.last! + UInt64(limits.recordsPerFile) - seq)
            precondition(seq >= files.last! && room >= 1 && room <= limits.recordsPerFile, "a file has room for the seq")
            let end = min(records.count, start + room)
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: (end - start) * HistoryRecord.bytes, alignment: 8)
            defer { bytes.deallocate() }
            for index in start..<end {
                records[index].write(to: bytes.baseAddress! + (index - start) * HistoryRecord.bytes)
            }
            let offset = Int64(seq - files.last!) * Int64(HistoryRecord.bytes)
            let path = path(firstSeq: files.last!)
            unsynced = true
            try FileIO.writeAll(appendDescriptor, UnsafeRawBufferPointer(bytes), offset: offset, path: path)
            appendWriteBehind.wrote(through: offset + Int64(bytes.count))
            start = end
        }
        precondition(start == records.count, "every movement is written")
    }

    private func startFile(firstSeq: UInt64) throws(LedgerError) {
        precondition(firstSeq >= 1 && (files.last.map { firstSeq > $0 } ?? true), "files are started in seq order")
        // The mark will cover the file being closed whole: it must hold all it was given first.
        if unsynced, appendDescriptor >= 0, let last = files.last { try sync(appendDescriptor, path(firstSeq: last)) }
        if appendDescriptor >= 0 { FileIO.closeFile(appendDescriptor) }
        appendDescriptor = -1
        appendDescriptor = try FileIO.openFile(path(firstSeq: firstSeq), flags: O_RDWR | O_CREAT)
        // Its whole size as zeros in the page cache first (`DirectWrites.prepare`): the appends then overwrite
        // cached pages. A restart cuts the last file back to what the mark covers.
        let bytes = Int64(limits.recordsPerFile) * Int64(HistoryRecord.bytes)
        _ = try DirectWrites.prepare(appendDescriptor, path: path(firstSeq: firstSeq), range: 0..<bytes)
        try FileIO.syncDirectory(directory)
        lock.withLock { files.append(firstSeq) }
    }

    private func appendCards(_ joined: [(CardHash, CardHash)]) throws(LedgerError) {
        guard !joined.isEmpty else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: joined.count * 32, alignment: 8)
        defer { buffer.deallocate() }
        var writer = ByteWriter(base: buffer.baseAddress!, capacity: buffer.count)
        for (card, member) in joined {
            writer.put(card)
            writer.put(member)
        }
        precondition(writer.offset == buffer.count, "32 bytes per joined card")
        let path = directory + "/cards"
        unsynced = true
        try FileIO.writeAll(cardsDescriptor, UnsafeRawBufferPointer(buffer), offset: Int64(cardsCount) * 32, path: path)
    }

    // MARK: Retention (writer thread)

    /// Drops whole files whose newest movement is older than the retention (never the file being appended to).
    public func dropExpired(nowMs: Int64) throws(LedgerError) {
        defer { precondition(files.count <= 1 || files[0] < files[1], "the files kept stay in seq order") }
        while files.count > 1 {
            let first = files[0]
            let lastSeq = files[1] - 1
            guard let last = try readRecord(seq: lastSeq, fileFirst: first), nowMs - last.timeMs > limits.retentionMs
            else { return }
            lock.withLock {
                files.removeFirst()
                counters.filesDropped += 1
            }
            try FileIO.remove(path(firstSeq: first))
            try FileIO.syncDirectory(directory)
        }
    }

    // MARK: Queries (any thread)

    /// A page of the member's movements after seq `after`, oldest first, at most `limit`; `next` is the seq to
    /// ask after for the following page (nil: none). Walks the member's chain back from its last movement to
    /// `after`: the cost is the number of the member's movements after the cursor (kept ones only).
    public func movements(member: CardHash, after: UInt64, limit: Int) throws(LedgerError) -> (
        items: [HistoryRecord], next: UInt64?
    ) {
        precondition(limit >= 1, "a page holds at least one movement")
        let (start, kept) = lock.withLock { (heads[member]?.lastSeq ?? 0, files) }
        var newestFirst: [HistoryRecord] = []
        var seq = start
        var more = false
        while seq > after {
            guard let fileFirst = kept.last(where: { $0 <= seq }), let record = try readRecord(seq: seq, fileFirst: fileFirst)
            else { break }
            if newestFirst.count == limit {
                newestFirst.removeFirst()
                more = true
            }
            newestFirst.append(record)
            seq = record.previous
        }
        let items = Array(newestFirst.reversed())
        precondition(items.count <= limit, "a page holds at most its limit")
        assert(zip(items, items.dropFirst()).allSatisfy { $0.seq < $1.seq }, "a page is oldest first")
        return (items, more ? items.last?.seq : nil)
    }

    /// Whether the store has seen the member (a movement or a card), so an unknown id can be told from a quiet one.
    public func knows(member: CardHash) -> Bool {
        lock.withLock { heads[member] != nil || cardMembers[member] != nil }
    }

    private func readRecord(seq: UInt64, fileFirst: UInt64) throws(LedgerError) -> HistoryRecord? {
        precondition(seq >= fileFirst && fileFirst >= 1, "a seq of the file")
        let path = path(firstSeq: fileFirst)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        // A file dropped by retention meanwhile: the member's older history is gone.
        guard descriptor >= 0 else { return nil }
        defer { FileIO.closeFile(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: HistoryRecord.bytes, alignment: 8)
        defer { buffer.deallocate() }
        let count = try FileIO.readFully(
            descriptor, buffer, offset: Int64(seq - fileFirst) * Int64(HistoryRecord.bytes), path: path)
        guard count == HistoryRecord.bytes else { return nil }
        let record = HistoryRecord.read(buffer.baseAddress!)
        guard let record, record.seq == seq else {
            throw .damagedLog(
                file: path, offset: Int64(seq - fileFirst) * 64, reason: "no intact history record of seq \(seq)")
        }
        return record
    }
}
