#if canImport(Glibc)
    import Glibc
#endif

/// Opening the history store after a stop or a crash: the mark says what is durable; anything written after it
/// (movements, cards, a new file) is cut off, and the indexer writes it again from the log with the same seqs.
extension HistoryStore {
    static let markMagic: UInt32 = 0x4849_5331  // "HIS1"
    static let markName = "progress"

    func readMark() throws(LedgerError) {
        let path = directory + "/" + Self.markName
        guard FileIO.exists(path) else { return }
        let bytes = try FileIO.readWholeFile(path, bytesMax: 4096)
        let parsed: (UInt64, UInt64, [UInt64])? = bytes.withUnsafeBytes { buffer in
            var reader = ByteReader(base: buffer.baseAddress!, count: buffer.count)
            guard let magic = reader.get(UInt32.self), magic == Self.markMagic, let shards = reader.get(UInt32.self),
                Int(shards) == shardCount, let next = reader.get(UInt64.self), next >= 1,
                let cards = reader.get(UInt64.self)
            else { return nil }
            var marks: [UInt64] = []
            for _ in 0..<shardCount {
                guard let mark = reader.get(UInt64.self) else { return nil }
                marks.append(mark)
            }
            guard reader.get(UInt32.self) == crc(buffer.baseAddress!, reader.offset - 4), reader.offset == buffer.count
            else { return nil }
            return (next, cards, marks)
        }
        guard let (next, cards, marks) = parsed else {
            throw .damagedLog(
                file: path, offset: 0,
                reason: "the history progress mark is damaged or names another shard count (\(shardCount))")
        }
        setMark(nextSeq: next, cardsCount: cards, marks: marks)
    }

    func writeMark(nextSeq: UInt64, cardsCount: UInt64, marks: [UInt64]) throws(LedgerError) {
        precondition(nextSeq >= 1 && marks.count == shardCount, "a mark is read back: seqs from 1, a mark per shard")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 28 + 8 * marks.count, alignment: 8)
        defer { buffer.deallocate() }
        do {
            var writer = ByteWriter(base: buffer.baseAddress!, capacity: buffer.count)
            writer.put(Self.markMagic)
            writer.put(UInt32(marks.count))
            writer.put(nextSeq)
            writer.put(cardsCount)
            for mark in marks { writer.put(mark) }
            writer.put(crc(buffer.baseAddress!, writer.offset))
            precondition(writer.offset == buffer.count, "the mark's size")
        }
        try FileIO.writeFileAtomically(directory: directory, name: Self.markName, UnsafeRawBufferPointer(buffer))
    }

    private func crc(_ base: UnsafeRawPointer, _ count: Int) -> UInt32 {
        var value: UInt32 = 0x811C_9DC5
        for index in 0..<count { value = (value ^ UInt32(base.load(fromByteOffset: index, as: UInt8.self))) &* 16_777_619 }
        return value
    }

    /// The cards file cut to what the mark covers, read into the card map.
    func openCards() throws(LedgerError) {
        let path = directory + "/cards"
        let descriptor = try FileIO.openFile(path, flags: O_RDWR | O_CREAT)
        setCardsDescriptor(descriptor)
        let covered = Int64(cardsKept) * 32
        guard try FileIO.fileSize(descriptor, path: path) >= covered else {
            throw .damagedLog(file: path, offset: covered, reason: "the history's cards file is shorter than its mark")
        }
        try FileIO.truncate(descriptor, length: covered, path: path)
        let bytes = try FileIO.readBytes(descriptor, count: Int(covered), offset: 0, path: path)
        var pairs: [(CardHash, CardHash)] = []
        bytes.withUnsafeBytes { buffer in
            var reader = ByteReader(base: buffer.baseAddress!, count: buffer.count)
            while let card = reader.cardHash(), let member = reader.cardHash() { pairs.append((card, member)) }
        }
        precondition(pairs.count == Int(cardsKept), "every card the mark covers is read")
        restoreCards(pairs)
    }

    /// The movement files: those after the mark removed, the last cut to the mark, every kept record read back
    /// into the member map (its last seq and balances).
    func openMovementFiles() throws(LedgerError) {
        var firsts: [UInt64] = []
        for name in try FileIO.listDirectory(directory) where name.hasPrefix("movements-") && name.hasSuffix(".hist") {
            guard let first = UInt64(name.dropFirst(10).dropLast(5)), first >= 1 else { continue }
            if first >= nextSeq {
                try FileIO.remove(directory + "/" + name)
            } else {
                firsts.append(first)
            }
        }
        firsts.sort()
        for first in firsts { try scan(first: first, isLast: first == firsts.last) }
        precondition(firsts.allSatisfy { $0 >= 1 && $0 < nextSeq }, "the files kept hold seqs below the mark")
        restoreFiles(firsts)
    }

    private func scan(first: UInt64, isLast: Bool) throws(LedgerError) {
        precondition(first >= 1 && first < nextSeq, "a file below the mark")
        let path = directory + "/" + Self.fileName(firstSeq: first)
        let descriptor = try FileIO.openFile(path, flags: O_RDWR)
        let end = min(nextSeq, first + UInt64(limits.recordsPerFile))
        let bytes = Int64(end - first) * Int64(HistoryRecord.bytes)
        if isLast {
            guard try FileIO.fileSize(descriptor, path: path) >= bytes else {
                FileIO.closeFile(descriptor)
                throw .damagedLog(file: path, offset: bytes, reason: "a history file is shorter than its mark")
            }
            try FileIO.truncate(descriptor, length: bytes, path: path)
            setAppendDescriptor(descriptor)
        }
        defer { if !isLast { FileIO.closeFile(descriptor) } }
        let content = try FileIO.readBytes(descriptor, count: Int(bytes), offset: 0, path: path)
        var records: [HistoryRecord] = []
        let intact = content.withUnsafeBytes { buffer -> Bool in
            for offset in stride(from: 0, to: buffer.count, by: HistoryRecord.bytes) {
                guard let record = HistoryRecord.read(buffer.baseAddress! + offset),
                    record.seq == first + UInt64(offset / HistoryRecord.bytes)
                else { return false }
                records.append(record)
            }
            return true
        }
        guard intact, content.count == Int(bytes) else {
            throw .damagedLog(file: path, offset: 0, reason: "a history file below its mark does not read back")
        }
        restoreHeads(records)
    }
}
