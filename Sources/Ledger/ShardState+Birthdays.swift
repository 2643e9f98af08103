/// Birthday greetings (`member.birthday`, kind 29): a bounded step on the shard greets each member whose birthday
/// (the ledger's month and day, set at enrolment by the admin API or a terminal's field 48 `BD`) is today in the
/// club's calendar and offset, as a log record of its own. The record's request key is derived from the member's
/// first card and the year (`IdempotencyKey.birthday`), so the remembered key — kept in snapshots and rebuilt on
/// replay like any request's — makes the greeting happen at most once per member and year across restarts and
/// crashes, and the event is exactly as durable as the key.
extension ShardState {
    /// Greeting records one step writes at most; the rest wait for the next step.
    static let birthdaysPerStepMax = 256

    /// One step: up to `greetingsMax` greetings, each handed to `process` (which applies and logs it) before the
    /// next is looked for, looking at up to `membersMax` members; returns how many it made.
    func greetBirthdays(
        nowMs: Int64, membersMax: Int, greetingsMax: Int, process: (inout ShardCommand) -> Void
    ) -> Int {
        precondition(greetingsMax >= 1, "a step may greet")
        var looked = 0
        var greeted = 0
        while greeted < greetingsMax, var command = nextBirthday(nowMs: nowMs, membersMax: membersMax, looked: &looked) {
            process(&command)
            greeted += 1
        }
        precondition(greeted <= greetingsMax && looked <= membersMax, "a step stays within its bounds")
        return greeted
    }

    /// The next greeting from the shard's birthday cursor, looking at up to `membersMax` members (counted in
    /// `looked`); nil when the step found none or the rules greet nobody. The cursor is not logged: after a
    /// restart it starts again at the first member, and the remembered keys say who was greeted.
    func nextBirthday(nowMs: Int64, membersMax: Int, looked: inout Int) -> ShardCommand? {
        preconditionOnShardThread()
        precondition(membersMax >= 1 && looked >= 0, "birthday step bounds")
        guard let rules, rules.greetsBirthdays, let decisions, members.count > 0 else { return nil }
        while looked < membersMax {
            let member = Int(birthdayCursor) < members.count ? Int(birthdayCursor) : 0
            looked += 1
            birthdayCursor = member + 1 >= members.count ? 0 : Int32(member + 1)
            precondition(Int(birthdayCursor) < members.count, "the birthday cursor names a member")
            let summary = decisions.summary(of: members[member].loyalty)
            guard summary.birthMonth != 0,
                let year = rules.birthdayGreetingYear(
                    month: summary.birthMonth, day: summary.birthDay, atTimeMs: nowMs),
                let card = memberCards.card(of: member, in: cards, members: members.count)
            else { continue }
            let key = IdempotencyKey.birthday(card: card.hash, year: UInt16(year))
            guard idempotency.find(key) == nil else { continue }
            var command = ShardCommand(kind: .birthday, key: key)
            command.cardHash = card.hash
            command.masked = card.masked
            command.greetingYear = UInt16(year)
            return command
        }
        return nil
    }

    /// A greeting (live or on replay) changes nothing: it names the member (for its event) and leaves its key.
    func performBirthday(_ command: ShardCommand) -> OperationResult {
        precondition(command.key == IdempotencyKey.birthday(card: command.cardHash, year: command.greetingYear))
        var result = OperationResult(.approved, card: command.masked, kind: .birthday)
        guard let index = cards.find(command.cardHash), cards.cards[index].member >= 0 else {
            result.status = .unknownCard
            return result
        }
        result.member = cards.cards[index].member
        precondition(Int(result.member) < members.count, "a greeted member is in the table")
        return result
    }
}

extension IdempotencyKey {
    /// The request key of a member's birthday greeting in `year` (of the club's calendar): "BIRTHDAY", the year,
    /// and the member's first card hash (a client's key would have to be these 32 bytes, the card's keyed hash
    /// included, to meet it).
    static func birthday(card: CardHash, year: UInt16) -> IdempotencyKey {
        precondition(year > 0, "a greeting names its year")
        let key = IdempotencyKey(word0: 0x4249_5254_4844_4159, word1: UInt64(year), word2: card.high, word3: card.low)
        precondition(key != .zero, "a greeting's key is never zero")
        return key
    }
}

/// The greeting's record fields.
extension WALRecord {
    /// Birthday: the year (UInt16, positive) and padding to 8 bytes; the key must be the one the year and card
    /// derive (`IdempotencyKey.birthday`), checked as the record is read.
    static func encodeBirthday(_ command: ShardCommand, _ writer: inout ByteWriter) {
        precondition(command.greetingYear > 0, "a greeting names its year")
        precondition(
            command.key == IdempotencyKey.birthday(card: command.cardHash, year: command.greetingYear),
            "a greeting's key is derived from its card and year")
        writer.put(command.greetingYear)
        writer.put(UInt16(0))
        writer.put(UInt32(0))
    }

    static func decodeBirthday(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard let year = reader.get(UInt16.self), year > 0, reader.get(UInt16.self) == 0, reader.get(UInt32.self) == 0,
            command.key == IdempotencyKey.birthday(card: command.cardHash, year: year)
        else { return false }
        command.greetingYear = year
        precondition(command.greetingYear > 0, "a decoded greeting names its year")
        return true
    }
}
