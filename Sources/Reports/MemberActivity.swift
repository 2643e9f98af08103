import Ledger

/// One purchase of a member as the segments report reads it: who, when, how much (negative for a refund or
/// reversal of a purchase).
public struct MemberPurchase { public var member: CardHash; public var timeMs: Int64; public var amountMinor: Int64 }

/// Where members' purchases over time come from (the sales store conforms; the segments report reads it).
public protocol MemberActivitySource { func forEachPurchase(fromMs: Int64, toMs: Int64, _ body: (MemberPurchase) throws -> Void) throws }

/// Sources conform in the Reports module (its memberwise initializer is internal to it).
extension MemberPurchase: Sendable, Equatable {}
