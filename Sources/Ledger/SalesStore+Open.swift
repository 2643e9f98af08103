import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

/// Opening the sales store after a stop or a crash: the mark says what is durable; what was written after it (in
/// the newest pair, or a newer pair) is cut off, and the indexer writes it again from the log.
extension SalesStore {
    func open() throws(LedgerError) {
        let names = try FileIO.listDirectory(directory)
        var found = Set<Int64>()
        for name in names where name.hasSuffix(".sales") {
            if let day = Int64(name.dropLast(6)) { found.insert(day) }
        }
        guard let mark = try readMark() else {
            // No mark: nothing is durable yet; any pair is an unfinished first write.
            for day in found { try removePair(day) }
            return
        }
        for day in found where day > mark.day { try removePair(day) }
        let kept = found.filter { $0 <= mark.day }.sorted()
        if kept.isEmpty && mark.sales == 0 && mark.lines == 0 {
            // Records indexed, none with a sale yet: only the shards' marks to keep.
            adoptMarks(mark.marks)
            return
        }
        guard kept.last == mark.day else {
            throw .damagedLog(file: directory, offset: 0, reason: "the sales progress mark names a file that is gone")
        }
        precondition(mark.marks.count == shardCount, "a checked mark has a mark per shard")
        try adopt(days: kept, sales: mark.sales, lines: mark.lines, marks: mark.marks)
        try rememberNewest()
    }

    private func removePair(_ day: Int64) throws(LedgerError) {
        for suffix in ["sales", "items"] {
            let path = directory + "/" + String(day) + "." + suffix
            if FileIO.exists(path) { try FileIO.remove(path) }
        }
    }

    struct Mark {
        var day: Int64
        var sales: UInt64
        var lines: UInt64
        var marks: [UInt64]
    }

    func readMark() throws(LedgerError) -> Mark? {
        let path = directory + "/" + Self.markName
        guard FileIO.exists(path) else { return nil }
        let bytes = try FileIO.readWholeFile(path, bytesMax: 1 << 20)
        let mark: Mark? = bytes.withUnsafeBytes { buffer in
            guard buffer.count >= 4 else { return nil }
            var reader = ByteReader(base: buffer.baseAddress!, count: buffer.count)
            guard reader.get(UInt32.self) == Self.markMagic, let shards = reader.get(UInt32.self),
                Int(shards) == shardCount, let day = reader.get(Int64.self), let sales = reader.get(UInt64.self),
                let lines = reader.get(UInt64.self)
            else { return nil }
            var marks: [UInt64] = []
            for _ in 0..<shardCount {
                guard let mark = reader.get(UInt64.self) else { return nil }
                marks.append(mark)
            }
            let crc = ccrc32c_update(0, buffer.baseAddress!, reader.offset)
            guard reader.get(UInt32.self) == crc, reader.offset == buffer.count else { return nil }
            return Mark(day: day, sales: sales, lines: lines, marks: marks)
        }
        guard let mark else {
            throw .damagedLog(
                file: path, offset: 0, reason: "the sales progress mark is damaged or names another shard count")
        }
        return mark
    }

    func writeMark(day: Int64, sales: UInt64, lines: UInt64, marks: [UInt64]) throws(LedgerError) {
        precondition(marks.count == shardCount && isWriter, "a writer's mark per shard")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 36 + 8 * marks.count, alignment: 8)
        defer { buffer.deallocate() }
        var writer = ByteWriter(base: buffer.baseAddress!, capacity: buffer.count)
        writer.put(Self.markMagic)
        writer.put(UInt32(marks.count))
        writer.put(day)
        writer.put(sales)
        writer.put(lines)
        for mark in marks { writer.put(mark) }
        writer.put(ccrc32c_update(0, buffer.baseAddress!, writer.offset))
        precondition(writer.offset == buffer.count, "the mark's size")
        try FileIO.writeFileAtomically(directory: directory, name: Self.markName, UnsafeRawBufferPointer(buffer))
    }
}
