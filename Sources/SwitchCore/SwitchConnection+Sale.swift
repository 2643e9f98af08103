import ISO8583
import Ledger
import LoyaltyLedger

extension SwitchConnection {
    /// Where a sale happened, for the record the sales and goods reports read (docs/sales.md): the terminal
    /// (field 41, trailing pad spaces dropped) and the merchant (field 42, as the rules name it) of a purchase,
    /// an offline purchase, a payment, a refund or a reversal; nil for every other request. The basket (field 48)
    /// is added after this by its own step.
    func saleDetail(_ kind: TransactionKind, _ request: ISOMessage) -> SaleDetail? {
        switch kind {
        case .purchase, .offlinePurchase, .redeem, .refund, .reversal: break
        default: return nil
        }
        precondition(kind.needsAmount || kind == .reversal, "a sale is a request that moves an amount, or its reversal")
        let merchant = request.has(42) ? MerchantName(shortIdentifier(42, request)) : .none
        return SaleDetail(terminal: saleCode(41, request), merchant: merchant)
    }

    /// A field's value as a `SaleCode` (trailing spaces dropped); `.none` when absent, empty, longer than 16
    /// bytes or not printable ASCII without spaces.
    func saleCode(_ field: Int, _ request: ISOMessage) -> SaleCode {
        var bytes = InlineArray<16, UInt8>(repeating: 0)
        var span = bytes.mutableSpan
        let code = span.withUnsafeMutableBytes { buffer -> SaleCode? in
            guard var count = request.copyValue(field, into: buffer) else { return nil }
            precondition(count >= 0 && count <= buffer.count, "a copied value fits its buffer")
            while count > 0 && buffer[count - 1] == 0x20 { count -= 1 }
            return SaleCode(ascii: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return code ?? .none
    }
}
