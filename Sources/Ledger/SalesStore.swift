#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import SystemCalls

/// The sales store (DATA/sales/, docs/sales.md): approved purchases, payments, refunds and reversals with their
/// terminal, merchant and basket, in fixed-size records (`SaleEntry`), kept `retentionDays` after the log that
/// carried them is gone. Files come in pairs named by the UTC day of their first record (`<day>.sales`,
/// `<day>.items`); a new pair starts on the first record of a later day. A progress mark (`progress`) says what
/// is durable: each shard's last indexed log sequence and the entries and lines of the newest pair, written
/// atomically after both files are synced (`commit`, which the indexer calls about once a second: a sync per read
/// competed with the shards' group commits for the disk). Opening cuts the newest pair back to the mark and drops
/// newer pairs, and the indexer writes the rest again from the log.
///
/// One writer (the indexer thread), any number of readers: reports in the process see what was added, a reader
/// beside a serving switch (`init(readingBeside:)`) what the mark covers.
public final class SalesStore: @unchecked Sendable {
    public struct Limits: Sendable {
        public var retentionDays: Int
        /// The sales a reversal can be matched with (for its amount and kind), newest kept.
        public var originalsMax: Int

        public init(retentionDays: Int, originalsMax: Int = 1 << 20) {
            precondition(retentionDays >= 1 && originalsMax >= 1, "sales limits")
            self.retentionDays = retentionDays
            self.originalsMax = originalsMax
        }
    }

    public struct Counters: Sendable, Equatable {
        public var sales: UInt64 = 0
        /// Log records the store never saw (deleted before it read them, or unreadable).
        public var recordsSkipped: UInt64 = 0
        public var filesDropped: UInt64 = 0
    }

    static let markMagic: UInt32 = 0x5341_4C31  // "SAL1"
    static let markName = "progress"

    let directory: String
    public let shardCount: Int
    let limits: Limits
    private let lock = NSLock()
    /// First days of the pairs kept, oldest first; the last is appended to.
    private var days: [Int64] = []
    private var salesDescriptor: Int32 = -1 {
        didSet { salesWriteBehind = WriteBehind(descriptor: salesDescriptor) }
    }
    private var itemsDescriptor: Int32 = -1 {
        didSet { itemsWriteBehind = WriteBehind(descriptor: itemsDescriptor) }
    }
    /// The appends' writeback started every `WriteBehind.windowBytes` (writer only), as the history's: the commit's
    /// sync then finds little left for the disk queue the log's fdatasync shares.
    private var salesWriteBehind = WriteBehind(descriptor: -1)
    private var itemsWriteBehind = WriteBehind(descriptor: -1)
    /// The newest pair's files as the counts give them (bytes), and how far each is prepared: zeros in the page
    /// cache ahead of the appends (`DirectWrites.prepare`; behind the bytes written while it cannot be done). A
    /// pair the store moves past is cut back to its counts, so older pairs are exactly their entries.
    private var pairEnds: (sales: Int64, items: Int64) = (0, 0)
    private var prepared: (sales: Int64, items: Int64) = (0, 0)
    /// Bytes made ready at once ahead of the sales or items being appended.
    static let preparedBytesAhead: Int64 = 8 << 20
    /// Entries and lines in the newest pair (as the mark says once synced).
    private var salesCount: UInt64 = 0
    private var linesCount: UInt64 = 0
    private var indexedThrough: [UInt64]
    private var counts = Counters()
    /// Whether entries or lines were written since the last sync (writer only).
    private var unsynced = false
    /// Per shard, the last log sequence the mark on disk covers (writer only).
    private(set) var durableThrough: [UInt64]
    /// A failed sync (writer only): what the files hold is unknown from then on, so nothing more is added or
    /// marked (fail-stop, as the shards do); a restart cuts back to the last mark and writes the rest again.
    private var syncFailure: LedgerError?
    /// A recent sale as a reversal needs it: its kind, amount and where its basket lines are.
    struct Original {
        var kind: SaleEntry.Kind
        var amountMinor: Int64
        var day: Int64
        var firstLine: UInt64
        var lineCount: UInt8
    }

