import CCRC32C

#if canImport(Glibc)
    import Glibc
#endif

/// A shard's whole state at one log sequence, in one checksummed file `snapshot-<sequence>.snap`.
///
/// Layout: a fixed header (magic, version, shard, sequence, chain checksum, element strides and counts), the
/// tables as raw element arrays (members, cards, holds, idempotency entries oldest first, outbox), then the
/// CRC32C of everything before it. Raw arrays make writing and loading a copy; the strides in the header
/// make a build with another layout refuse the file instead of misreading it.
enum Snapshot {
    static let magic: UInt32 = 0x504E_534C  // "LSNP"
    /// 3: idempotency entries carry a terminal reference. 4: a lot section follows the outbox (Snapshot+Lots.swift);
    /// members carry their loyalty aggregates and referrer, idempotency entries a purchase's rules decision; a
    /// settlement section and (5) a spent-lot section end the file (Snapshot+Settlements.swift).
    /// 6: the key store's part follows (Snapshot+Keys.swift): the runs it relies on and its filling buffer.
    /// 7: written by a checkpoint thread while the shard serves (Checkpoint.swift): the idempotency ring and the
    /// spent-lot ring in storage order (one piece, or two when they wrap: the newest first), with the ring's
    /// capacity in the header's last 4 bytes and the spent ring's start and capacity in its section header.
    /// Format 5 is still read (its keys all in the ring); older snapshots are refused as incompatible (not
    /// converted): the format is young, and the refusal names both versions so the operator knows why.
    /// 7 also adds a gift-account section after the outbox (Snapshot+Gifts.swift); formats 5 and 6 load with none.
    /// 7 also adds an engagement section after the spent-lot section (Snapshot+Engagement.swift).
    static let version: UInt32 = 7
    static let versionsRead: ClosedRange<UInt32> = 5...7
    static let headerBytes = 128

    static func fileName(sequence: UInt64) -> String {
        let digits = String(sequence)
        precondition(digits.count <= 20, "a sequence has at most 20 digits")
        let name = "snapshot-" + String(repeating: "0", count: 20 - digits.count) + digits + ".snap"
        assert(self.sequence(ofFileName: name) == sequence, "a snapshot's name gives back its sequence")
        return name
    }

    /// The sequence in a snapshot's file name (`fileName(sequence:)`); nil for any other name.
    static func sequence(ofFileName name: some StringProtocol) -> UInt64? {
        guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap") else { return nil }
        return UInt64(name.dropFirst(9).dropLast(5))
    }

    struct Header {
        var shardIndex: UInt32
        var shardCount: UInt32
        var sequence: UInt64
        var lastCRC: UInt32
        var memberCount: Int
        var cardCount: Int
        var holdCount: Int
        var freeHoldHead: Int32
        var activeHoldCount: Int
        var idempotencyNextPosition: Int64
        var idempotencyCount: Int
        var outboxCount: Int
        /// The idempotency ring's capacity when written (format 7; 0 before: entries oldest first).
        var ringCapacity: Int = 0
        var version: UInt32 = Snapshot.version
    }

    static let strides: [UInt32] = [
        UInt32(MemoryLayout<MemberRecord>.stride), UInt32(MemoryLayout<CardRecord>.stride),
        UInt32(MemoryLayout<HoldRecord>.stride), UInt32(MemoryLayout<IdempotencyEntry>.stride),
        UInt32(MemoryLayout<OutboxTransfer>.stride),
        UInt32(MemoryLayout<MemberLots>.stride), UInt32(MemoryLayout<LotRecord>.stride),
        UInt32(MemoryLayout<SettlementRecord>.stride), UInt32(MemoryLayout<SpentLotTable.Part>.stride),
    ]

