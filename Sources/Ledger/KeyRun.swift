import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

/// One immutable file of remembered requests, `keys-<first sequence>-<last sequence>.run`: the versions that the
/// log records in that sequence range moved out of memory, with a sorted index by name. Only a filter, the page
/// fences and the (few) amended positions stay in memory, about 1.3 bytes per name; a lookup that passes the
/// filter reads one name page and one entry (two preads).
///
/// Layout (little-endian):
///
///     0     header, 128 bytes: magic "LKRN", version, shard, entry stride, sequence range, first versions'
///           positions, counts, newest entry time, index checksum, oldest entry time, entry blocks; its own
///           CRC32C at 124
///     128   entries: first versions in position order, then newer versions of older positions, sorted;
///           version 2: in compact 4 KiB blocks (`KeyRunEntryBlock`); version 1 (written until 2026-12-05, still
///           read): one record each, [position Int64][CRC32C UInt32][0 UInt32][entry], 8-aligned
///     …     name pages of 4096 bytes: [CRC32C of bytes 4..<4096][count UInt32][0 UInt64] then up to 255
///           (fingerprint UInt64, position Int64) pairs; pages sorted by (fingerprint, position)
///     …     index (read whole at open, its CRC32C in the header): amended positions, (version 2) each entry
///           block's first entry index, page fences (each page's first fingerprint), filter blocks
struct KeyRunHeader: Equatable {
    static let magic: UInt32 = 0x4E52_4B4C  // "LKRN"
    /// The version written; version 1 (whole entry records) is still read.
    static let version: UInt32 = 2
    static let bytes = 128
    static var entryStride: Int { MemoryLayout<IdempotencyEntry>.stride }
    /// A version-1 entry record.
    static var recordBytes: Int { (16 + entryStride + 7) & ~7 }
    static let pageBytes = 4096
    static let namesPerPage = (pageBytes - 16) / 16

    var shardIndex: UInt32
    var firstSequence: UInt64
    var lastSequence: UInt64
    var firstBegin: Int64
    var firstCount: Int
    var amendmentCount: Int
    var nameCount: Int
    var pageCount: Int
    var filterBlocks: Int
    var newestCreatedAtMs: Int64
    var indexCRC: UInt32 = 0
    var oldestCreatedAtMs: Int64 = Int64.max
    var version: UInt32 = Self.version
    /// Compact entry blocks (version 2; 0 in version 1).
    var entryBlocks = 0
    /// Entries in the run (first versions and newer ones).
    var entryCount: Int { firstCount + amendmentCount }

    var entriesOffset: Int64 { Int64(Self.bytes) }
    var pagesOffset: Int64 {
        entriesOffset
            + Int64(version == 1 ? entryCount * Self.recordBytes : entryBlocks * KeyRunEntryBlock.bytes)
    }
    var indexOffset: Int64 { pagesOffset + Int64(pageCount * Self.pageBytes) }
    var indexBytes: Int {
        amendmentCount * 8 + entryBlocks * 8 + pageCount * 8 + filterBlocks * KeyFilter.blockWords * 8
    }
    var fileBytes: Int64 { indexOffset + Int64(indexBytes) }