    /// Recent sales by key, for reversals, in two generations of up to half of `originalsMax` names each: when
    /// the newer is full the older is dropped whole and the newer takes its place, so between half and all of
    /// `originalsMax` newest names are known. (Forgetting one name per new one cost a dictionary deletion, which
    /// rehashes the entries after it, for every name: 2 % of the switch's CPU at saturation.)
    private var originals: KeyMap<IdempotencyKey, Original>
    private var olderOriginals: KeyMap<IdempotencyKey, Original>

    /// False for a reader beside a serving switch: it never cuts, removes or writes a file.
    let isWriter: Bool

    public init(root: String, shardCount: Int, limits: Limits) throws(LedgerError) {
        precondition(shardCount >= 1 && !root.isEmpty, "a sales store of a ledger's shards")
        directory = root + "/sales"
        self.shardCount = shardCount
        self.limits = limits
        originals = KeyMap(countMax: max(1, limits.originalsMax / 2))
        olderOriginals = KeyMap(countMax: max(1, limits.originalsMax / 2))
        isWriter = true
        indexedThrough = Array(repeating: 0, count: shardCount)
        durableThrough = indexedThrough
        if !FileIO.exists(directory) { try FileIO.makeDirectory(directory) }
        try open()
        durableThrough = indexedThrough
        precondition(indexedThrough.count == shardCount, "a mark per shard")
    }

    /// The store of a directory another process (a serving switch) writes: only what its mark covers is read, and
    /// nothing is cut, removed or written. A store never made reads as empty.
    public init(readingBeside root: String, shardCount: Int) throws(LedgerError) {
        precondition(shardCount >= 1 && !root.isEmpty, "a sales store of a ledger's shards")
        directory = root + "/sales"
        self.shardCount = shardCount
        limits = Limits(retentionDays: 36_500, originalsMax: 1)
        originals = KeyMap(countMax: 1)
        olderOriginals = KeyMap(countMax: 1)
        isWriter = false
        indexedThrough = Array(repeating: 0, count: shardCount)
        durableThrough = indexedThrough
        guard FileIO.exists(directory), let mark = try readMark() else { return }
        let names = try FileIO.listDirectory(directory)
        let found = names.filter { $0.hasSuffix(".sales") }.compactMap { Int64($0.dropLast(6)) }
        days = found.filter { $0 <= mark.day }.sorted()
        salesCount = mark.sales
        linesCount = mark.lines
        indexedThrough = mark.marks
        durableThrough = mark.marks
        precondition(indexedThrough.count == shardCount, "a checked mark has a mark per shard")
    }

    deinit {
        if salesDescriptor >= 0 { FileIO.closeFile(salesDescriptor) }
        if itemsDescriptor >= 0 { FileIO.closeFile(itemsDescriptor) }
    }

    /// Per shard: the last log sequence whose sales are in the store.
    public var indexedSequences: [UInt64] { lock.withLock { indexedThrough } }
    public var counters: Counters { lock.withLock { counts } }

    private func path(_ day: Int64, _ suffix: String) -> String { directory + "/" + String(day) + "." + suffix }

    // MARK: Writing

    /// Appends one shard's sales through log sequence `through` (`skipped`: records it never saw), syncs and
    /// writes the mark (`add`, then `commit`).
    public func append(
        shard: Int, _ sales: [SaleEntry], lines: [[SaleLine]], through: UInt64, skipped: UInt64,
        names: [SaleNames] = []
    ) throws(LedgerError) {
        try add(shard: shard, sales, lines: lines, through: through, skipped: skipped, names: names)
        try commit()
    }

