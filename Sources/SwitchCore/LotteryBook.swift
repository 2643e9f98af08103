import AdminAccess
import HTTP
import Synchronization

/// The lotteries as the audit trail tells them: definitions (`lotteries.create`), entries bought
/// (`lotteries.enter`, made from the ledger's kind-21 records, also when the start-up repair wrote them) and draws
/// (`lotteries.draw`). Rebuilt from the trail at start (`replay`), then kept in step by the admin routes once each
/// change is durable. One lock, held for map updates only.
///
/// Ordering with `closesAt`: a purchase is counted `pending` from the moment its route sees the lottery open (under
/// this lock, by the same clock the draw reads) until its audit entry is durable or it is refused; a draw is
/// allowed only after `closesAt` with nothing pending (503 with Retry-After otherwise), so every entry the ledger
/// approved is in the trail before the draw's entry, and verify, reading the trail in order, sees the same entrants.
/// The shard checks `closesAt` again by its own time (the record's), so a purchase queued past the close is
/// declined there and counts nowhere.
final class LotteryBook: Sendable {
    struct Limits: Sendable {
        /// Lotteries kept (`admin.lotteriesMax`); a creation beyond it is 409.
        var lotteriesMax = 1000
        /// Distinct members entered in one lottery (`admin.lotteryEntrantsMax`); a new member beyond it is 409.
        var entrantsMax = 100_000
    }

    /// Winners per draw, at most: the draw's audit entry names them all and an entry is at most 16 KiB.
    static let winnersMax = 256
    /// Entries one purchase may buy, and one lottery may hold in all (keeps the draw's weights far from overflow).
    static let entriesPerPurchaseMax: Int64 = 1_000_000
    static let entriesTotalMax: Int64 = 1 << 50

    struct Drawn: Sendable {
        var seed: UInt64
        var algorithm: String
        var entrantsDigest: String
        var winners: [LotteryDraw.Entrant]
        var time: String
    }

    struct Lottery: Sendable {
        var number: UInt64
        var name: String
        var pointsPerEntry: Int64
        var closesAtMs: Int64
        var entrants: [String: Int64] = [:]
        var entriesTotal: Int64 = 0
        var pending = 0
        var isDrawing = false
        var drawn: Drawn?

        var id: String { LotteryBook.id(number) }
    }

    struct State {
        var lotteries: [UInt64: Lottery] = [:]
        var creating = 0
    }

    let limits: Limits
    let clockMs: @Sendable () -> Int64
    private let state = Mutex(State())

    init(limits: Limits, clockMs: @escaping @Sendable () -> Int64) {
        precondition(limits.lotteriesMax >= 1 && limits.entrantsMax >= 1, "lottery limits are positive")
        self.limits = limits
        self.clockMs = clockMs
    }

    static func id(_ number: UInt64) -> String {
        let id = "lty_" + AdminIdentifier.hex16(number)
        precondition(id.utf8.count == 20, "a lottery id is lty_ and 16 hex digits")
        return id
    }

    /// The number an id names, or nil when it is not `lty_` and 16 lowercase hexadecimal digits.
    static func number(_ id: String) -> UInt64? {
        guard id.hasPrefix("lty_"), id.utf8.count == 20 else { return nil }
        let digits = id.dropFirst(4)
        guard digits.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        let number = UInt64(digits, radix: 16).flatMap { $0 == 0 ? nil : $0 }
        assert(number.map { Self.id($0) == id } ?? true, "a lottery id names its number")
        return number
    }

    func lottery(_ number: UInt64) -> Lottery? { state.withLock { $0.lotteries[number] } }

    /// Every lottery, by number (creation order).
    func all() -> [Lottery] { state.withLock { $0.lotteries.values.sorted { $0.number < $1.number } } }

    // MARK: Creation

    /// Takes a place for a new lottery: 409 at `lotteriesMax`.
    func reserveCreation() throws(HTTPProblem) {
        try state.withLock { state throws(HTTPProblem) in
            guard state.lotteries.count + state.creating < limits.lotteriesMax else {
                throw HTTPProblem(
                    .conflict, detail: "\(limits.lotteriesMax) lotteries exist (admin.lotteriesMax); no more can be created")
            }
            state.creating += 1
            precondition(state.lotteries.count + state.creating <= limits.lotteriesMax, "lotteries within their limit")
        }
    }

    /// The creation is durable (`lottery` given) or failed (nil): the place becomes the lottery or is given back.
    func finishCreation(_ lottery: Lottery?) {
        state.withLock { state in
            precondition(state.creating > 0, "a creation finishes once")
            state.creating -= 1
            precondition(
                lottery.map { $0.number != 0 && state.lotteries[$0.number] == nil } ?? true,
                "a new lottery has a new number")
            if let lottery { state.lotteries[lottery.number] = lottery }
        }
    }

    // MARK: Entries