    func encode(into base: UnsafeMutableRawPointer) {
        precondition(
            firstSequence >= 1 && firstSequence <= lastSequence && firstBegin >= 0, "a run covers sequences and positions")
        precondition(
            pageCount == (nameCount + Self.namesPerPage - 1) / Self.namesPerPage && filterBlocks >= 1,
            "a run's pages hold its names, and it has a filter")
        precondition(
            firstCount >= 0 && amendmentCount >= 0 && firstCount < 1 << 40 && amendmentCount < 1 << 32,
            "a run's counts are read back in range")
        precondition(
            version == Self.version && Self.blocksFit(entries: entryCount, blocks: entryBlocks),
            "a run is written in the current version, its entries in blocks")
        base.initializeMemory(as: UInt8.self, repeating: 0, count: Self.bytes)
        var writer = ByteWriter(base: base, capacity: Self.bytes)
        writer.put(Self.magic)
        writer.put(Self.version)
        writer.put(shardIndex)
        writer.put(UInt32(Self.entryStride))
        writer.put(firstSequence)
        writer.put(lastSequence)
        writer.put(firstBegin)
        writer.put(UInt64(firstCount))
        writer.put(UInt64(amendmentCount))
        writer.put(UInt64(nameCount))
        writer.put(UInt64(pageCount))
        writer.put(UInt64(filterBlocks))
        writer.put(newestCreatedAtMs)
        writer.put(indexCRC)
        writer.put(oldestCreatedAtMs)
        writer.put(UInt64(entryBlocks))
        precondition(writer.offset <= Self.bytes - 4, "a run header leaves room for its checksum")
        let crc = ccrc32c_update(0, base, Self.bytes - 4)
        base.storeBytes(of: crc.littleEndian, toByteOffset: Self.bytes - 4, as: UInt32.self)
        assert(Self.decode(UnsafeRawPointer(base)) == self, "a run header reads back as written")
    }

    /// Nil when the header is not one of ours (wrong magic, version, layout or checksum, counts out of range).
    static func decode(_ base: UnsafeRawPointer) -> KeyRunHeader? {
        let stored = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: bytes - 4, as: UInt32.self))
        guard ccrc32c_update(0, base, bytes - 4) == stored else { return nil }
        var reader = ByteReader(base: base, count: bytes)
        guard reader.get(UInt32.self) == magic, let version = reader.get(UInt32.self), version == 1 || version == 2,
            let shard = reader.get(UInt32.self), reader.get(UInt32.self) == UInt32(entryStride),
            let first = reader.get(UInt64.self), let last = reader.get(UInt64.self),
            let firstBegin = reader.get(Int64.self), let firstCount = reader.get(UInt64.self),
            let amendments = reader.get(UInt64.self), let names = reader.get(UInt64.self),
            let pages = reader.get(UInt64.self), let filterBlocks = reader.get(UInt64.self),
            let newest = reader.get(Int64.self), let indexCRC = reader.get(UInt32.self),
            let oldest = reader.get(Int64.self), let blocks = reader.get(UInt64.self),
            first >= 1, first <= last, firstBegin >= 0, firstCount < 1 << 40, amendments < 1 << 32,
            names < 1 << 42, pages == (names + UInt64(namesPerPage) - 1) / UInt64(namesPerPage), filterBlocks >= 1,
            filterBlocks < 1 << 36, blocks < 1 << 32,
            version == 2 ? blocksFit(entries: Int(firstCount + amendments), blocks: Int(blocks)) : blocks == 0
        else { return nil }
        precondition(reader.offset <= bytes - 4, "a run header is read before its checksum")
        return KeyRunHeader(
            shardIndex: shard, firstSequence: first, lastSequence: last, firstBegin: firstBegin,
            firstCount: Int(firstCount), amendmentCount: Int(amendments), nameCount: Int(names), pageCount: Int(pages),
            filterBlocks: Int(filterBlocks), newestCreatedAtMs: newest, indexCRC: indexCRC, oldestCreatedAtMs: oldest,
            version: version, entryBlocks: Int(blocks))
    }

    /// Whether `blocks` compact blocks can hold `entries` entries (each block at least one, none empty, and an
    /// entry index fits the block index's 32 bits).
    static func blocksFit(entries: Int, blocks: Int) -> Bool {
        entries >= 0 && entries < 1 << 32 && blocks >= (entries > 0 ? 1 : 0) && blocks <= entries
    }

    static func fileName(first: UInt64, last: UInt64) -> String {
        let name = "keys-" + padded(first) + "-" + padded(last) + ".run"
        assert(range(ofFileName: name).map { $0 == (first, last) } == true, "a run's name gives back its range")
        return name
    }

    /// (first, last) from a run's file name; nil for any other name.
    static func range(ofFileName name: String) -> (UInt64, UInt64)? {
        guard name.hasPrefix("keys-"), name.hasSuffix(".run"), name.utf8.count == 5 + 20 + 1 + 20 + 4 else {
            return nil
        }
        let digits = name.dropFirst(5).dropLast(4)
        guard let first = UInt64(digits.prefix(20)), let last = UInt64(digits.suffix(20)) else { return nil }
        return (first, last)
    }

    private static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        precondition(digits.count <= 20, "a sequence has at most 20 digits")
        return String(repeating: "0", count: 20 - digits.count) + digits
    }
}

