@testable import Ledger
import TestSupport
import Testing

/// The member search's index against a brute-force filter of the same rows: every filter, paging with the
/// cursor through all matches in id order, card suffixes, and the member and card bounds.
@Suite struct MemberSearchIndexTests {
    static func card(_ number: Int) -> MaskedCard { CardNumber("603799" + String(1_000_000_000 + number))!.masked }

    /// `count` members with random ids and figures (seeded), in the index and as a plain list.
    static func members(_ count: Int, seed: UInt64) -> (MemberSearchIndex, [MemberSearchRow]) {
        var random = SplitMix64(seed: seed)
        let index = MemberSearchIndex(membersMax: count, cardsMax: 2 * count)
        var rows: [MemberSearchRow] = []
        for number in 0..<count {
            // A few ids share their top bits, so buckets hold several members.
            let high = number % 7 == 0 ? UInt64(number % 3) : random.next()
            var row = MemberSearchRow(id: CardHash(high: high, low: random.next()), firstCard: card(number))
            row.tier = UInt8(random.below(3))
            row.purchases = UInt32(random.below(4))
            row.volumeMinor = row.purchases == 0 ? 0 : Int64(random.below(10_000))
            row.lastPurchaseTimeMs = row.purchases == 0 ? 0 : Int64(random.below(1_000))
            #expect(index.upsert(row))
            index.addCard(row.firstCard, member: row.id)
            rows.append(row)
        }
        return (index, rows.sorted { MemberSearchIndex.precedes($0.id, $1.id) })
    }

    /// Every page of `filter`, `limit` at a time, following `next`.
    static func pages(_ index: MemberSearchIndex, _ filter: MemberSearchFilter, limit: Int) -> [MemberSearchRow] {
        var all: [MemberSearchRow] = []
        var after: CardHash?
        for _ in 0..<10_000 {
            let page = index.search(filter, after: after, limit: limit)
            #expect(page.rows.count <= limit)
            all += page.rows
            guard let next = page.next else { return all }
            #expect(page.rows.count == limit && next == page.rows.last?.id, "a next page follows a full one")
            after = next
        }
        Issue.record("paging never ended")
        return all
    }

    @Test("each filter and their combination, paged 1, 7 and 500 at a time, equal the brute-force answer in id order")
    func filtersMatchBruteForce() {
        let (index, rows) = Self.members(1_000, seed: 16)
        var filters: [MemberSearchFilter] = [MemberSearchFilter()]
        var tier = MemberSearchFilter()
        tier.tier = 1
        var volume = MemberSearchFilter()
        volume.minVolumeMinor = 5_000
        var before = MemberSearchFilter()
        before.lastPurchaseBeforeMs = 500
        var after = MemberSearchFilter()
        after.lastPurchaseAfterMs = 500
        var combined = volume
        combined.tier = 2
        combined.lastPurchaseAfterMs = 100
        var suffix = MemberSearchFilter()
        suffix.cardSuffix = UInt16(Self.card(17).description.suffix(4))!
        var listed = combined
        listed.members = rows.prefix(300).map(\.id)
        filters += [tier, volume, before, after, combined, suffix, listed]
        for filter in filters {
            let expected = rows.filter { row in
                (filter.tier.map { row.tier == $0 } ?? true)
                    && (filter.minVolumeMinor.map { row.volumeMinor >= $0 } ?? true)
                    && (filter.lastPurchaseBeforeMs.map { row.purchases > 0 && row.lastPurchaseTimeMs < $0 } ?? true)
                    && (filter.lastPurchaseAfterMs.map { row.purchases > 0 && row.lastPurchaseTimeMs >= $0 } ?? true)
                    && (filter.members.map { $0.contains(row.id) } ?? true)
                    && (filter.cardSuffix.map { UInt16(row.firstCard.description.suffix(4))! == $0 } ?? true)
            }
            for limit in [1, 7, 500] {
                #expect(Self.pages(index, filter, limit: limit) == expected, "\(filter) limit \(limit)")
            }
        }
    }

