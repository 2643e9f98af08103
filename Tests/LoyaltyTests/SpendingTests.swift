import Testing

@testable import Loyalty

/// Coalition spending (Program+Coalition.swift): same merchant, shared branches group, shared coalition group
/// with its settlement pair, no shared group, unknown merchants.
@Suite("Coalition spending")
struct SpendingTests {
    static func identifier(_ text: String) -> ShortIdentifier { ShortIdentifier(text)! }

    static let program: Program = {
        let json = """
            {"version": 1, "currency": 364,
             "groups": [{"id": "CHAIN", "kind": "branches"}, {"id": "MALL", "kind": "coalition"},
                        {"id": "STREET", "kind": "coalition"}],
             "merchants": [{"id": "A", "groups": ["MALL", "CHAIN"]}, {"id": "B", "groups": ["CHAIN", "MALL"]},
                           {"id": "C", "groups": ["STREET", "MALL"]}, {"id": "D", "groups": ["STREET"]},
                           {"id": "E"}]}
            """
        return try! Program(json: Array(json.utf8))
    }()

    static func spending(_ earned: String, _ spent: String) -> SpendingPermission {
        program.spending(earnedAt: identifier(earned), spentAt: identifier(spent))
    }

    @Test("the same merchant, known or not, may always spend its own points")
    func sameMerchant() {
        #expect(Self.spending("A", "A") == .sameMerchant)
        #expect(Self.spending("UNKNOWN", "UNKNOWN") == .sameMerchant)
    }

    @Test("a shared branches group wins over a shared coalition: no settlement inside one business")
    func branchesWin() {
        #expect(Self.spending("A", "B") == .branches(group: Self.identifier("CHAIN")))
        #expect(Self.spending("B", "A") == .branches(group: Self.identifier("CHAIN")))
    }

    @Test("a shared coalition: the earning merchant owes the spending one; the first shared group is named")
    func coalitionSettlement() {
        let pair = SettlementPair(payer: Self.identifier("A"), payee: Self.identifier("C"))
        #expect(Self.spending("A", "C") == .coalition(group: Self.identifier("MALL"), settlement: pair))
        let reverse = SettlementPair(payer: Self.identifier("D"), payee: Self.identifier("C"))
        #expect(Self.spending("D", "C") == .coalition(group: Self.identifier("STREET"), settlement: reverse))
    }

    @Test("no shared group, a merchant without groups, or an unknown merchant: not allowed")
    func notAllowed() {
        #expect(Self.spending("A", "D") == .notAllowed)
        #expect(Self.spending("E", "A") == .notAllowed)
        #expect(Self.spending("UNKNOWN", "A") == .notAllowed)
        #expect(Self.spending("A", "UNKNOWN") == .notAllowed)
    }
}