/// An open run: its header, its in-memory index and a descriptor for preads (from the shard thread).
final class KeyRun: @unchecked Sendable {
    let path: String
    let header: KeyRunHeader
    let amendedPositions: [Int64]
    /// Each compact entry block's first entry index (version 2; empty in version 1).
    let blockFirsts: [UInt32]
    let fences: [UInt64]
    let filter: KeyFilter
    private let descriptor: Int32
    /// False only when this process wrote the run (or merged it from such runs) and no first version in it is a
    /// tombstone; a run opened from disk may hold some. Lets a new request's tombstone lookup, one of its two
    /// lookups, skip those runs' filters (issue 17: 4.4 filter probes per request instead of ~9 with 5–8 runs).
    /// Set before the run is handed to the shard (under the lock that hands it over), never changed after.
    var mayHoldTombstones = true

    /// Opens and checks a run: header, size and the index's checksum (entries and name pages are checked when
    /// read). A run that fails is damaged: the caller refuses it with its name.
    init(path: String, shardIndex: Int) throws(LedgerError) {
        descriptor = try FileIO.openFile(path, flags: O_RDONLY)
        self.path = path
        do throws(LedgerError) {
            let size = try FileIO.fileSize(descriptor, path: path)
            let headerBytes = try FileIO.readBytes(descriptor, count: KeyRunHeader.bytes, offset: 0, path: path)
            guard headerBytes.count == KeyRunHeader.bytes,
                let decoded = headerBytes.withUnsafeBytes({ KeyRunHeader.decode($0.baseAddress!) })
            else { throw LedgerError.damagedKeyRun(file: path, reason: "header unreadable or not a key run") }
            guard decoded.shardIndex == UInt32(shardIndex), decoded.fileBytes == size else {
                throw LedgerError.damagedKeyRun(file: path, reason: "size or shard disagrees with its header")
            }
            // Recovery keeps, deletes and orders runs by the ranges their names give: a name that is not its
            // header's range (a file renamed or copied by hand) would have a run stand for sequences it lacks.
            let name = String(path.split(separator: "/").last ?? "")
            guard let named = KeyRunHeader.range(ofFileName: name), named == (decoded.firstSequence, decoded.lastSequence) else {
                throw LedgerError.damagedKeyRun(
                    file: path,
                    reason: "its name does not give its header's sequences \(decoded.firstSequence)-\(decoded.lastSequence)")
            }
            header = decoded
            (amendedPositions, blockFirsts, fences, filter) = try Self.readIndex(
                descriptor, header: decoded, path: path)
        } catch {
            FileIO.closeFile(descriptor)
            throw error
        }
        precondition(
            amendedPositions.count == header.amendmentCount && fences.count == header.pageCount
                && blockFirsts.count == header.entryBlocks, "a run's index holds what its header counts")
        assert(
            zip(amendedPositions, amendedPositions.dropFirst()).allSatisfy { $0 <= $1 },
            "amended positions are sorted (the writer sorts them)")
        assert(zip(fences, fences.dropFirst()).allSatisfy { $0 <= $1 }, "page fences are sorted")
    }

    deinit { FileIO.closeFile(descriptor) }

