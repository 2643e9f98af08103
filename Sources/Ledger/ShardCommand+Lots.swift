/// The lot fields of a shard command and of its log record.
extension ShardCommand {
    /// Set on a command whose record carries resolved lot terms (12 bytes after the terminal reference: points
    /// day Int32, credit day Int32, origin UInt32). Records without it decode as "never expires, no origin".
    /// Bit 128, far from the low bits, which are taken in order.
    static let optionHasLotTerms: UInt16 = 128

    /// The kinds that may credit a member and so may carry lot terms (a transferDone's restore uses the terms
    /// kept in its outbox entry).
    static func carriesLotTerms(_ kind: CommandKind) -> Bool {
        switch kind {
        case .earn, .reverse, .transferIn, .transferInNewCard, .adjust, .engage: true
        default: false
        }
    }

}

extension WALRecord {
    static let lotTermsBytes = 12

    /// Writes the lot terms when the option bit says so (after every other field of the body).
    static func encodeLotTerms(_ command: ShardCommand, _ writer: inout ByteWriter) {
        guard command.options.contains(.hasLotTerms) else { return }
        precondition(
            ShardCommand.carriesLotTerms(command.kind) && command.lotTerms.pointsExpiresOnDay > 0
                && command.lotTerms.creditExpiresOnDay > 0, "lot terms on a command that cannot carry them")
        let start = writer.offset
        writer.put(command.lotTerms.pointsExpiresOnDay)
        writer.put(command.lotTerms.creditExpiresOnDay)
        writer.put(command.lotTerms.origin)
        precondition(writer.offset == start + lotTermsBytes, "lot terms are 12 bytes")
    }

    /// Reads the lot terms; false when the bit is on a kind that cannot carry them or a day is not positive.
    static func decodeLotTerms(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard command.options.contains(.hasLotTerms) else {
            command.lotTerms = .neverExpires
            return true
        }
        guard ShardCommand.carriesLotTerms(command.kind), let points = reader.get(Int32.self),
            let credit = reader.get(Int32.self), let origin = reader.get(UInt32.self), points > 0, credit > 0
        else { return false }
        command.lotTerms = LotTerms(pointsExpiresOnDay: points, creditExpiresOnDay: credit, origin: origin)
        precondition(
            command.lotTerms.pointsExpiresOnDay > 0 && command.lotTerms.creditExpiresOnDay > 0, "decoded days are positive")
        return true
    }

    /// ExpireLots: the member range.
    static func encodeSweepRange(_ command: ShardCommand, _ writer: inout ByteWriter) {
        precondition(
            command.sweepFirstMember >= 0 && command.sweepFirstMember <= command.sweepEndMember,
            "a sweep's member range as decoded")
        writer.put(UInt32(bitPattern: command.sweepFirstMember))
        writer.put(UInt32(bitPattern: command.sweepEndMember))
    }

    static func decodeSweepRange(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard let first = reader.get(UInt32.self), let end = reader.get(UInt32.self), first <= end,
            end <= UInt32(Int32.max)
        else { return false }
        command.sweepFirstMember = Int32(first)
        command.sweepEndMember = Int32(end)
        precondition(
            command.sweepFirstMember >= 0 && command.sweepFirstMember <= command.sweepEndMember, "a decoded member range")
        return true
    }

    /// Notice: the member (Int32) and the expiry day (Int32, positive).
    static func encodeNotice(_ command: ShardCommand, _ writer: inout ByteWriter) {
        precondition(command.noticeMember >= 0 && command.noticeDay > 0, "a notice names a member and a day")
        writer.put(command.noticeMember)
        writer.put(command.noticeDay)
    }

    static func decodeNotice(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard let member = reader.get(Int32.self), let day = reader.get(Int32.self), member >= 0, day > 0 else {
            return false
        }
        command.noticeMember = member
        command.noticeDay = day
        precondition(command.noticeMember >= 0 && command.noticeDay > 0, "a decoded notice names a member and a day")
        return true
    }
}
