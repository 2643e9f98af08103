import Synchronization

/// One member as the search keeps it: what `GET /v1/members?…` filters on and shows, 56 bytes.
public struct MemberSearchRow: Sendable, Equatable {
    /// The hash its `mbr_` id spells (its first card's).
    public var id: CardHash
    public var volumeMinor: Int64
    /// First and latest purchase counted (ms since 1970, UTC; 0: none yet).
    public var firstPurchaseTimeMs: Int64
    public var lastPurchaseTimeMs: Int64
    public var firstCard: MaskedCard
    public var purchases: UInt32
    public var tier: UInt8

    public init(
        id: CardHash, firstCard: MaskedCard, tier: UInt8 = 0, purchases: UInt32 = 0, volumeMinor: Int64 = 0,
        firstPurchaseTimeMs: Int64 = 0, lastPurchaseTimeMs: Int64 = 0
    ) {
        self.id = id
        self.firstCard = firstCard
        self.tier = tier
        self.purchases = purchases
        self.volumeMinor = volumeMinor
        self.firstPurchaseTimeMs = firstPurchaseTimeMs
        self.lastPurchaseTimeMs = lastPurchaseTimeMs
    }

    /// The member's figures as the rules last decided them.
    mutating func take(_ summary: MemberSummary) {
        tier = summary.tier
        purchases = summary.purchaseCount
        volumeMinor = summary.purchaseVolumeMinor
        firstPurchaseTimeMs = summary.firstPurchaseTimeMs
        lastPurchaseTimeMs = summary.lastPurchaseTimeMs
    }
}

/// What a search asks, every part optional, all combined with AND.
public struct MemberSearchFilter: Sendable, Equatable {
    public var tier: UInt8?
    /// Lifetime purchase volume at least this.
    public var minVolumeMinor: Int64?
    /// Latest purchase strictly before / at or after (a member who never bought matches neither).
    public var lastPurchaseBeforeMs: Int64?
    public var lastPurchaseAfterMs: Int64?
    /// The last four digits of one of the member's cards (0...9999).
    public var cardSuffix: UInt16?
    /// Only these members (the directory's members with a phone number); nil: any.
    public var members: [CardHash]?

    public init() {}

    func matches(_ row: MemberSearchRow) -> Bool {
        if let tier, row.tier != tier { return false }
        if let minVolumeMinor, row.volumeMinor < minVolumeMinor { return false }
        if let lastPurchaseBeforeMs, row.purchases == 0 || row.lastPurchaseTimeMs >= lastPurchaseBeforeMs {
            return false
        }
        if let lastPurchaseAfterMs, row.purchases == 0 || row.lastPurchaseTimeMs < lastPurchaseAfterMs { return false }
        return true
    }
}

/// The member search's index, in RAM, fed by `MemberSearchIndexer` and read by the admin API: per member its
/// figures (`MemberSearchRow`), its place in id order (`ordered`: 4,096 buckets by the id's top 12 bits, each
/// sorted, so an enrolment inserts into a list of ~250 slots at 1M members, not into one of a million) and its
/// cards' last four digits (`suffixes`, 10,000 lists). A page costs at most one pass over the members from the
/// cursor on (a few milliseconds at 1M) and, with a card suffix or a member list, only those members.
///
/// RAM per member: the row (56 bytes), its slot in the id map (~40 bytes with the table's load factor), in its
/// bucket (4) and per card in its suffix list (4): about 100 bytes (docs/segments.md, measured there).
/// Bounded: `membersMax` members and `cardsMax` suffix entries; past them new ones are refused and counted.
public final class MemberSearchIndex: Sendable {
    public static let bucketCount = 4096
    public let membersMax: Int
    public let cardsMax: Int