    /// Appends one shard's sales through log sequence `through` (`skipped`: records it never saw): reports in this
    /// process see them at once, the mark covers them at the next `commit`. Entries' `firstLine` and `lineCount`
    /// are set here. `lines[i]`: sale `i`'s basket. `names[i]`: other names a reversal or refund may give sale `i`
    /// by (its retrieval and terminal references), remembered beside its key.
    func add(
        shard: Int, _ sales: [SaleEntry], lines: [[SaleLine]], through: UInt64, skipped: UInt64,
        names: [SaleNames] = []
    ) throws(LedgerError) {
        precondition(isWriter, "a reader beside a serving switch never writes")
        precondition(lines.count == sales.count, "a basket per sale")
        if let syncFailure { throw syncFailure }
        precondition(shard >= 0 && shard < shardCount, "a shard of the store")
        precondition(through >= indexedThrough[shard], "the log is indexed in order")
        var salesBytes: [UInt8] = []
        var lineBytes: [UInt8] = []
        var newSales = salesCount
        var newLines = linesCount
        for (index, sale) in sales.enumerated() {
            let basket = lines[index]
            // The names of a sale a few ahead are remembered soon: their slots start loading now.
            let ahead = index + Self.prefetchDistance
            if ahead < sales.count { prefetchNames(of: ahead, sales, names) }
            let day = sale.timeMs / 86_400_000
            if days.isEmpty || (day > days.last! && newSales > 0) {
                try flush(salesBytes, lineBytes, salesAfter: newSales, linesAfter: newLines)
                salesBytes.removeAll()
                lineBytes.removeAll()
                try startPair(day: days.isEmpty ? day : max(day, days.last! + 1))
                newSales = 0
                newLines = 0
            }
            precondition(basket.count <= SaleDetail.linesMax, "a sale keeps at most linesMax lines")
            var entry = sale
            entry.lineCount = UInt8(basket.count)
            entry.firstLine = newLines
            appendBytes(&salesBytes, SaleEntry.bytes) { entry.encode(at: $0) }
            for line in basket { appendBytes(&lineBytes, SaleEntry.lineBytes) { SaleEntry.encode(line, at: $0) } }
            newSales += 1
            newLines += UInt64(basket.count)
            remember(entry, day: days.last!, names: index < names.count ? names[index] : .none)
        }
        try flush(salesBytes, lineBytes, salesAfter: newSales, linesAfter: newLines)
        var marks = indexedThrough
        marks[shard] = through
        lock.withLock {
            salesCount = newSales
            linesCount = newLines
            indexedThrough = marks
            counts.sales += UInt64(sales.count)
            counts.recordsSkipped += skipped
        }
        precondition(indexedThrough[shard] == through, "the shard's mark moved to what was indexed")
    }

    /// Syncs what was added since the last commit and writes the mark over it; returns each shard's last log
    /// sequence the mark covers (the log before it is no longer needed). A failed sync is kept: every later call
    /// throws it.
    @discardableResult
    func commit() throws(LedgerError) -> [UInt64] {
        precondition(isWriter, "a reader beside a serving switch never writes")
        if let syncFailure { throw syncFailure }
        guard unsynced || durableThrough != indexedThrough else { return durableThrough }
        if unsynced, let day = days.last { try syncPair(day) }
        try writeMark(day: days.last ?? 0, sales: salesCount, lines: linesCount, marks: indexedThrough)
        durableThrough = indexedThrough
        precondition(!unsynced, "the mark covers synced entries only")
        return durableThrough
    }

    /// Syncs the pair of `day` (the newest, or the one a new day's pair replaces); a failure is kept.
    private func syncPair(_ day: Int64) throws(LedgerError) {
        precondition(salesDescriptor >= 0 && itemsDescriptor >= 0, "the newest pair is open")
        do {
            try FileIO.syncData(salesDescriptor, path: path(day, "sales"))
            try FileIO.syncData(itemsDescriptor, path: path(day, "items"))
        } catch {
            syncFailure = error
            throw error
        }
        unsynced = false
    }