    static func encodeHeader(_ header: Header, into base: UnsafeMutableRawPointer) {
        precondition(header.version == version, "a snapshot is written in the current format")
        precondition(
            header.memberCount >= 0 && header.cardCount >= 0 && header.holdCount >= 0 && header.outboxCount >= 0,
            "a snapshot's table counts are not negative")
        precondition(
            header.activeHoldCount >= 0 && header.activeHoldCount <= header.holdCount,
            "active holds are among the hold records")
        precondition(
            header.freeHoldHead >= 0 && Int(header.freeHoldHead) <= header.holdCount,
            "the free hold head names a hold record or none")
        precondition(
            header.ringCapacity >= 1 && header.idempotencyCount >= 0 && header.idempotencyCount <= header.ringCapacity,
            "the idempotency ring's count fits its capacity")
        precondition(
            header.idempotencyNextPosition >= Int64(header.idempotencyCount),
            "the ring's next position is past its entries")
        base.initializeMemory(as: UInt8.self, repeating: 0, count: headerBytes)
        var writer = ByteWriter(base: base, capacity: headerBytes)
        writer.put(magic)
        writer.put(version)
        writer.put(header.shardIndex)
        writer.put(header.shardCount)
        writer.put(header.sequence)
        writer.put(header.lastCRC)
        for stride in strides { writer.put(stride) }
        writer.put(UInt64(header.memberCount))
        writer.put(UInt64(header.cardCount))
        writer.put(UInt64(header.holdCount))
        writer.put(header.freeHoldHead)
        writer.put(UInt64(header.activeHoldCount))
        writer.put(header.idempotencyNextPosition)
        writer.put(UInt64(header.idempotencyCount))
        writer.put(UInt64(header.outboxCount))
        writer.put(UInt32(header.ringCapacity))
        precondition(writer.offset == headerBytes, "a snapshot header is 128 bytes")
        assert(
            decodeHeader(UnsafeRawPointer(base), count: headerBytes).map {
                $0.memberCount == header.memberCount && $0.cardCount == header.cardCount
                    && $0.holdCount == header.holdCount && $0.freeHoldHead == header.freeHoldHead
                    && $0.activeHoldCount == header.activeHoldCount && $0.idempotencyCount == header.idempotencyCount
                    && $0.idempotencyNextPosition == header.idempotencyNextPosition
                    && $0.outboxCount == header.outboxCount && $0.ringCapacity == header.ringCapacity
                    && $0.sequence == header.sequence && $0.lastCRC == header.lastCRC
            } == true, "a snapshot header reads back as written")
    }

    static func decodeHeader(_ base: UnsafeRawPointer, count: Int) -> Header? {
        var reader = ByteReader(base: base, count: min(count, headerBytes))
        guard count >= headerBytes, reader.get(UInt32.self) == magic, let version = reader.get(UInt32.self),
            versionsRead.contains(version),
            let shardIndex = reader.get(UInt32.self), let shardCount = reader.get(UInt32.self),
            let sequence = reader.get(UInt64.self), let lastCRC = reader.get(UInt32.self)
        else { return nil }
        for stride in strides where reader.get(UInt32.self) != stride { return nil }
        guard let members = reader.get(UInt64.self), let cards = reader.get(UInt64.self),
            let holds = reader.get(UInt64.self), let freeHead = reader.get(Int32.self),
            let activeHolds = reader.get(UInt64.self), let nextPosition = reader.get(Int64.self),
            let keys = reader.get(UInt64.self), let outbox = reader.get(UInt64.self),
            members < UInt64(Int32.max), cards < UInt64(Int32.max), holds < UInt64(Int32.max),
            keys < UInt64(Int32.max), outbox < UInt64(Int32.max), activeHolds <= holds
        else { return nil }
        let ringCapacity = version >= 7 ? Int(reader.get(UInt32.self) ?? 0) : 0
        guard version < 7 || (ringCapacity >= 1 && UInt64(ringCapacity) >= keys && nextPosition >= Int64(keys)) else {
            return nil
        }
        precondition(reader.offset <= headerBytes, "a snapshot header is read within its 128 bytes")
        return Header(
            shardIndex: shardIndex, shardCount: shardCount, sequence: sequence, lastCRC: lastCRC,
            memberCount: Int(members), cardCount: Int(cards), holdCount: Int(holds), freeHoldHead: freeHead,
            activeHoldCount: Int(activeHolds), idempotencyNextPosition: nextPosition, idempotencyCount: Int(keys),
            outboxCount: Int(outbox), ringCapacity: ringCapacity, version: version)
    }
}