    private static func readIndex(
        _ descriptor: Int32, header: KeyRunHeader, path: String
    ) throws(LedgerError) -> ([Int64], [UInt32], [UInt64], KeyFilter) {
        let index = try FileIO.readBytes(descriptor, count: header.indexBytes, offset: header.indexOffset, path: path)
        let crc = index.withUnsafeBytes { ccrc32c_update(0, $0.baseAddress, $0.count) }
        guard index.count == header.indexBytes, crc == header.indexCRC else {
            throw .damagedKeyRun(file: path, reason: "index checksum mismatch")
        }
        let (amended, firsts, fences, filter) = index.withUnsafeBytes { bytes in
            var offset = 0
            func words<Word: FixedWidthInteger>(_ count: Int, _: Word.Type) -> [Word] {
                defer { offset += count * 8 }
                return (0..<count).map { Word(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + $0 * 8, as: Word.self)) }
            }
            let amended = words(header.amendmentCount, Int64.self)
            let firsts = words(header.entryBlocks, UInt64.self)
            let fences = words(header.pageCount, UInt64.self)
            let filter = KeyFilter(words: words(header.filterBlocks * KeyFilter.blockWords, UInt64.self))
            precondition(offset == header.indexBytes, "the index is read whole")
            return (amended, firsts, fences, filter)
        }
        // The blocks' first entries start at 0 and rise (each block holds at least one entry).
        guard firsts.first.map({ $0 == 0 }) ?? true, zip(firsts, firsts.dropFirst()).allSatisfy({ $0 < $1 }),
            firsts.last.map({ $0 < UInt64(header.entryCount) }) ?? true
        else { throw .damagedKeyRun(file: path, reason: "entry blocks out of order") }
        return (amended, firsts.map { UInt32($0) }, fences, filter)
    }

    /// Whether this run holds a version of `position` (its first version or a newer one).
    func entryIndex(of position: Int64) -> Int? {
        if position >= header.firstBegin && position < header.firstBegin + Int64(header.firstCount) {
            return Int(position - header.firstBegin)
        }
        var low = 0
        var high = amendedPositions.count
        while low < high {
            let middle = (low + high) / 2
            if amendedPositions[middle] < position { low = middle + 1 } else { high = middle }
        }
        guard low < amendedPositions.count, amendedPositions[low] == position else { return nil }
        precondition(header.firstCount + low < header.entryCount, "an amended entry of the run")
        return header.firstCount + low
    }

    /// Reads `count` bytes (at most a page) at `offset` into stack memory and hands them to `body`; nil on a short
    /// read. A fixed page on the stack: `withUnsafeTemporaryAllocation` put a 4 KiB read on the heap, one malloc
    /// per lookup that passed a run's filter (issue 17's allocation count showed it on the purchase path).
    private func withBytes<Value>(at offset: Int64, count: Int, _ body: (UnsafeRawPointer) -> Value?) -> Value? {
        precondition(count <= KeyRunHeader.pageBytes && KeyRunHeader.pageBytes == 4096, "a read of at most a page")
        var page = InlineArray<4096, UInt8>(repeating: 0)
        var span = page.mutableSpan
        return span.withUnsafeMutableBytes { whole -> Value? in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: whole[0..<count])
            guard (try? FileIO.readFully(descriptor, buffer, offset: offset, path: path)) == count else { return nil }
            return body(UnsafeRawPointer(buffer.baseAddress!))
        }
    }

    /// Reads and checks the entry at `index` (the version of `position`); nil when its block or record fails its
    /// checksum or names another position.
    func readEntry(_ index: Int, position: Int64) -> IdempotencyEntry? {
        precondition(index >= 0 && index < header.entryCount, "an entry of the run")
        guard header.version == 2 else { return readRecord(index, position: position) }
        let block = self.block(holding: index)
        return withBytes(at: blockOffset(block), count: KeyRunEntryBlock.bytes) { base -> IdempotencyEntry? in
            guard let (count, used, first) = KeyRunEntryBlock.head(base), first == Int(blockFirsts[block]),
                index < first + count
            else { return nil }
            return withUnsafeTemporaryAllocation(byteCount: KeyRunEntryBlock.entryBytes, alignment: 8) { scratch in
                var found: IdempotencyEntry?
                let decoded = try? KeyRunEntryBlock.visit(
                    base, count: count, used: used, first: first, scratch: scratch.baseAddress!
                ) { entryIndex, bytes in
                    guard entryIndex == index else { return true }
                    found = bytes.loadUnaligned(as: IdempotencyEntry.self)
                    return false
                }
                return decoded == true ? found : nil
            }
        }
    }

    /// The compact block holding entry `index`: the last whose first entry is at or before it.
    private func block(holding index: Int) -> Int {
        var low = 0
        var high = blockFirsts.count
        while low < high {
            let middle = (low + high) / 2
            if Int(blockFirsts[middle]) <= index { low = middle + 1 } else { high = middle }
        }
        precondition(low >= 1 && low <= blockFirsts.count, "the first block starts at entry 0")
        return low - 1
    }

    private func blockOffset(_ block: Int) -> Int64 {
        precondition(block >= 0 && block < header.entryBlocks, "a compact block of the run")
        return header.entriesOffset + Int64(block) * Int64(KeyRunEntryBlock.bytes)
    }

    /// A version-1 entry record.
    private func readRecord(_ index: Int, position: Int64) -> IdempotencyEntry? {
        precondition(header.version == 1, "whole entry records are version 1's")
        let recordBytes = KeyRunHeader.recordBytes
        let offset = header.entriesOffset + Int64(index * recordBytes)
        return withBytes(at: offset, count: recordBytes) { base -> IdempotencyEntry? in
            let stored = Int64(littleEndian: base.loadUnaligned(as: Int64.self))
            let crc = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            guard stored == position,
                KeyRunRecord.checksum(base, stride: KeyRunHeader.entryStride) == crc
            else { return nil }
            return (base + 16).loadUnaligned(as: IdempotencyEntry.self)
        }
    }

    /// The position entry `index` is the version of.
    private func position(ofEntry index: Int) -> Int64 {
        precondition(index >= 0 && index < header.entryCount, "an entry of the run")
        return index < header.firstCount
            ? header.firstBegin + Int64(index) : amendedPositions[index - header.firstCount]
    }

    /// Calls `body` with entries 0..<`end` in order (index, position, entry), reading them sequentially through
    /// `chunk` (for a merge); throws naming the file when one fails its checksum or the entries end early.
    func forEachEntry(
        upTo end: Int, chunk: UnsafeMutableRawBufferPointer,
        _ body: (Int, Int64, IdempotencyEntry) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        precondition(end >= 0 && end <= header.entryCount, "entries of the run")
        if header.version == 1 {
            try forEachRecord(upTo: end, chunk: chunk, body)
            return
        }
        let blockBytes = KeyRunEntryBlock.bytes
        let chunkBlocks = chunk.count / blockBytes
        precondition(chunkBlocks >= 1, "a chunk holds a block")
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: KeyRunEntryBlock.entryBytes, alignment: 8)
        defer { scratch.deallocate() }
        var block = 0
        var next = 0
        while next < end {
            let count = min(chunkBlocks, blockFirsts.count - block)
            let target = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<(count * blockBytes)])
            let offset = count >= 1 ? blockOffset(block) : 0
            let read = count >= 1 ? try? FileIO.readFully(descriptor, target, offset: offset, path: path) : nil
            guard read == target.count else { throw .damagedKeyRun(file: path, reason: "entries end early") }
            for inChunk in 0..<count where next < end {
                let base = UnsafeRawPointer(chunk.baseAddress! + inChunk * blockBytes)
                guard let (entries, used, first) = KeyRunEntryBlock.head(base), first == next,
                    first == Int(blockFirsts[block + inChunk])
                else { throw .damagedKeyRun(file: path, reason: "entry block \(block + inChunk) fails its checksum") }
                let whole = try KeyRunEntryBlock.visit(
                    base, count: entries, used: used, first: first, scratch: scratch
                ) {
                    (index, bytes) throws(LedgerError) -> Bool in
                    guard index < end else { return false }
                    try body(index, position(ofEntry: index), bytes.loadUnaligned(as: IdempotencyEntry.self))
                    next = index + 1
                    return true
                }
                guard whole else {
                    throw .damagedKeyRun(file: path, reason: "entry block \(block + inChunk) does not decode")
                }
            }
            block += count
        }
        precondition(next == end, "every entry asked for was visited")
    }

    /// `forEachEntry` over version-1 records.
    private func forEachRecord(
        upTo end: Int, chunk: UnsafeMutableRawBufferPointer,
        _ body: (Int, Int64, IdempotencyEntry) throws(LedgerError) -> Void
    ) throws(LedgerError) {
        let recordBytes = KeyRunHeader.recordBytes
        let chunkRecords = chunk.count / recordBytes
        precondition(chunkRecords >= 1, "a chunk holds a record")
        var index = 0
        while index < end {
            let count = min(chunkRecords, end - index)
            let target = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<(count * recordBytes)])
            let offset = header.entriesOffset + Int64(index * recordBytes)
            guard (try? FileIO.readFully(descriptor, target, offset: offset, path: path)) == target.count else {
                throw .damagedKeyRun(file: path, reason: "entries end early")
            }
            for inChunk in 0..<count {
                let record = UnsafeRawPointer(chunk.baseAddress! + inChunk * recordBytes)
                let position = position(ofEntry: index + inChunk)
                let crc = UInt32(littleEndian: record.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
                guard Int64(littleEndian: record.loadUnaligned(as: Int64.self)) == position,
                    KeyRunRecord.checksum(record, stride: KeyRunHeader.entryStride) == crc
                else { throw .damagedKeyRun(file: path, reason: "entry \(index + inChunk) fails its checksum") }
                try body(index + inChunk, position, (record + 16).loadUnaligned(as: IdempotencyEntry.self))
            }
            index += count
        }
    }

    /// Calls `body` with each (fingerprint, position) pair of name page `page`, in order; returns the page's last
    /// fingerprint, or nil when the page fails its checksum (then `body` was not called).
    func visitNamePage(_ page: Int, _ body: (UInt64, Int64) -> Void) -> UInt64? {
        precondition(page >= 0 && page < header.pageCount, "a name page of the run")
        let pageBytes = KeyRunHeader.pageBytes
        return withBytes(at: header.pagesOffset + Int64(page * pageBytes), count: pageBytes) { base -> UInt64? in
            let crc = UInt32(littleEndian: base.loadUnaligned(as: UInt32.self))
            let count = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
            guard ccrc32c_update(0, base + 4, pageBytes - 4) == crc, count >= 1, count <= KeyRunHeader.namesPerPage
            else { return nil }
            var last: UInt64 = 0
            for index in 0..<count {
                let pair = base + 16 + index * 16
                last = UInt64(littleEndian: pair.loadUnaligned(as: UInt64.self))
                body(last, Int64(littleEndian: pair.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
            }
            return last
        }
    }

    enum NameLookup {
        /// Positions whose fingerprint matches, newest first (the caller checks the entry's name).
        case candidates([Int64])
        case absent
        case damaged
    }

    /// The positions indexed under `fingerprint`. Reads the name pages that may hold it (one, rarely two).
    func positions(of fingerprint: UInt64) -> NameLookup {
        guard filter.mayContain(fingerprint), !fences.isEmpty else { return .absent }
        var low = 0
        var high = fences.count
        while low < high {
            let middle = (low + high) / 2
            if fences[middle] < fingerprint { low = middle + 1 } else { high = middle }
        }
        var page = max(0, low - 1)
        var found: [Int64] = []
        while page < fences.count && fences[page] <= fingerprint {
            let last = visitNamePage(page) { name, position in
                if name == fingerprint { found.append(position) }
            }
            guard let last else { return .damaged }
            // The next page may continue the same fingerprint only if this one ends with it.
            guard last <= fingerprint else { break }
            page += 1
        }
        if found.count > 1 { found.sort(by: >) }
        precondition(page <= fences.count, "the pages read are the run's")
        return found.isEmpty ? .absent : .candidates(found)
    }
}

enum KeyRunRecord {
    /// CRC32C of a record's position and entry bytes (skipping the checksum word itself).
    static func checksum(_ record: UnsafeRawPointer, stride: Int) -> UInt32 {
        precondition(stride > 0 && 16 + stride <= KeyRunHeader.recordBytes, "a record holds its entry")
        return ccrc32c_update(ccrc32c_update(0, record, 8), record + 16, stride)
    }
}