    private func appendBytes(_ bytes: inout [UInt8], _ count: Int, _ encode: (UnsafeMutableRawPointer) -> Void) {
        precondition(count > 0, "a record has bytes")
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBytes { encode($0.baseAddress! + start) }
        precondition(bytes.count == start + count, "a record's bytes are appended whole")
    }

    /// Writes pending bytes into the newest pair (synced at the next commit), so that it then holds `salesAfter`
    /// entries and `linesAfter` lines. At offsets the counts give, not at the files' ends: after a write that failed
    /// half done (a full disk) the ends lie past the counts, and the next entries landed after bytes no mark covers.
    private func flush(
        _ salesBytes: [UInt8], _ lineBytes: [UInt8], salesAfter: UInt64, linesAfter: UInt64
    ) throws(LedgerError) {
        guard let day = days.last, !salesBytes.isEmpty else { return }
        precondition(
            salesBytes.count % SaleEntry.bytes == 0 && lineBytes.count % SaleEntry.lineBytes == 0,
            "whole entries and lines are flushed")
        precondition(salesDescriptor >= 0 && itemsDescriptor >= 0, "the newest pair is open")
        let salesEnd = Int64(salesAfter) * Int64(SaleEntry.bytes) - Int64(salesBytes.count)
        let linesEnd = Int64(linesAfter) * Int64(SaleEntry.lineBytes) - Int64(lineBytes.count)
        precondition(salesEnd >= 0 && linesEnd >= 0, "the bytes flushed are the last of the counts")
        let salesRange = salesEnd..<(salesEnd + Int64(salesBytes.count))
        let linesRange = linesEnd..<(linesEnd + Int64(lineBytes.count))
        try prepare(salesDescriptor, &prepared.sales, writing: salesRange, path(day, "sales"))
        try prepare(itemsDescriptor, &prepared.items, writing: linesRange, path(day, "items"))
        try write(salesBytes, salesDescriptor, at: salesEnd, path(day, "sales"))
        unsynced = true
        salesWriteBehind.wrote(through: salesRange.upperBound)
        try write(lineBytes, itemsDescriptor, at: linesEnd, path(day, "items"))
        itemsWriteBehind.wrote(through: linesRange.upperBound)
        pairEnds = (Int64(salesAfter) * Int64(SaleEntry.bytes), Int64(linesAfter) * Int64(SaleEntry.lineBytes))
    }

    /// Makes the newest pair's file `descriptor` ready through `end` (at least `preparedBytesAhead` more) when the
    /// appends reach past what is prepared: the file grows by zeros past its counts until the pair is cut back.
    /// Where that cannot be done (tmpfs, a nearly full disk) the appends write as before, and it is tried again at
    /// the next append past `ready`.
    private func prepare(
        _ descriptor: Int32, _ ready: inout Int64, writing range: Range<Int64>, _ path: String
    ) throws(LedgerError) {
        let end = range.upperBound
        guard end > ready else { return }
        let page = Int64(DirectWrites.alignment)
        // Never over bytes written: after a preparation that could not be done, `ready` lies behind them.
        let from = max(ready, (range.lowerBound + page - 1) / page * page)
        let upTo = (max(end, from + Self.preparedBytesAhead) + page - 1) / page * page
        precondition(from % page == 0 && upTo > from, "a prepared range is whole pages")
        if try DirectWrites.prepare(descriptor, path: path, range: from..<upTo) { ready = upTo }
    }

