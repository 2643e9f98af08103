/// The gift-account section of a snapshot (format 7), right after the outbox: the account count (UInt64), 8 zero
/// bytes, then the `GiftAccount`s as a raw array (16 bytes each). Formats 5 and 6 have none (no gift cards then).
extension Snapshot {
    /// Loads the section at `offset`; returns where it ends (the lot section follows).
    static func loadGifts(
        from bytes: UnsafeRawBufferPointer, offset: Int, into state: ShardState, path: String
    ) throws(LedgerError) -> Int {
        let count = try sectionCount(bytes, offset: offset, path: path, section: "gift").count
        let table = state.gifts
        guard Int(count) <= table.accounts.capacity else {
            throw .incompatibleDirectory(reason: "\(path) holds more gift cards than giftCardsPerShardMax")
        }
        let stride = MemoryLayout<GiftAccount>.stride
        let size = Int(count) * stride
        guard offset + settlementSectionHeaderBytes + size <= bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the gift count")
        }
        let base = bytes.baseAddress! + offset + settlementSectionHeaderBytes
        for index in 0..<Int(count) {
            let account = (base + index * stride).loadUnaligned(as: GiftAccount.self)
            guard account.currencyCode != 0, account.currencyCode <= 999, account.balanceMinor >= 0,
                account.member >= 0, Int(account.member) < state.members.count, account.reserved == 0
            else { throw .damagedSnapshot(file: path, reason: "gift account \(index) out of range") }
        }
        UnsafeMutableRawPointer(table.accounts.base).copyMemory(from: base, byteCount: size)
        table.accounts.setCount(Int(count))
        table.rebuildIndex()
        precondition(table.accounts.count == count, "the gift table holds the section's accounts")
        return offset + settlementSectionHeaderBytes + size
    }
}