    /// Starts a purchase of `entries` by `memberId`: the points they cost and when the lottery closes, the purchase
    /// counted pending until `finishEntry`. 404 unknown lottery, 409 closed or drawn, 409 at `entrantsMax` or the
    /// entries' bound, 422 when the cost passes the balance bound.
    func beginEntry(
        _ number: UInt64, memberId: String, entries: Int64
    ) throws(HTTPProblem) -> (points: Int64, closesAtMs: Int64) {
        precondition(entries >= 1 && entries <= Self.entriesPerPurchaseMax, "entries are checked when read")
        let now = clockMs()
        return try state.withLock { state throws(HTTPProblem) in
            guard var lottery = state.lotteries[number] else {
                throw HTTPProblem(.notFound, detail: "no lottery \(Self.id(number))")
            }
            guard lottery.drawn == nil, !lottery.isDrawing, now < lottery.closesAtMs else {
                throw HTTPProblem(
                    .conflict,
                    detail: "lottery \(lottery.id) closed at \(AuditTime.format(milliseconds: lottery.closesAtMs))")
            }
            let (points, overflow) = entries.multipliedReportingOverflow(by: lottery.pointsPerEntry)
            guard !overflow, points <= 999_999_999_999 else {
                throw HTTPProblem(.unprocessableContent, detail: "$.entries: would cost more than 999999999999 points")
            }
            guard lottery.entriesTotal <= Self.entriesTotalMax - entries else {
                throw HTTPProblem(.conflict, detail: "lottery \(lottery.id) holds the most entries one lottery may")
            }
            guard lottery.entrants[memberId] != nil || lottery.entrants.count + lottery.pending < limits.entrantsMax
            else {
                throw HTTPProblem(
                    .conflict,
                    detail: "lottery \(lottery.id) has \(limits.entrantsMax) entrants (admin.lotteryEntrantsMax)")
            }
            lottery.pending += 1
            precondition(points >= entries && points <= 999_999_999_999, "an entry costs at least a point")
            precondition(lottery.drawn == nil && !lottery.isDrawing, "entries are bought before the draw")
            state.lotteries[number] = lottery
            return (points, lottery.closesAtMs)
        }
    }

    /// The purchase's audit entry is durable (`counted`) or it was refused or failed: it is no longer pending.
    func finishEntry(_ number: UInt64, memberId: String, entries: Int64, counted: Bool) {
        state.withLock { state in
            guard var lottery = state.lotteries[number] else { preconditionFailure("an entry's lottery exists") }
            precondition(lottery.pending > 0, "an entry finishes once")
            lottery.pending -= 1
            precondition(lottery.drawn == nil && !lottery.isDrawing, "no draw while an entry is pending")
            if counted { Self.count(&lottery, memberId: memberId, entries: entries) }
            state.lotteries[number] = lottery
        }
    }

    private static func count(_ lottery: inout Lottery, memberId: String, entries: Int64) {
        precondition(entries >= 1 && !memberId.isEmpty, "a member buys at least one entry")
        lottery.entrants[memberId, default: 0] += entries
        lottery.entriesTotal += entries
    }

    // MARK: Draws

    /// Starts the draw: the entrants sorted, the lottery marked drawing. 404, 409 before `closesAt` or when drawn
    /// (or being drawn), 422 for more winners than entrants, 503 while purchases are still pending.
    func beginDraw(_ number: UInt64, winners: Int) throws(HTTPProblem) -> [LotteryDraw.Entrant] {
        precondition(winners >= 1 && winners <= Self.winnersMax, "winners are checked when read")
        let now = clockMs()
        return try state.withLock { state throws(HTTPProblem) in
            guard var lottery = state.lotteries[number] else {
                throw HTTPProblem(.notFound, detail: "no lottery \(Self.id(number))")
            }
            guard lottery.drawn == nil, !lottery.isDrawing else {
                throw HTTPProblem(.conflict, detail: "lottery \(lottery.id) was drawn already; a lottery is drawn once")
            }
            guard now >= lottery.closesAtMs else {
                throw HTTPProblem(
                    .conflict,
                    detail: "lottery \(lottery.id) is open until \(AuditTime.format(milliseconds: lottery.closesAtMs))")
            }
            guard lottery.pending == 0 else {
                throw HTTPProblem(
                    .serviceUnavailable,
                    detail: "\(lottery.pending) entry purchases of lottery \(lottery.id) are still being made; retry")
            }
            guard winners <= lottery.entrants.count else {
                throw HTTPProblem(
                    .unprocessableContent,
                    detail: "$.winners: lottery \(lottery.id) has \(lottery.entrants.count) entrants")
            }
            lottery.isDrawing = true
            state.lotteries[number] = lottery
            let entrants = LotteryDraw.sorted(
                lottery.entrants.map { LotteryDraw.Entrant(memberId: $0.key, entries: $0.value) })
            precondition(
                entrants.count == lottery.entrants.count && winners <= entrants.count, "every entrant is in the draw")
            return entrants
        }
    }

    /// The draw is durable (`drawn` given) or failed (nil: it may be drawn again).
    func finishDraw(_ number: UInt64, _ drawn: Drawn?) {
        state.withLock { state in
            guard var lottery = state.lotteries[number] else { preconditionFailure("a draw's lottery exists") }
            precondition(lottery.isDrawing, "a draw finishes once")
            precondition(lottery.drawn == nil && lottery.pending == 0, "a lottery is drawn once, with nothing pending")
            precondition(drawn.map { $0.winners.count <= Self.winnersMax } ?? true, "winners within their limit")
            lottery.isDrawing = false
            lottery.drawn = drawn
            state.lotteries[number] = lottery
        }
    }

    // MARK: From the trail

    /// Applies one durable trail entry (at start, oldest first). Returns why a draw entry does not reproduce from
    /// the entries before it, or why a lottery entry is not understood; nil when it agrees or is not a lottery's.
    @discardableResult
    func replay(_ entry: AuditEntry) -> String? {
        state.withLock { state in LotteryTrail.apply(entry, to: &state.lotteries) }
    }
}