    private func write(_ bytes: [UInt8], _ descriptor: Int32, at offset: Int64, _ path: String) throws(LedgerError) {
        var failure: LedgerError?
        bytes.withUnsafeBytes { buffer in
            do throws(LedgerError) {
                try FileIO.writeAll(descriptor, buffer, offset: offset, path: path)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    private func startPair(day: Int64) throws(LedgerError) {
        precondition(days.last.map { day > $0 } ?? true, "pairs are started day after day")
        // The next mark names the new pair only: the older one must hold all it was given first, and no more
        // (older pairs are read by their size).
        if let last = days.last, salesDescriptor >= 0 {
            try FileIO.truncate(salesDescriptor, length: pairEnds.sales, path: path(last, "sales"))
            try FileIO.truncate(itemsDescriptor, length: pairEnds.items, path: path(last, "items"))
            try syncPair(last)
        }
        if salesDescriptor >= 0 { FileIO.closeFile(salesDescriptor) }
        if itemsDescriptor >= 0 { FileIO.closeFile(itemsDescriptor) }
        salesDescriptor = try FileIO.openFile(path(day, "sales"), flags: O_RDWR | O_CREAT)
        itemsDescriptor = try FileIO.openFile(path(day, "items"), flags: O_RDWR | O_CREAT)
        try FileIO.truncate(salesDescriptor, length: 0, path: path(day, "sales"))
        try FileIO.truncate(itemsDescriptor, length: 0, path: path(day, "items"))
        pairEnds = (0, 0)
        prepared = (0, 0)
        try FileIO.syncDirectory(directory)
        lock.withLock {
            days.append(day)
            // The counts are the newest pair's: a commit after an add that failed past this point must not name
            // the new pair with the old one's counts.
            salesCount = 0
            linesCount = 0
        }
        precondition(days.last == day, "the new pair is the newest")
    }

    /// How many sales ahead `add` prefetches the slots their names will take.
    static let prefetchDistance = 4

    private func prefetchNames(of index: Int, _ sales: [SaleEntry], _ names: [SaleNames]) {
        precondition(index >= 0 && index < sales.count, "a sale of the batch")
        guard Self.isRemembered(sales[index].kind) else { return }
        originals.prefetch(sales[index].key)
        guard index < names.count else { return }
        originals.prefetch(names[index].reference)
        originals.prefetch(names[index].terminalReference)
    }

    /// Remembers a purchase or payment under its key and `names` (each name takes one of the `originalsMax`
    /// places). After a restart the newest pair's sales are known by their keys only.
    /// Sales a reversal or refund may name later: purchases and payments (what `remember` keeps, and what `add`
    /// prefetches the slots of).
    static func isRemembered(_ kind: SaleEntry.Kind) -> Bool { kind == .purchase || kind == .payment }

    private func remember(_ entry: SaleEntry, day: Int64, names: SaleNames = .none) {
        guard Self.isRemembered(entry.kind) else { return }
        let original = Original(
            kind: entry.kind, amountMinor: entry.amountMinor, day: day, firstLine: entry.firstLine,
            lineCount: entry.lineCount)
        // Three names at most, each stored without building a collection of them (this runs per sale).
        remember(original, as: entry.key)
        remember(original, as: names.reference)
        remember(original, as: names.terminalReference)
    }

    private func remember(_ original: Original, as name: IdempotencyKey) {
        guard name != .zero else { return }
        if originals.isFull && originals[name] == nil {
            swap(&originals, &olderOriginals)
            originals.clear()
        }
        originals.set(name, original)
        precondition(originals.count <= originals.countMax, "a generation holds at most half of originalsMax")
    }

    /// The kind and amount of a recent sale by its key (nil: not among the `originalsMax` newest).
    func original(_ key: IdempotencyKey) -> (SaleEntry.Kind, Int64)? {
        (originals[key] ?? olderOriginals[key]).map { ($0.kind, $0.amountMinor) }
    }

    /// The basket lines of a recent sale by its key, read back from its items file (writer thread): a reversal
    /// takes them, so the items report nets it out. Empty when the sale is not known or its pair is gone.
    func originalLines(_ key: IdempotencyKey) throws(LedgerError) -> [SaleLine] {
        guard let original = originals[key] ?? olderOriginals[key], original.lineCount > 0, days.contains(original.day) else { return [] }
        let itemsPath = path(original.day, "items")
        let file = try FileIO.openFile(itemsPath, flags: O_RDONLY)
        defer { FileIO.closeFile(file) }
        var probe = SaleEntry(
            timeMs: 0, shard: 0, sequence: 0, kind: original.kind, key: key, member: CardHash(high: 0, low: 0),
            masked: MaskedCard(packed: 0), terminal: .none, merchant: .none, amountMinor: 0, earned: .zero,
            spent: .zero)
        probe.firstLine = original.firstLine
        probe.lineCount = original.lineCount
        precondition(Int(probe.lineCount) <= SaleDetail.linesMax, "a sale kept at most linesMax lines")
        do {
            return try readLines(file, itemsPath, probe)
        } catch let error as LedgerError {
            throw error
        } catch {
            preconditionFailure("reading lines throws only LedgerError")
        }
    }

    /// Drops the pairs whose every sale is older than `retentionDays` (the next pair starts before the cut).
    public func dropExpired(nowMs: Int64) throws(LedgerError) {
        precondition(isWriter, "a reader beside a serving switch never removes")
        let cutDay = nowMs / 86_400_000 - Int64(limits.retentionDays)
        let hadPairs = !days.isEmpty
        while days.count >= 2 && days[1] <= cutDay {
            let day = days[0]
            lock.withLock {
                days.removeFirst()
                counts.filesDropped += 1
            }
            try FileIO.remove(path(day, "sales"))
            try FileIO.remove(path(day, "items"))
        }
        precondition(!hadPairs || !days.isEmpty, "the pair appended to is never dropped")
    }

    /// At open: the pairs kept and the newest cut back to what the mark covers.
    func adopt(days kept: [Int64], sales: UInt64, lines: UInt64, marks: [UInt64]) throws(LedgerError) {
        precondition(!kept.isEmpty && marks.count == shardCount, "pairs kept and a checked mark per shard")
        assert(zip(kept, kept.dropFirst()).allSatisfy { $0 < $1 }, "pairs kept oldest first")
        let day = kept.last!
        salesDescriptor = try FileIO.openFile(path(day, "sales"), flags: O_RDWR | O_CREAT)
        itemsDescriptor = try FileIO.openFile(path(day, "items"), flags: O_RDWR | O_CREAT)
        let salesBytes = Int64(sales) * Int64(SaleEntry.bytes)
        let lineBytes = Int64(lines) * Int64(SaleEntry.lineBytes)
        let salesSize = try FileIO.fileSize(salesDescriptor, path: path(day, "sales"))
        let itemsSize = try FileIO.fileSize(itemsDescriptor, path: path(day, "items"))
        guard salesSize >= salesBytes, itemsSize >= lineBytes
        else { throw .damagedLog(file: path(day, "sales"), offset: 0, reason: "shorter than the progress mark says") }
        try FileIO.truncate(salesDescriptor, length: salesBytes, path: path(day, "sales"))
        try FileIO.truncate(itemsDescriptor, length: lineBytes, path: path(day, "items"))
        let page = Int64(DirectWrites.alignment)
        pairEnds = (salesBytes, lineBytes)
        prepared = ((salesBytes + page - 1) / page * page, (lineBytes + page - 1) / page * page)
        days = kept
        salesCount = sales
        linesCount = lines
        indexedThrough = marks
    }

    /// At open, before any pair was begun: the shards' marks alone.
    func adoptMarks(_ marks: [UInt64]) {
        precondition(days.isEmpty && marks.count == shardCount, "marks without pairs")
        indexedThrough = marks
    }

    /// At open: the newest pair's purchases and payments, so a reversal soon after a restart finds its original.
    func rememberNewest() throws(LedgerError) {
        guard let day = days.last else { return }
        do {
            try readPair(day, sales: salesCount, lines: linesCount) { entry, _ in remember(entry, day: day) }
        } catch let error as LedgerError {
            throw error
        } catch {
            preconditionFailure("reading a pair throws only LedgerError")
        }
    }

    // MARK: Reading

    /// Calls `body` with every sale whose time is in `fromMs ..< toMs`, oldest pair first, in the order indexed,
    /// with its basket lines.
    public func forEachSale(
        fromMs: Int64, toMs: Int64, _ body: (SaleEntry, [SaleLine]) throws -> Void
    ) throws {
        let (kept, newestSales, newestLines) = lock.withLock { (days, salesCount, linesCount) }
        for (index, day) in kept.enumerated() {
            // A pair holds sales from its first day until the next pair's (records of shards a little behind
            // may be a day older): skip only pairs that cannot hold any of the range.
            if day * 86_400_000 >= toMs + 86_400_000 { break }
            if index + 1 < kept.count && (kept[index + 1] + 1) * 86_400_000 <= fromMs { continue }
            let isNewest = index == kept.count - 1
            try readPair(day, sales: isNewest ? newestSales : nil, lines: isNewest ? newestLines : nil) { entry, lines in
                if entry.timeMs >= fromMs && entry.timeMs < toMs { try body(entry, lines) }
            }
        }
    }

    private func readPair(
        _ day: Int64, sales: UInt64?, lines: UInt64?, _ body: (SaleEntry, [SaleLine]) throws -> Void
    ) throws {
        let salesPath = path(day, "sales")
        let itemsPath = path(day, "items")
        let salesFile = try FileIO.openFile(salesPath, flags: O_RDONLY)
        defer { FileIO.closeFile(salesFile) }
        let itemsFile = try FileIO.openFile(itemsPath, flags: O_RDONLY)
        defer { FileIO.closeFile(itemsFile) }
        let salesSize = try FileIO.fileSize(salesFile, path: salesPath)
        let itemsSize = try FileIO.fileSize(itemsFile, path: itemsPath)
        let count = sales ?? UInt64(salesSize) / UInt64(SaleEntry.bytes)
        let linesKept = lines ?? UInt64(itemsSize) / UInt64(SaleEntry.lineBytes)
        let chunk = 4_096
        var next: UInt64 = 0
        while next < count {
            let take = Int(min(UInt64(chunk), count - next))
            let bytes = try FileIO.readBytes(
                salesFile, count: take * SaleEntry.bytes, offset: Int64(next) * Int64(SaleEntry.bytes), path: salesPath)
            guard bytes.count == take * SaleEntry.bytes else {
                throw LedgerError.damagedLog(file: salesPath, offset: Int64(next) * 160, reason: "a sales file ends early")
            }
            for position in 0..<take {
                let offset = Int64(next + UInt64(position)) * Int64(SaleEntry.bytes)
                guard let entry = bytes.withUnsafeBytes({ SaleEntry.decode($0.baseAddress! + position * SaleEntry.bytes) }),
                    entry.firstLine + UInt64(entry.lineCount) <= linesKept
                else { throw LedgerError.damagedLog(file: salesPath, offset: offset, reason: "not a sale entry") }
                try body(entry, try readLines(itemsFile, itemsPath, entry))
            }
            next += UInt64(take)
        }
    }

    private func readLines(_ file: Int32, _ path: String, _ entry: SaleEntry) throws -> [SaleLine] {
        guard entry.lineCount > 0 else { return [] }
        let offset = Int64(entry.firstLine) * Int64(SaleEntry.lineBytes)
        let bytes = try FileIO.readBytes(file, count: Int(entry.lineCount) * SaleEntry.lineBytes, offset: offset, path: path)
        var lines: [SaleLine] = []
        for index in 0..<Int(entry.lineCount) {
            guard bytes.count >= (index + 1) * SaleEntry.lineBytes,
                let line = bytes.withUnsafeBytes({ SaleEntry.decodeLine($0.baseAddress! + index * SaleEntry.lineBytes) })
            else { throw LedgerError.damagedLog(file: path, offset: offset, reason: "not a sale line") }
            lines.append(line)
        }
        precondition(lines.count == Int(entry.lineCount), "every line of the sale is read")
        return lines
    }
}
