import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

extension Snapshot {
    /// A checkpoint's member, card and gift sections read in place from the mapped file, for reports: nothing is
    /// copied into tables, and the pages read are dropped from this process as the walk passes them, so a report
    /// over a shard of any size keeps about `residentBytesMax` of it mapped (the page cache keeps the file; RSS
    /// does not). The layout is the loader's own (`decodeHeader`, `strides`, `sectionCount`): a build that would
    /// misread the file refuses it as `load` does.
    ///
    /// Not `Sendable`: one report's thread reads it from start to end.
    final class Walk {
        /// Bytes read between two drops of the whole mapping (the pages stay in the page cache, so a page read
        /// again after a drop costs a minor fault, not a disk read).
        static let residentBytesMax = 8 << 20
        let path: String
        let header: Header
        private let bytes: UnsafeRawBufferPointer
        private let membersOffset: Int
        private let cardsOffset: Int
        /// Gift accounts by member index (at most `giftCardsPerShardMax`, checked as the loader does).
        let gifts: [Int32: GiftAccount]
        private var bytesSinceDrop = 0

        /// Maps `path` (without populating it), checks its checksum and its layout for `shard`. `descriptor`: the
        /// file already open (a checkpoint pinned for a report, whose path a newer checkpoint may have removed).
        init(path: String, descriptor: Int32? = nil, shard: Int, shardCount: Int, giftsMax: Int) throws(LedgerError) {
            self.path = path
            bytes = try Self.map(path, descriptor: descriptor)
            do throws(LedgerError) {
                header = try Self.checkedHeader(bytes, path: path, shard: shard, shardCount: shardCount)
                membersOffset = headerBytes
                cardsOffset = membersOffset + header.memberCount * Int(strides[0])
                let tablesEnd =
                    cardsOffset + header.cardCount * Int(strides[1]) + header.holdCount * Int(strides[2])
                    + header.idempotencyCount * Int(strides[3]) + header.outboxCount * Int(strides[4])
                guard tablesEnd <= bytes.count - 4 else {
                    throw .damagedSnapshot(file: path, reason: "length does not match the counts in its header")
                }
                precondition(
                    membersOffset == headerBytes && cardsOffset >= membersOffset && tablesEnd >= cardsOffset,
                    "the walked sections are in file order")
                gifts =
                    header.version >= 7
                    ? try Self.gifts(bytes, offset: tablesEnd, memberCount: header.memberCount, max: giftsMax, path: path)
                    : [:]
            } catch {
                munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count)
                throw error
            }
            dropAll()
        }

        deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count) }

        func member(_ index: Int) -> MemberRecord {
            precondition(index >= 0 && index < header.memberCount, "a member of the checkpoint")
            return read(MemberRecord.self, at: membersOffset + index * Int(strides[0]))
        }

        func card(_ index: Int) -> CardRecord {
            precondition(index >= 0 && index < header.cardCount, "a card of the checkpoint")
            return read(CardRecord.self, at: cardsOffset + index * Int(strides[1]))
        }

        private func read<Element: BitwiseCopyable>(_ type: Element.Type, at offset: Int) -> Element {
            precondition(offset + MemoryLayout<Element>.size <= bytes.count - 4, "inside the checkpoint's tables")
            bytesSinceDrop += MemoryLayout<Element>.stride
            if bytesSinceDrop >= Self.residentBytesMax { dropAll() }
            return bytes.loadUnaligned(fromByteOffset: offset, as: Element.self)
        }

        /// Unmaps every page read so far from this process (they stay in the page cache): RSS falls back to zero
        /// for the file, whichever sections were read and in which order.
        private func dropAll() {
            bytesSinceDrop = 0
            _ = madvise(UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count, MADV_DONTNEED)
        }

        /// A private read-only mapping, read ahead sequentially, never populated at once (unlike `MappedFile`).
        private static func map(_ path: String, descriptor open: Int32?) throws(LedgerError) -> UnsafeRawBufferPointer {
            let descriptor: Int32
            if let open { descriptor = open } else { descriptor = try FileIO.openFile(path, flags: O_RDONLY) }
            defer { if open == nil { FileIO.closeFile(descriptor) } }
            let size = try FileIO.fileSize(descriptor, path: path)
            guard size <= Int64(fileBytesMax) else { throw .io(operation: "map (file too large)", path: path, errno: EFBIG) }
            guard size >= Int64(headerBytes + 4) else { throw .damagedSnapshot(file: path, reason: "too short") }
            let address = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE, descriptor, 0)
            guard let address, address != MAP_FAILED else { throw .io(operation: "mmap", path: path, errno: errno) }
            _ = madvise(address, Int(size), MADV_SEQUENTIAL)
            return UnsafeRawBufferPointer(start: address, count: Int(size))
        }

        /// The checksum over the whole file, a piece at a time with each piece dropped after it; then the header.
        private static func checkedHeader(
            _ bytes: UnsafeRawBufferPointer, path: String, shard: Int, shardCount: Int
        ) throws(LedgerError) -> Header {
            let contentBytes = bytes.count - 4
            var crc: UInt32 = 0
            var offset = 0
            while offset < contentBytes {
                let length = min(residentBytesMax, contentBytes - offset)
                crc = ccrc32c_update(crc, bytes.baseAddress! + offset, length)
                let pageStart = offset & ~(Int(getpagesize()) - 1)
                _ = madvise(
                    UnsafeMutableRawPointer(mutating: bytes.baseAddress! + pageStart), offset + length - pageStart,
                    MADV_DONTNEED)
                offset += length
            }
            let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: contentBytes, as: UInt32.self))
            guard crc == stored else { throw .damagedSnapshot(file: path, reason: "checksum mismatch") }
            guard let header = decodeHeader(bytes.baseAddress!, count: contentBytes) else {
                throw .damagedSnapshot(file: path, reason: "unknown format or layout (written by another build?)")
            }
            guard header.shardIndex == UInt32(shard), header.shardCount == UInt32(shardCount) else {
                throw .incompatibleDirectory(reason: "\(path) belongs to shard \(header.shardIndex) of \(header.shardCount)")
            }
            return header
        }

        /// The gift section (format 7), checked as `loadGifts` checks it, by member index.
        private static func gifts(
            _ bytes: UnsafeRawBufferPointer, offset: Int, memberCount: Int, max: Int, path: String
        ) throws(LedgerError) -> [Int32: GiftAccount] {
            let content = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 4)])
            let count = try sectionCount(content, offset: offset, path: path, section: "gift").count
            guard count <= max else {
                throw .incompatibleDirectory(reason: "\(path) holds more gift cards than giftCardsPerShardMax")
            }
            let stride = MemoryLayout<GiftAccount>.stride
            let base = offset + settlementSectionHeaderBytes
            guard base + count * stride <= content.count else {
                throw .damagedSnapshot(file: path, reason: "length does not match the gift count")
            }
            precondition(count >= 0 && count <= max, "a checked gift count")
            var accounts: [Int32: GiftAccount] = [:]
            accounts.reserveCapacity(count)
            for index in 0..<count {
                let account = content.loadUnaligned(fromByteOffset: base + index * stride, as: GiftAccount.self)
                guard account.currencyCode != 0, account.currencyCode <= 999, account.balanceMinor >= 0,
                    account.member >= 0, Int(account.member) < memberCount, account.reserved == 0
                else { throw .damagedSnapshot(file: path, reason: "gift account \(index) out of range") }
                if accounts[account.member] == nil { accounts[account.member] = account }
            }
            precondition(accounts.count <= count, "at most one account per gift record")
            return accounts
        }
    }
}
