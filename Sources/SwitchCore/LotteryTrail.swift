import AdminAccess
import Glibc
import HTTP

/// How lotteries read in the audit trail, and how the trail is read back into lotteries: the one place that knows
/// the three actions' details, shared by the routes, the start-up rebuild and `loyalty-switch lottery verify`.
///
///     lotteries.create  target lotteries/ID  detail {closesAt, name, pointsPerEntry}
///     lotteries.enter   target lotteries/ID  detail {card, entries, memberId, points}      (from the ledger record)
///     lotteries.draw    target lotteries/ID  detail {algorithm, entrants, entries, entrantsDigest, seed, winners}
enum LotteryTrail {
    static let created = "lotteries.create"
    static let entered = "lotteries.enter"
    static let drawnAction = "lotteries.draw"

    static func target(_ number: UInt64) -> String {
        let target = "lotteries/" + LotteryBook.id(number)
        precondition(target.utf8.count == 30, "a target names one lottery")
        return target
    }

    static func createDraft(_ lottery: LotteryBook.Lottery) -> AuditDraft {
        precondition(lottery.number != 0 && lottery.pointsPerEntry >= 1, "a created lottery has a number and a price")
        precondition(lottery.entrants.isEmpty && lottery.drawn == nil, "a new lottery has no entrants and no draw")
        return AuditDraft(
            action: created, target: target(lottery.number),
            detail: AuditDetail.make { json in
                json.member("closesAt", AuditTime.format(milliseconds: lottery.closesAtMs))
                json.member("name", lottery.name)
                json.member("pointsPerEntry", lottery.pointsPerEntry)
            })
    }

    static func enterDraft(number: UInt64, memberId: String, card: String, entries: Int64, points: Int64) -> AuditDraft {
        AuditDraft(
            action: entered, target: target(number),
            detail: AuditDetail.make { json in
                json.member("card", card)
                json.member("entries", entries)
                json.member("memberId", memberId)
                json.member("points", points)
            })
    }

    static func drawDraft(_ number: UInt64, _ drawn: LotteryBook.Drawn, entrants: Int, entries: Int64) -> AuditDraft {
        precondition(
            drawn.winners.count <= entrants && drawn.winners.count <= LotteryBook.winnersMax,
            "winners among the entrants")
        precondition(entries >= Int64(entrants), "every entrant holds at least one entry")
        return AuditDraft(
            action: drawnAction, target: target(number),
            detail: AuditDetail.make { json in
                json.member("algorithm", drawn.algorithm)
                json.member("entrants", Int64(entrants))
                json.member("entrantsDigest", drawn.entrantsDigest)
                json.member("entries", entries)
                json.member("seed", Int64(bitPattern: drawn.seed))
                json.key("winners")
                json.beginArray()
                for winner in drawn.winners { json.string(winner.memberId) }
                json.endArray()
            })
    }

    /// Runs the draw over `sortedEntrants`: what its entry records.
    static func run(
        _ sortedEntrants: [LotteryDraw.Entrant], winners: Int, seed: UInt64, time: String
    ) -> LotteryBook.Drawn {
        let indices = LotteryDraw.draw(sortedEntrants, winners: winners, seed: seed)
        precondition(indices.count == winners, "one winner per place")
        return LotteryBook.Drawn(
            seed: seed, algorithm: LotteryDraw.algorithm, entrantsDigest: LotteryDraw.digest(sortedEntrants),
            winners: indices.map { sortedEntrants[$0] }, time: time)
    }

    // MARK: Reading back

    /// Applies `entry` to `lotteries`: nil when it is not a lottery's or agrees; otherwise why not (a draw that
    /// does not reproduce, a detail that cannot be read, a lottery not defined before).
    static func apply(_ entry: AuditEntry, to lotteries: inout [UInt64: LotteryBook.Lottery]) -> String? {
        guard entry.action.hasPrefix("lotteries.") else { return nil }
        let place = "audit seq \(entry.seq) (\(entry.action) \(entry.target))"
        guard entry.target.hasPrefix("lotteries/"), let number = LotteryBook.number(String(entry.target.dropFirst(10)))
        else { return "\(place): the target is not a lottery id" }
        let detail = Dictionary(entry.detail.members ?? [], uniquingKeysWith: { first, _ in first })
        switch entry.action {
        case created:
            guard let name = detail["name"]?.string, let perEntry = detail["pointsPerEntry"]?.integer, perEntry >= 1,
                let closesAt = detail["closesAt"]?.string.flatMap(parseTime)
            else { return "\(place): the detail does not define a lottery" }
            lotteries[number] = LotteryBook.Lottery(
                number: number, name: name, pointsPerEntry: perEntry, closesAtMs: closesAt)
            return nil
        case entered:
            guard var lottery = lotteries[number] else { return "\(place): no lottery was created before it" }
            guard let memberId = detail["memberId"]?.string, let entries = detail["entries"]?.integer, entries >= 1
            else { return "\(place): the detail does not name a member and entries" }
            guard lottery.drawn == nil else { return "\(place): entries after the lottery was drawn" }
            lottery.entrants[memberId, default: 0] += entries
            lottery.entriesTotal += entries
            lotteries[number] = lottery
            return nil
        case drawnAction:
            guard var lottery = lotteries[number] else { return "\(place): no lottery was created before it" }
            guard lottery.drawn == nil else { return "\(place): the lottery was drawn before" }
            let (drawn, problem) = check(detail, lottery: lottery, time: entry.time)
            lottery.drawn = drawn
            lotteries[number] = lottery
            return problem.map { "draw of \(LotteryBook.id(number)) at audit seq \(entry.seq) does not reproduce: \($0)" }
        default:
            return "\(place): an unknown lottery action"
        }
    }

