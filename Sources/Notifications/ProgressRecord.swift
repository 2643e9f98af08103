import CCRC32C

/// A dead letter as kept: the event's identity, the exact body that was sent, and why its last try failed.
public struct DeadLetter: Sendable, Equatable {
    public let position: UInt64
    public let eventId: String
    public let eventType: String
    public let memberId: String
    public let tries: Int
    public let lastError: String
    public let body: [UInt8]
}

/// One line of a webhook's progress file. Acknowledged and dead-lettered events past the low watermark are kept
/// one by one (they finish out of order across members); the watermark itself is written with every group commit.
enum ProgressRecord: Equatable {
    /// Every position up to and including this one is acknowledged, dead-lettered or not for this webhook.
    case watermark(UInt64)
    case acknowledged(UInt64)
    case deadLettered(DeadLetter)
    /// An operator asked to try a dead letter again: it leaves the list and is pending until acknowledged.
    case revived(UInt64)

    static let kindWatermark: UInt8 = 1
    static let kindAcknowledged: UInt8 = 2
    static let kindDeadLettered: UInt8 = 3
    static let kindRevived: UInt8 = 4
    /// A record (length, checksum, body) is at most this long; a dead letter's body is bounded well below it.
    static let recordBytesMax = 1 << 20

    /// `[u32 body length][u32 CRC32C of the body][body]`, little-endian; the body starts with the kind.
    func encode(into output: inout [UInt8]) {
        var body: [UInt8] = []
        switch self {
        case .watermark(let position): Self.append(&body, Self.kindWatermark, position)
        case .acknowledged(let position): Self.append(&body, Self.kindAcknowledged, position)
        case .revived(let position): Self.append(&body, Self.kindRevived, position)
        case .deadLettered(let letter):
            Self.append(&body, Self.kindDeadLettered, letter.position)
            Self.appendInteger(&body, UInt32(letter.tries))
            for text in [letter.eventId, letter.eventType, letter.memberId, letter.lastError] {
                Self.appendBytes(&body, Array(text.utf8))
            }
            Self.appendBytes(&body, letter.body)
        }
        precondition(body.count + 8 <= Self.recordBytesMax, "a progress record is bounded")
        Self.appendInteger(&output, UInt32(body.count))
        Self.appendInteger(&output, body.withUnsafeBytes { ccrc32c_update(0, $0.baseAddress, $0.count) })
        output.append(contentsOf: body)
    }

    /// Reads the record at `offset`; nil at the end or at a torn or damaged tail (a crash mid-write), where
    /// reading stops: what follows was never acknowledged as durable.
    static func decode(_ bytes: [UInt8], at offset: inout Int) -> ProgressRecord? {
        var cursor = ByteCursor(bytes: bytes, offset: offset)
        guard let length = cursor.integer(UInt32.self), let checksum = cursor.integer(UInt32.self),
            Int(length) + 8 <= recordBytesMax, cursor.remaining >= Int(length)
        else { return nil }
        let body = Array(bytes[cursor.offset..<cursor.offset + Int(length)])
        guard body.withUnsafeBytes({ ccrc32c_update(0, $0.baseAddress, $0.count) }) == checksum else { return nil }
        var reader = ByteCursor(bytes: body, offset: 0)
        guard let record = decodeBody(&reader), reader.remaining == 0 else { return nil }
        offset = cursor.offset + Int(length)
        return record
    }

    static func decodeBody(_ reader: inout ByteCursor) -> ProgressRecord? {
        guard let kind = reader.integer(UInt8.self), let position = reader.integer(UInt64.self) else { return nil }
        switch kind {
        case kindWatermark: return .watermark(position)
        case kindAcknowledged: return .acknowledged(position)
        case kindRevived: return .revived(position)
        case kindDeadLettered:
            guard let tries = reader.integer(UInt32.self), let id = reader.text(), let type = reader.text(),
                let member = reader.text(), let error = reader.text(), let body = reader.lengthPrefixedBytes()
            else { return nil }
            return .deadLettered(
                DeadLetter(
                    position: position, eventId: id, eventType: type, memberId: member, tries: Int(tries),
                    lastError: error, body: body))
        default: return nil
        }
    }

    static func append(_ output: inout [UInt8], _ kind: UInt8, _ position: UInt64) {
        output.append(kind)
        appendInteger(&output, position)
    }

    static func appendInteger<Value: FixedWidthInteger>(_ output: inout [UInt8], _ value: Value) {
        withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) }
    }

    static func appendBytes(_ output: inout [UInt8], _ bytes: [UInt8]) {
        appendInteger(&output, UInt32(bytes.count))
        output.append(contentsOf: bytes)
    }
}

/// Little-endian reads from a byte array that stop (nil) at its end.
struct ByteCursor {
    let bytes: [UInt8]
    var offset: Int

    var remaining: Int { bytes.count - offset }

    mutating func integer<Value: FixedWidthInteger>(_ type: Value.Type) -> Value? {
        let size = MemoryLayout<Value>.size
        guard remaining >= size else { return nil }
        var value: Value = 0
        for index in 0..<size { value |= Value(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    mutating func lengthPrefixedBytes() -> [UInt8]? {
        guard let count = integer(UInt32.self), remaining >= Int(count) else { return nil }
        defer { offset += Int(count) }
        return Array(bytes[offset..<offset + Int(count)])
    }

    mutating func text() -> String? { lengthPrefixedBytes().map { String(decoding: $0, as: UTF8.self) } }
}

/// What a progress file says, replayed record by record: the watermark, positions finished past it, the dead
/// letters, and revived dead letters not yet acknowledged. The writer keeps one up to date to compact the file.
struct ProgressState: Equatable {
    var watermark: UInt64 = 0
    var finishedPastWatermark: Set<UInt64> = []
    var deadLetters: [UInt64: DeadLetter] = [:]
    var revived: [UInt64: DeadLetter] = [:]

    mutating func apply(_ record: ProgressRecord) {
        switch record {
        case .watermark(let position):
            guard position > watermark else { return }
            watermark = position
            finishedPastWatermark = finishedPastWatermark.filter { $0 > position }
            while finishedPastWatermark.remove(watermark + 1) != nil { watermark += 1 }
        case .acknowledged(let position):
            if revived.removeValue(forKey: position) == nil { finish(position) }
        case .deadLettered(let letter):
            if revived.removeValue(forKey: letter.position) == nil { finish(letter.position) }
            deadLetters[letter.position] = letter
        case .revived(let position):
            if let letter = deadLetters.removeValue(forKey: position) { revived[position] = letter }
        }
    }

    mutating func finish(_ position: UInt64) {
        guard position > watermark else { return }
        finishedPastWatermark.insert(position)
        while finishedPastWatermark.remove(watermark + 1) != nil { watermark += 1 }
    }

    /// The records that say the same as the whole history (for compaction).
    var records: [ProgressRecord] {
        var records: [ProgressRecord] = [.watermark(watermark)]
        records += finishedPastWatermark.sorted().map { .acknowledged($0) }
        let dead = (deadLetters.values.map { $0 } + revived.values.map { $0 }).sorted { $0.position < $1.position }
        for letter in dead {
            // A dead letter at or below the watermark would finish nothing new when replayed; one above it was
            // finished by the record above already, so replaying it again changes nothing either.
            records.append(.deadLettered(letter))
            if revived[letter.position] != nil { records.append(.revived(letter.position)) }
        }
        return records
    }
}