    struct State: ~Copyable {
        var rows: [MemberSearchRow] = []
        /// Member id to its row (an open-addressed table: a Swift dictionary's SipHash was most of the indexer's
        /// time per record outside the log read).
        var slots: KeyMap<CardHash, Int32>
        var ordered: [[Int32]] = Array(repeating: [], count: MemberSearchIndex.bucketCount)
        var suffixes: [[Int32]] = Array(repeating: [], count: 10_000)
        var suffixEntries = 0
        var membersRefused: UInt64 = 0
        var cardsRefused: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(membersMax: Int, cardsMax: Int) {
        precondition(membersMax >= 1 && membersMax < Int(Int32.max), "membersMax")
        precondition(cardsMax >= 1, "cardsMax")
        self.membersMax = membersMax
        self.cardsMax = cardsMax
        state = Mutex(State(slots: KeyMap(countMax: membersMax)))
    }

    public var memberCount: Int { state.withLock { $0.rows.count } }
    /// Members and cards not kept because the index was full (`search.membersMax`, `search.cardsMax`).
    public var refused: (members: UInt64, cards: UInt64) {
        state.withLock { ($0.membersRefused, $0.cardsRefused) }
    }

    static func bucket(_ id: CardHash) -> Int {
        let bucket = Int(id.high >> 52)
        precondition(bucket >= 0 && bucket < bucketCount, "twelve bits pick a bucket")
        return bucket
    }

    /// Member id order: the hash's high word, then its low word.
    public static func precedes(_ left: CardHash, _ right: CardHash) -> Bool {
        left.high != right.high ? left.high < right.high : left.low < right.low
    }

    /// The row of `id`, if the index has it.
    public func row(_ id: CardHash) -> MemberSearchRow? {
        state.withLock { state in state.slots[id].map { state.rows[Int($0)] } }
    }

    /// Up to `count` rows from slot `start` on (insertion order), so a reader walks the index without holding it.
    public func rows(from start: Int, count: Int) -> [MemberSearchRow] {
        precondition(start >= 0 && count >= 1, "a range of slots")
        return state.withLock { state in
            guard start < state.rows.count else { return [] }
            return Array(state.rows[start..<min(state.rows.count, start + count)])
        }
    }

    /// Adds the member or replaces its figures (a checkpoint view read again); false when it is new and the index
    /// is full, or its id is the zero hash (a view's member without a card: no member to find).
    @discardableResult
    public func upsert(_ row: MemberSearchRow) -> Bool {
        state.withLock { state in
            if let slot = state.slots[row.id] {
                state.rows[Int(slot)] = row
                return true
            }
            return Self.insert(row, into: &state, membersMax: membersMax) != nil
        }
    }

    /// What one durable record tells (`MemberSearchIndexer`), under one lock: the member it enrols, its figures,
    /// its card and a card joined. Nothing for a member the index has not got and the record does not enrol.
    func apply(_ fact: MemberFact) {
        state.withLock { state in
            var slot = state.slots[fact.member]
            if slot == nil, let card = fact.enrolledCard {
                let row = MemberSearchRow(id: fact.member, firstCard: card)
                slot = Self.insert(row, into: &state, membersMax: membersMax)
            }
            guard let slot else { return }
            precondition(state.rows[Int(slot)].id == fact.member, "a member's slot holds its row")
            if let summary = fact.summary { state.rows[Int(slot)].take(summary) }
            Self.addCard(fact.card, slot: slot, into: &state, cardsMax: cardsMax)
            if let joined = fact.joinedCard { Self.addCard(joined, slot: slot, into: &state, cardsMax: cardsMax) }
        }
    }

    /// The figures the rules decided for a member the index has (nothing for one it has not).
    public func update(_ id: CardHash, _ summary: MemberSummary) {
        state.withLock { state in
            guard let slot = state.slots[id] else { return }
            state.rows[Int(slot)].take(summary)
        }
    }

    /// A card (masked) of member `id`: its last four digits find the member from now on.
    public func addCard(_ masked: MaskedCard, member id: CardHash) {
        state.withLock { state in
            guard let slot = state.slots[id] else { return }
            Self.addCard(masked, slot: slot, into: &state, cardsMax: cardsMax)
        }
    }

