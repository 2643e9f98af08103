import ISO8583
import Ledger

extension SwitchConnection {
    /// Puts a purchase's basket (field 48 `IT`, already validated by `AdditionalData`) into the ledger request, so
    /// the rules can give points per line and the record keeps the goods. Called after the sale's terminal and
    /// merchant are filled in; a request without a basket is left as it is, and nothing is allocated for it.
    func attachBasket(to ledgerRequest: inout LedgerRequest, kind: TransactionKind, request: ISOMessage) {
        guard kind == .purchase || kind == .offlinePurchase, request.has(48) else { return }
        let lines = Basket.lines(of: request)
        guard !lines.isEmpty else { return }
        precondition(lines.count <= SaleDetail.linesMax, "a basket within its line limit")
        if ledgerRequest.sale == nil { ledgerRequest.sale = SaleDetail() }
        ledgerRequest.sale!.lines = lines
        precondition(ledgerRequest.sale?.lines.count == lines.count, "the request carries the whole basket")
    }
}
