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
///           positions, counts, newest entry time, section offsets, index checksum; its own CRC32C at 124
///     128   entry records: first versions in position order, then newer versions of older positions, sorted;
///           each [position Int64][CRC32C UInt32][0 UInt32][entry], 8-aligned
///     …     name pages of 4096 bytes: [CRC32C of bytes 4..<4096][count UInt32][0 UInt64] then up to 255
///           (fingerprint UInt64, position Int64) pairs; pages sorted by (fingerprint, position)
///     …     index (read whole at open, its CRC32C in the header): amended positions, page fences (each page's
///           first fingerprint), filter blocks
struct KeyRunHeader: Equatable {
    static let magic: UInt32 = 0x4E52_4B4C  // "LKRN"
    static let version: UInt32 = 1
    static let bytes = 128
    static var entryStride: Int { MemoryLayout<IdempotencyEntry>.stride }
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
    /// Entries in the run (first versions and newer ones).
    var entryCount: Int { firstCount + amendmentCount }

    var entriesOffset: Int64 { Int64(Self.bytes) }
    var pagesOffset: Int64 { entriesOffset + Int64((firstCount + amendmentCount) * Self.recordBytes) }
    var indexOffset: Int64 { pagesOffset + Int64(pageCount * Self.pageBytes) }
    var indexBytes: Int { amendmentCount * 8 + pageCount * 8 + filterBlocks * KeyFilter.blockWords * 8 }
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
        guard reader.get(UInt32.self) == magic, reader.get(UInt32.self) == version,
            let shard = reader.get(UInt32.self), reader.get(UInt32.self) == UInt32(entryStride),
            let first = reader.get(UInt64.self), let last = reader.get(UInt64.self),
            let firstBegin = reader.get(Int64.self), let firstCount = reader.get(UInt64.self),
            let amendments = reader.get(UInt64.self), let names = reader.get(UInt64.self),
            let pages = reader.get(UInt64.self), let blocks = reader.get(UInt64.self),
            let newest = reader.get(Int64.self), let indexCRC = reader.get(UInt32.self),
            let oldest = reader.get(Int64.self),
            first >= 1, first <= last, firstBegin >= 0, firstCount < 1 << 40, amendments < 1 << 32,
            names < 1 << 42, pages == (names + UInt64(namesPerPage) - 1) / UInt64(namesPerPage), blocks >= 1,
            blocks < 1 << 36
        else { return nil }
        precondition(reader.offset <= bytes - 4, "a run header is read before its checksum")
        return KeyRunHeader(
            shardIndex: shard, firstSequence: first, lastSequence: last, firstBegin: firstBegin,
            firstCount: Int(firstCount), amendmentCount: Int(amendments), nameCount: Int(names), pageCount: Int(pages),
            filterBlocks: Int(blocks), newestCreatedAtMs: newest, indexCRC: indexCRC, oldestCreatedAtMs: oldest)
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
            (amendedPositions, fences, filter) = try Self.readIndex(descriptor, header: decoded, path: path)
        } catch {
            FileIO.closeFile(descriptor)
            throw error
        }
        precondition(
            amendedPositions.count == header.amendmentCount && fences.count == header.pageCount,
            "a run's index holds what its header counts")
        assert(
            zip(amendedPositions, amendedPositions.dropFirst()).allSatisfy { $0 <= $1 },
            "amended positions are sorted (the writer sorts them)")
        assert(zip(fences, fences.dropFirst()).allSatisfy { $0 <= $1 }, "page fences are sorted")
    }

    deinit { FileIO.closeFile(descriptor) }

    private static func readIndex(
        _ descriptor: Int32, header: KeyRunHeader, path: String
    ) throws(LedgerError) -> ([Int64], [UInt64], KeyFilter) {
        let index = try FileIO.readBytes(descriptor, count: header.indexBytes, offset: header.indexOffset, path: path)
        let crc = index.withUnsafeBytes { ccrc32c_update(0, $0.baseAddress, $0.count) }
        guard index.count == header.indexBytes, crc == header.indexCRC else {
            throw .damagedKeyRun(file: path, reason: "index checksum mismatch")
        }
        return index.withUnsafeBytes { bytes in
            var offset = 0
            func words<Word: FixedWidthInteger>(_ count: Int, _: Word.Type) -> [Word] {
                defer { offset += count * 8 }
                return (0..<count).map { Word(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + $0 * 8, as: Word.self)) }
            }
            let amended = words(header.amendmentCount, Int64.self)
            let fences = words(header.pageCount, UInt64.self)
            let filter = KeyFilter(words: words(header.filterBlocks * KeyFilter.blockWords, UInt64.self))
            precondition(offset == header.indexBytes, "the index is read whole")
            return (amended, fences, filter)
        }
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

    /// Reads and checks the entry record at `index`; nil when it fails its checksum or names another position.
    func readEntry(_ index: Int, position: Int64) -> IdempotencyEntry? {
        precondition(index >= 0 && index < header.entryCount, "an entry of the run")
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

    /// Reads `count` whole entry records from `index` on into `buffer` (for a compaction); false on a short read.
    func readRecords(from index: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(index >= 0 && count >= 0, "a record range of the run")
        let bytes = count * KeyRunHeader.recordBytes
        precondition(bytes <= buffer.count && index + count <= header.entryCount, "record read out of range")
        let offset = header.entriesOffset + Int64(index * KeyRunHeader.recordBytes)
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes])
        return (try? FileIO.readFully(descriptor, target, offset: offset, path: path)) == bytes
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