    private static func addCard(_ masked: MaskedCard, slot: Int32, into state: inout State, cardsMax: Int) {
        guard Int(masked.packed & 0xFF) >= 10 else { return }
        let suffix = Int((masked.packed >> 8) & 0xFFFF)
        precondition(suffix < 10_000, "four digits")
        guard !state.suffixes[suffix].contains(slot) else { return }
        guard state.suffixEntries < cardsMax else {
            state.cardsRefused += 1
            return
        }
        state.suffixes[suffix].append(slot)
        state.suffixEntries += 1
    }

    private static func insert(_ row: MemberSearchRow, into state: inout State, membersMax: Int) -> Int32? {
        // A member is its first card's hash; the zero hash is no card (a checkpoint view's member without one).
        guard row.id != .zero else { return nil }
        guard state.rows.count < membersMax else {
            state.membersRefused += 1
            return nil
        }
        precondition(state.slots[row.id] == nil, "a member is inserted once")
        let slot = Int32(state.rows.count)
        state.rows.append(row)
        state.slots.set(row.id, slot)
        let bucket = Self.bucket(row.id)
        let position = Self.firstAfter(row.id, in: state.ordered[bucket], rows: state.rows)
        state.ordered[bucket].insert(slot, at: position)
        precondition(state.rows.count <= membersMax && state.slots.count == state.rows.count, "one slot per row")
        return slot
    }

    /// The index in a bucket of the first slot whose id follows `id` (binary search).
    private static func firstAfter(_ id: CardHash, in bucket: [Int32], rows: [MemberSearchRow]) -> Int {
        var low = 0
        var high = bucket.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(id, rows[Int(bucket[middle])].id) { high = middle } else { low = middle + 1 }
        }
        precondition(low >= 0 && low <= bucket.count, "a position in the bucket")
        return low
    }

    /// Up to `limit` members matching `filter` whose ids follow `after`, in id order; `next` is the last one's
    /// id when more match after it (nil: this was the last page). `scanned` counts the rows looked at.
    public func search(_ filter: MemberSearchFilter, after: CardHash?, limit: Int)
        -> (rows: [MemberSearchRow], next: CardHash?, scanned: Int)
    {
        precondition(limit >= 1, "a page has room")
        return state.withLock { state in
            if filter.cardSuffix != nil || filter.members != nil {
                return Self.searchCandidates(filter, after: after, limit: limit, state: state)
            }
            var found: [MemberSearchRow] = []
            var scanned = 0
            var bucket = after.map { Self.bucket($0) } ?? 0
            var position = after.map { Self.firstAfter($0, in: state.ordered[bucket], rows: state.rows) } ?? 0
            while bucket < Self.bucketCount {
                let slots = state.ordered[bucket]
                while position < slots.count {
                    let row = state.rows[Int(slots[position])]
                    scanned += 1
                    position += 1
                    guard filter.matches(row) else { continue }
                    // One match more than the page tells whether a next page exists.
                    if found.count == limit { return (found, found.last!.id, scanned) }
                    found.append(row)
                }
                bucket += 1
                position = 0
            }
            return (found, nil, scanned)
        }
    }

    /// A search narrowed by card suffix and/or a member list: only those members, sorted.
    private static func searchCandidates(
        _ filter: MemberSearchFilter, after: CardHash?, limit: Int, state: borrowing State
    ) -> (rows: [MemberSearchRow], next: CardHash?, scanned: Int) {
        var candidates: [Int32]
        if let members = filter.members {
            candidates = members.compactMap { state.slots[$0] }
            if let suffix = filter.cardSuffix {
                let holding = Set(state.suffixes[Int(suffix)])
                candidates = candidates.filter { holding.contains($0) }
            }
        } else {
            candidates = state.suffixes[Int(filter.cardSuffix!)]
        }
        var rows = candidates.map { state.rows[Int($0)] }.filter { row in
            filter.matches(row) && after.map { precedes($0, row.id) } ?? true
        }
        rows.sort { precedes($0.id, $1.id) }
        precondition(limit >= 1, "a page has room")
        guard rows.count > limit else { return (rows, nil, candidates.count) }
        return (Array(rows[0..<limit]), rows[limit - 1].id, candidates.count)
    }
}
