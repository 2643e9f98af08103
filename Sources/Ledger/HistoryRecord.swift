import CCRC32C

/// One movement as the history store keeps it: 64 bytes, little-endian, fixed size so that a movement's place in
/// its file is `(seq - file's first seq) × 64` and a member's movements are found by following `previous`:
///
///     0  seq           UInt64  the movement's number, contiguous from 1 over the whole store
///     8  previous      UInt64  the seq of the same member's movement before this one (0: none kept)
///    16  member        2×UInt64 the member's id (the hash of the card it was enrolled with)
///    32  timeMs        Int64   the log record's time
///    40  amount        Int64   signed change of `asset`
///    48  balanceAfter  Int64   the member's balance of `asset` after it
///    56  kind          UInt8   index in `kindNames`
///    57  asset         UInt8   0 points, 1 credit, 2 gift value
///    58  reason        UInt8   index in `reasonNames` (0: none)
///    59  shard         UInt8   the shard whose log said it
///    60  crc32c        UInt32  over bytes 0 ..< 60
public struct HistoryRecord: Equatable, Sendable {
    public var seq: UInt64
    public var previous: UInt64
    public var member: CardHash
    public var timeMs: Int64
    public var amount: Int64
    public var balanceAfter: Int64
    public var kind: UInt8
    public var asset: UInt8
    public var reason: UInt8
    public var shard: UInt8

    public static let bytes = 64
    public static let assetNames = ["points", "credit", "giftValue"]
    /// Movement kinds (RecordChange.kind); a new kind is appended, never inserted (the index is stored).
    public static let kindNames = [
        "", "earn", "redeem", "capture", "void", "reverse", "refund", "adjust", "engage", "giftLoad", "giftUse",
        "enrol", "transferOut", "transferIn", "referral", "link", "lottery",
    ]
    public static let reasonNames = ["", "goodwill", "correction", "migration", "fraud", "terminal", "late"]

    public var kindName: String { Int(kind) < Self.kindNames.count ? Self.kindNames[Int(kind)] : "unknown" }
    public var assetName: String { Int(asset) < Self.assetNames.count ? Self.assetNames[Int(asset)] : "unknown" }
    public var reasonName: String? { reason != 0 && Int(reason) < Self.reasonNames.count ? Self.reasonNames[Int(reason)] : nil }

    func write(to base: UnsafeMutableRawPointer) {
        precondition(seq > 0 && previous < seq, "a movement's seq follows the member's one before")
        var writer = ByteWriter(base: base, capacity: Self.bytes)
        writer.put(seq)
        writer.put(previous)
        writer.put(member)
        writer.put(timeMs)
        writer.put(amount)
        writer.put(balanceAfter)
        writer.put(kind)
        writer.put(asset)
        writer.put(reason)
        writer.put(shard)
        writer.put(ccrc32c_update(0, base, 60))
        precondition(writer.offset == Self.bytes, "a history record is 64 bytes")
        assert(Self.read(UnsafeRawPointer(base)) == self, "a history record reads back as written")
    }

    /// Reads a record whose checksum holds; nil for a torn or foreign one.
    static func read(_ base: UnsafeRawPointer) -> HistoryRecord? {
        var reader = ByteReader(base: base, count: bytes)
        guard let seq = reader.get(UInt64.self), let previous = reader.get(UInt64.self), let member = reader.cardHash(),
            let time = reader.get(Int64.self), let amount = reader.get(Int64.self),
            let balance = reader.get(Int64.self), let kind = reader.get(UInt8.self), let asset = reader.get(UInt8.self),
            let reason = reader.get(UInt8.self), let shard = reader.get(UInt8.self), let crc = reader.get(UInt32.self),
            crc == ccrc32c_update(0, base, 60), seq > 0, previous < seq
        else { return nil }
        precondition(reader.offset == bytes, "a history record is 64 bytes")
        return HistoryRecord(
            seq: seq, previous: previous, member: member, timeMs: time, amount: amount, balanceAfter: balance,
            kind: kind, asset: asset, reason: reason, shard: shard)
    }
}