    @Test("a card suffix finds every member holding a card ending so, also a joined card; a member once per suffix")
    func cardSuffixes() {
        let index = MemberSearchIndex(membersMax: 10, cardsMax: 10)
        let first = CardHash(high: 1, low: 1)
        let second = CardHash(high: 2, low: 2)
        index.upsert(MemberSearchRow(id: first, firstCard: Self.card(1234)))
        index.upsert(MemberSearchRow(id: second, firstCard: Self.card(5678)))
        index.addCard(Self.card(1234), member: first)
        index.addCard(Self.card(1234), member: first)
        index.addCard(Self.card(5678), member: second)
        index.addCard(Self.card(11_234), member: second)
        var filter = MemberSearchFilter()
        filter.cardSuffix = 1234
        #expect(index.search(filter, after: nil, limit: 10).rows.map(\.id) == [first, second])
        filter.cardSuffix = 9999
        #expect(index.search(filter, after: nil, limit: 10).rows.isEmpty)
    }

    @Test("a record enrols its member with its card, updates its figures, lists a joined card; up to the bounds")
    func recordsApplied() {
        let index = MemberSearchIndex(membersMax: 2, cardsMax: 3)
        let (a, b, c) = (CardHash(high: 1, low: 11), CardHash(high: 2, low: 22), CardHash(high: 3, low: 33))
        func apply(
            _ member: CardHash, enrols: Bool = false, card: Int, joins: Int? = nil, _ summary: MemberSummary? = nil
        ) {
            index.apply(
                MemberFact(
                    member: member, enrolledCard: enrols ? Self.card(card) : nil, card: Self.card(card),
                    joinedCard: joins.map { Self.card($0) }, summary: summary))
        }
        func bySuffix(_ suffix: UInt16) -> [CardHash] {
            var filter = MemberSearchFilter()
            filter.cardSuffix = suffix
            return index.search(filter, after: nil, limit: 10).rows.map(\.id)
        }
        // A record of a member the index has not got, which does not enrol it: nothing.
        apply(a, card: 1)
        #expect(index.memberCount == 0 && bySuffix(1).isEmpty)
        apply(a, enrols: true, card: 1)
        #expect(index.row(a)?.firstCard == Self.card(1) && bySuffix(1) == [a])
        let summary = MemberSummary(
            tier: 1, purchaseCount: 2, purchaseVolumeMinor: 700, birthMonth: 0, birthDay: 0,
            firstPurchaseRewarded: true, firstPurchaseTimeMs: 5, lastPurchaseTimeMs: 9)
        apply(a, card: 1, joins: 2, summary)
        #expect(index.row(a)?.tier == 1 && index.row(a)?.volumeMinor == 700 && index.row(a)?.lastPurchaseTimeMs == 9)
        #expect(bySuffix(2) == [a] && bySuffix(1) == [a], "the joined card is listed once, the first card still once")
        apply(b, enrols: true, card: 3)
        #expect(bySuffix(3) == [b] && index.refused.cards == 0)
        // The card bound (3) is reached: b's next card is refused, each time a record names it.
        apply(b, card: 4)
        apply(b, card: 4)
        #expect(bySuffix(4).isEmpty && index.refused.cards == 2)
        // The member bound (2): c is refused; the zero hash (no card) is never a member.
        apply(c, enrols: true, card: 5)
        apply(.zero, enrols: true, card: 6)
        #expect(index.memberCount == 2 && index.row(c) == nil && index.refused.members == 1)
    }

    @Test("at membersMax a new member is refused and counted, a known one still updates; at cardsMax a card is refused")
    func limits() {
        let index = MemberSearchIndex(membersMax: 2, cardsMax: 2)
        let ids = (1...3).map { CardHash(high: UInt64($0), low: 0) }
        #expect(index.upsert(MemberSearchRow(id: ids[0], firstCard: Self.card(1))))
        #expect(index.upsert(MemberSearchRow(id: ids[1], firstCard: Self.card(2))))
        #expect(!index.upsert(MemberSearchRow(id: ids[2], firstCard: Self.card(3))))
        #expect(index.memberCount == 2 && index.refused.members == 1 && index.row(ids[2]) == nil)
        index.update(
            ids[0],
            MemberSummary(
                tier: 2, purchaseCount: 3, purchaseVolumeMinor: 900, birthMonth: 0, birthDay: 0,
                firstPurchaseRewarded: true, firstPurchaseTimeMs: 10, lastPurchaseTimeMs: 20))
        #expect(index.row(ids[0])?.tier == 2 && index.row(ids[0])?.volumeMinor == 900)
        #expect(index.row(ids[0])?.lastPurchaseTimeMs == 20)
        for number in 1...3 { index.addCard(Self.card(number), member: ids[0]) }
        #expect(index.refused.cards == 1)
    }

    @Test("a row is 56 bytes (the RAM per member docs/segments.md counts)")
    func rowSize() {
        #expect(MemoryLayout<MemberSearchRow>.stride == 56)
    }
}
