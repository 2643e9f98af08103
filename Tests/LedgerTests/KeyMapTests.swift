import Testing

@testable import Ledger

/// `KeyMap`: the views' open-addressed map of request keys and card hashes.
@Suite struct KeyMapTests {
    static func key(_ index: Int) -> IdempotencyKey {
        IdempotencyKey(word0: UInt64(index) &* 0x1000_0000_0001, word1: 7, word2: UInt64(index % 3), word3: 0)
    }

    @Test("every key set is found with its newest value through growth up to countMax; others are not")
    func setFindReplaceGrow() {
        var map = KeyMap<IdempotencyKey, Int>(countMax: 5_000)
        for index in 1...5_000 { map.set(Self.key(index), index) }
        #expect(map.count == 5_000 && map.isFull)
        for index in stride(from: 1, through: 5_000, by: 7) { map.set(Self.key(index), -index) }
        #expect(map.count == 5_000, "a replacement adds no key")
        let wrong = (1...5_000).filter { map[Self.key($0)] != ($0 % 7 == 1 ? -$0 : $0) }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect((5_001...6_000).allSatisfy { map[Self.key($0)] == nil })
        #expect(map[.zero] == nil, "the zero key is no name")
        // A prefetch of a key held, one not held and the zero key (no name) changes nothing and finds the same.
        for index in [1, 4_998, 5_500] { map.prefetch(Self.key(index)) }
        map.prefetch(.zero)
        #expect(map.count == 5_000 && map[Self.key(1)] == -1 && map[Self.key(4_998)] == 4_998)
        #expect(map[Self.key(5_500)] == nil)
    }

    @Test("card hashes that share their low word (the table's hash) are told apart by the high word")
    func cardHashesCollide() {
        // 1,000 low words, three cards each: every key shares its hash with two others.
        func card(_ index: Int) -> CardHash {
            CardHash(high: UInt64(index % 3) + 1, low: UInt64(index / 3) &* 0x9E37_79B9)
        }
        var map = KeyMap<CardHash, Int>(countMax: 3_000)
        for index in 0..<3_000 { map.set(card(index), index) }
        #expect(map.count == 3_000 && map.isFull)
        let wrong = (0..<3_000).filter { map[card($0)] != $0 }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(map[CardHash(high: 4, low: 0x9E37_79B9)] == nil, "a fourth card on a shared low word is not held")
        map.set(CardHash(high: 2, low: 0), -1)
        #expect(map.count == 3_000 && map[CardHash(high: 2, low: 0)] == -1, "a replacement adds no key")
    }

    @Test("clear forgets every key and the map takes countMax new ones again")
    func clearThenRefill() {
        var map = KeyMap<IdempotencyKey, String>(countMax: 100)
        for index in 1...100 { map.set(Self.key(index), "a\(index)") }
        map.clear()
        #expect(map.count == 0 && !map.isFull)
        #expect((1...100).allSatisfy { map[Self.key($0)] == nil })
        for index in 101...200 { map.set(Self.key(index), "b\(index)") }
        #expect((101...200).allSatisfy { map[Self.key($0)] == "b\($0)" } && map.isFull)
    }

    @Test("the table is a power of two at most three quarters full at countMax")
    func capacity() {
        #expect(KeyMap<IdempotencyKey, Int>.capacity(for: 1) == 2)
        #expect(KeyMap<IdempotencyKey, Int>.capacity(for: 768) == 1_024)
        #expect(KeyMap<IdempotencyKey, Int>.capacity(for: 769) == 2_048)
    }

    @Test("values that hold references live as long as their keys: replaced, grown, cleared, dropped")
    func referenceValuesLive() {
        final class Token {
            nonisolated(unsafe) static var alive = 0
            init() { Token.alive += 1 }
            deinit { Token.alive -= 1 }
        }
        do {
            var map = KeyMap<IdempotencyKey, Token>(countMax: 3_000)
            for index in 1...3_000 { map.set(Self.key(index), Token()) }  // grows from 1,024 slots to 4,096
            #expect(Token.alive == 3_000)
            for index in 1...10 { map.set(Self.key(index), Token()) }
            #expect(Token.alive == 3_000, "a replaced value is released")
            map.clear()
            #expect(Token.alive == 0 && map.count == 0)
            for index in 1...5 { map.set(Self.key(index), Token()) }
            #expect(Token.alive == 5)
        }
        #expect(Token.alive == 0, "a dropped map releases what it held")
    }
}
