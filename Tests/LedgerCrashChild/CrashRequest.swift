import Ledger

/// The request the crash tests use for key `key`: earn one point and one credit unit on card `key % cardCount`,
/// auto-enrolling. The tests rebuild the same request to probe whether a key was applied.
func crashRequest(key: UInt64, cardCount: UInt64) -> LedgerRequest {
    let cardDigits = String(4_000_000_000_000_000 + key % cardCount)
    return LedgerRequest(
        tag: key, key: IdempotencyKey(word0: key), digest: ContentDigest(high: key, low: 7),
        card: CardNumber(cardDigits)!,
        operation: .earn(amounts: AssetAmounts(points: 1, credit: 1), purchaseAmountMinor: 100, autoEnrol: true))
}
