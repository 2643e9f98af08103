import CCRC32C
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one `KeyRun` file streaming, through a 1 MiB buffer: entries (first versions in position order, then
/// newer versions in position order) in compact blocks (`KeyRunEntryBlock`), then names in (fingerprint,
/// position) order, then the index. The file is written as `<name>.tmp`, synced and renamed, so a run either
/// exists whole or not at all. Runs off the shard thread (flushes and compactions); during recovery on the
/// opening thread.
final class KeyRunBuilder {
    static let bufferBytes = 1 << 20
    private var header: KeyRunHeader
    private let directory: String
    private let temporaryPath: String
    private let descriptor: Int32
    private let buffer: UnsafeMutableRawPointer
    private var buffered = 0
    private var fileOffset: Int64 = 0
    /// Runs and merges reach hundreds of megabytes: written around the page cache in whole pieces (`DirectWrites`)
    /// and read back into it for the shard's lookups; what goes through the cache (the tail, the header, a file
    /// system without O_DIRECT) is written behind, so it never holds up the log's fdatasync.
    private var direct: DirectWrites
    private var writeBehind: WriteBehind
    private var entriesWritten = 0
    /// The compact block being filled, its entries and record bytes, the entry its records are told against.
    private let block: UnsafeMutableRawPointer
    private var blockEntries = 0
    private var blockUsed = 0
    private let previous: UnsafeMutableRawPointer
    private let record: UnsafeMutableRawPointer
    private var blockFirsts: [UInt64] = []
    private var amended: [Int64] = []
    private var lastAmended: Int64 = -1
    private var namesWritten = 0
    private var fences: [UInt64] = []
    private var filterWords: [UInt64]
    private var page: UnsafeMutableRawPointer
    private var pageCount = 0
    private var lastName: (UInt64, Int64) = (0, -1)

    /// `nameCount` must be exact: it sizes the filter and the page count in the header.
    init(
        directory: String, shardIndex: Int, firstSequence: UInt64, lastSequence: UInt64, firstBegin: Int64,
        firstCount: Int, amendmentCount: Int, nameCount: Int
    ) throws(LedgerError) {
        precondition(firstSequence >= 1 && firstSequence <= lastSequence, "run sequence range")
        precondition(firstCount >= 0 && amendmentCount >= 0 && nameCount >= 0, "a run's counts are not negative")
        precondition(shardIndex >= 0 && !directory.isEmpty, "a run belongs to a shard's directory")
        let blocks = KeyFilter.blockCount(forNames: nameCount)
        header = KeyRunHeader(
            shardIndex: UInt32(shardIndex), firstSequence: firstSequence, lastSequence: lastSequence,
            firstBegin: max(firstBegin, 0), firstCount: firstCount, amendmentCount: amendmentCount,
            nameCount: nameCount,
            pageCount: (nameCount + KeyRunHeader.namesPerPage - 1) / KeyRunHeader.namesPerPage, filterBlocks: blocks,
            newestCreatedAtMs: Int64.min)
        self.directory = directory
        temporaryPath = directory + "/" + KeyRunHeader.fileName(first: firstSequence, last: lastSequence) + ".tmp"
        descriptor = try FileIO.openFile(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
        buffer = .allocate(byteCount: Self.bufferBytes, alignment: 4096)
        page = .allocate(byteCount: KeyRunHeader.pageBytes, alignment: 16)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: KeyRunHeader.pageBytes)
        block = .allocate(byteCount: KeyRunEntryBlock.bytes, alignment: 16)
        previous = .allocate(byteCount: KeyRunEntryBlock.entryBytes, alignment: 16)
        previous.initializeMemory(as: UInt8.self, repeating: 0, count: KeyRunEntryBlock.entryBytes)
        record = .allocate(byteCount: KeyRunEntryBlock.recordBytesMax, alignment: 16)
        filterWords = [UInt64](repeating: 0, count: blocks * KeyFilter.blockWords)
        // The header's room is buffered as zeros (written at `finish`), so every full buffer lands page-aligned.
        buffered = Int(header.entriesOffset)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: buffered)
        direct = DirectWrites(path: temporaryPath)
        writeBehind = WriteBehind(descriptor: descriptor, offset: 0)
        precondition(header.filterBlocks >= 1 && buffered == KeyRunHeader.bytes, "entries follow the header")
    }

    deinit {
        buffer.deallocate()
        page.deallocate()
        block.deallocate()
        previous.deallocate()
        record.deallocate()
        direct.close()
        FileIO.closeFile(descriptor)
    }

    /// Appends the next entry: first versions (positions `firstBegin`, `firstBegin + 1`, …), then newer versions
    /// of positions before `firstBegin`, ascending.
    func appendEntry(_ entry: IdempotencyEntry, position: Int64) throws(LedgerError) {
        if entriesWritten < header.firstCount {
            precondition(position == header.firstBegin + Int64(entriesWritten), "first versions out of order")
        } else {
            precondition(position > lastAmended && entriesWritten < header.firstCount + header.amendmentCount)
            amended.append(position)
            lastAmended = position
        }
        header.newestCreatedAtMs = max(header.newestCreatedAtMs, entry.createdAtMs)
        header.oldestCreatedAtMs = min(header.oldestCreatedAtMs, entry.createdAtMs)
        try withUnsafeBytes(of: entry) { bytes throws(LedgerError) in
            precondition(bytes.count == KeyRunEntryBlock.entryBytes, "an entry is its stride")
            var length = KeyRunEntryBlock.encode(bytes.baseAddress!, previous: previous, into: record)
            if KeyRunEntryBlock.headBytes + blockUsed + length > KeyRunEntryBlock.bytes || blockEntries == UInt16.max {
                try sealBlock()
                length = KeyRunEntryBlock.encode(bytes.baseAddress!, previous: previous, into: record)
            }
            if blockEntries == 0 { blockFirsts.append(UInt64(entriesWritten)) }
            (block + KeyRunEntryBlock.headBytes + blockUsed).copyMemory(from: record, byteCount: length)
            blockUsed += length
            blockEntries += 1
            previous.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        entriesWritten += 1
        precondition(KeyRunEntryBlock.headBytes + blockUsed <= KeyRunEntryBlock.bytes, "the block holds its records")
    }

    /// Writes the block being filled (if it holds an entry) and starts the next from zeros.
    private func sealBlock() throws(LedgerError) {
        guard blockEntries > 0 else { return }
        KeyRunEntryBlock.seal(block, count: blockEntries, used: blockUsed, first: Int(blockFirsts.last!))
        try reserve(KeyRunEntryBlock.bytes)
        (buffer + buffered).copyMemory(from: block, byteCount: KeyRunEntryBlock.bytes)
        buffered += KeyRunEntryBlock.bytes
        blockEntries = 0
        blockUsed = 0
        previous.initializeMemory(as: UInt8.self, repeating: 0, count: KeyRunEntryBlock.entryBytes)
    }

    /// Appends the next name, in (fingerprint, position) order.
    func appendName(_ fingerprint: UInt64, position: Int64) throws(LedgerError) {
        precondition(entriesWritten == header.firstCount + header.amendmentCount, "names after every entry")
        precondition(namesWritten < header.nameCount, "more names than announced")
        if namesWritten == 0 { try sealBlock() }
        precondition(
            namesWritten == 0 || (fingerprint, position) >= lastName, "names out of order")
        lastName = (fingerprint, position)
        let inPage = namesWritten % KeyRunHeader.namesPerPage
        if inPage == 0 { fences.append(fingerprint) }
        let pair = page + 16 + inPage * 16
        pair.storeBytes(of: fingerprint.littleEndian, as: UInt64.self)
        pair.storeBytes(of: position.littleEndian, toByteOffset: 8, as: Int64.self)
        filterWords.withUnsafeMutableBufferPointer { KeyFilter.insert(fingerprint, into: $0) }
        namesWritten += 1
        if inPage + 1 == KeyRunHeader.namesPerPage || namesWritten == header.nameCount {
            try flushPage(count: inPage + 1)
        }
    }

    private func flushPage(count: Int) throws(LedgerError) {
        precondition(count >= 1 && count <= KeyRunHeader.namesPerPage, "a page holds 1...namesPerPage names")
        precondition(pageCount < header.pageCount, "no more pages than announced")
        let pageBytes = KeyRunHeader.pageBytes
        page.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 4, as: UInt32.self)
        let crc = ccrc32c_update(0, page + 4, pageBytes - 4)
        page.storeBytes(of: crc.littleEndian, as: UInt32.self)
        try reserve(pageBytes)
        (buffer + buffered).copyMemory(from: page, byteCount: pageBytes)
        buffered += pageBytes
        page.initializeMemory(as: UInt8.self, repeating: 0, count: pageBytes)
        pageCount += 1
    }

    /// Writes the index and the header, syncs and renames; returns the run's path.
    func finish() throws(LedgerError) -> String {
        precondition(entriesWritten == header.firstCount + header.amendmentCount, "entries missing")
        precondition(namesWritten == header.nameCount && pageCount == header.pageCount, "names missing")
        try sealBlock()
        header.entryBlocks = blockFirsts.count
        var index: [UInt64] = amended.map { UInt64(bitPattern: $0) } + blockFirsts + fences + filterWords
        for position in index.indices { index[position] = index[position].littleEndian }
        header.indexCRC = index.withUnsafeBytes { ccrc32c_update(0, $0.baseAddress, $0.count) }
        let bytes = index.withUnsafeBytes { [UInt8]($0) }
        try bytes.withBytes { bytes throws(LedgerError) in try writeBuffered(bytes) }
        try drain(final: true)
        precondition(fileOffset == header.fileBytes, "run size disagrees with its header")
        let headerBytes = UnsafeMutableRawPointer.allocate(byteCount: KeyRunHeader.bytes, alignment: 16)
        defer { headerBytes.deallocate() }
        header.encode(into: headerBytes)
        try FileIO.writeAll(
            descriptor, UnsafeRawBufferPointer(start: headerBytes, count: KeyRunHeader.bytes), offset: 0,
            path: temporaryPath)
        try FileIO.syncAll(descriptor, path: temporaryPath)
        if direct.isDirect { try DirectWrites.readIntoCache(path: temporaryPath, bytes: fileOffset) }
        let path = directory + "/" + KeyRunHeader.fileName(first: header.firstSequence, last: header.lastSequence)
        try FileIO.rename(temporaryPath, path)
        try FileIO.syncDirectory(directory)
        precondition(amended.count == header.amendmentCount && fences.count == header.pageCount, "the index as counted")
        return path
    }

    /// Removes the temporary file after a failure.
    func abandon() { try? FileIO.remove(temporaryPath) }

    private func writeBuffered(_ bytes: UnsafeRawBufferPointer) throws(LedgerError) {
        var done = 0
        while done < bytes.count {
            try reserve(min(8, bytes.count - done))
            let count = min(Self.bufferBytes - buffered, bytes.count - done)
            (buffer + buffered).copyMemory(from: bytes.baseAddress! + done, byteCount: count)
            buffered += count
            done += count
        }
        precondition(done == bytes.count, "every byte is buffered")
    }

    private func reserve(_ bytes: Int) throws(LedgerError) {
        precondition(bytes > 0 && bytes <= Self.bufferBytes, "a reservation fits the buffer")
        if buffered + bytes > Self.bufferBytes { try drain(final: false) }
        precondition(buffered + bytes <= Self.bufferBytes, "room after a drain")
    }

    /// Writes what is buffered (whole pages only unless `final`; the rest moves to the buffer's start).
    private func drain(final: Bool) throws(LedgerError) {
        let count = direct.writable(buffered, final: final)
        guard count > 0 else { return }
        try direct.write(
            UnsafeRawBufferPointer(start: buffer, count: count), offset: fileOffset, through: descriptor,
            writeBehind: &writeBehind)
        fileOffset += Int64(count)
        buffered -= count
        if buffered > 0 { buffer.copyMemory(from: buffer + count, byteCount: buffered) }
        precondition(buffered < DirectWrites.alignment && fileOffset > Int64(KeyRunHeader.bytes), "a drain writes")
    }
}