    /// The draw `detail` records, re-run over `lottery`'s entrants: what it recorded, and why it does not
    /// reproduce (nil when it does).
    private static func check(
        _ detail: [String: JSONValue], lottery: LotteryBook.Lottery, time: String
    ) -> (LotteryBook.Drawn?, String?) {
        guard let algorithm = detail["algorithm"]?.string, let seedValue = detail["seed"]?.integer,
            let digest = detail["entrantsDigest"]?.string, let winnerValues = detail["winners"]?.elements
        else { return (nil, "the detail lacks algorithm, seed, entrantsDigest or winners") }
        let recorded = winnerValues.map { $0.string ?? "?" }
        let seed = UInt64(bitPattern: seedValue)
        let sorted = LotteryDraw.sorted(lottery.entrants.map { LotteryDraw.Entrant(memberId: $0.key, entries: $0.value) })
        let drawn = LotteryBook.Drawn(
            seed: seed, algorithm: algorithm, entrantsDigest: digest,
            winners: recorded.map { LotteryDraw.Entrant(memberId: $0, entries: lottery.entrants[$0] ?? 0) }, time: time)
        guard algorithm == LotteryDraw.algorithm else { return (drawn, "unknown algorithm \(algorithm)") }
        let computedDigest = LotteryDraw.digest(sorted)
        guard computedDigest == digest else {
            return (
                drawn,
                "entrants digest recorded \(digest), but the \(sorted.count) entrants before it give \(computedDigest)"
            )
        }
        guard recorded.count <= sorted.count else {
            return (drawn, "\(recorded.count) winners recorded of \(sorted.count) entrants")
        }
        let computed = run(sorted, winners: recorded.count, seed: seed, time: time).winners.map(\.memberId)
        guard computed == recorded else {
            let first = recorded.indices.first { recorded[$0] != computed[$0] } ?? 0
            return (
                drawn,
                "winner \(first + 1) recorded \(recorded[first]), but seed \(seed) draws \(computed[first])"
            )
        }
        return (drawn, nil)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (RFC 3339 in UTC, as the contract writes times) in milliseconds since 1970;
    /// nil for anything else, or a date that does not exist.
    static func parseTime(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 24, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for index in range {
                guard (0x30...0x39).contains(bytes[index]) else { return nil }
                value = value * 10 + Int32(bytes[index] - 0x30)
            }
            return value
        }
        let separators: [(Int, UInt8)] = [(4, 0x2D), (7, 0x2D), (10, 0x54), (13, 0x3A), (16, 0x3A)]
        guard separators.allSatisfy({ bytes[$0.0] == $0.1 }), let year = number(0..<4), let month = number(5..<7),
            let day = number(8..<10), let hour = number(11..<13), let minute = number(14..<16),
            let second = number(17..<19), year >= 1970, (1...12).contains(month), (1...31).contains(day), hour < 24,
            minute < 60, second < 60
        else { return nil }
        var milliseconds: Int64 = 0
        if bytes.count == 24 {
            guard bytes[19] == UInt8(ascii: "."), let fraction = number(20..<23) else { return nil }
            milliseconds = Int64(fraction)
        } else {
            guard bytes[19] == UInt8(ascii: "Z") else { return nil }
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        // timegm normalises 31 April into 1 May: a date that moved did not exist.
        guard parts.tm_mday == day, parts.tm_mon == month - 1 else { return nil }
        precondition(seconds >= 0 && milliseconds >= 0 && milliseconds < 1000, "a time since 1970")
        return Int64(seconds) * 1000 + milliseconds
    }
}
