/// The names besides its key that a sale's refund or reversal may find it by (zero: none): the retrieval reference
/// (a refund) and the terminal reference (a reversal without field 90). A value, not an array: one per sale read.
public struct SaleNames: Sendable, Equatable {
    public var reference: IdempotencyKey
    public var terminalReference: IdempotencyKey

    public static let none = SaleNames(reference: .zero, terminalReference: .zero)
}

/// One approved sale as the sales store keeps it (DATA/sales/, docs/sales.md): a fixed 160-byte record, its
/// basket lines (48 bytes each) in the items file beside it. Built from a log record alone, so the store can be
/// rebuilt from the log it tails.
public struct SaleEntry: Sendable, Equatable {
    /// What the sale was. The raw values are stored: never renumber them.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case purchase = 1
        case payment = 2
        case refund = 3
        case purchaseReversal = 4
        case paymentReversal = 5
        /// Not a sale: a lot expiry sweep expired a member's value (`spent` holds what expired; no terminal,
        /// merchant or amount). Kept so the credit-conversion report can say what expired per day.
        case expiry = 6

        /// True for the kinds that are sales (every kind but `expiry`): the sales, items and segments reports.
        public var isSale: Bool { self != .expiry }

        /// The name the reports print.
        public var name: String {
            switch self {
            case .purchase: "purchase"
            case .payment: "payment"
            case .refund: "refund"
            case .purchaseReversal: "purchase-reversal"
            case .paymentReversal: "payment-reversal"
            case .expiry: "expiry"
            }
        }
    }

    public static let bytes = 160
    public static let lineBytes = 48

    public var timeMs: Int64
    public var shard: UInt16
    public var sequence: UInt64
    public var kind: Kind
    /// The request's key (a reversal names its original by it).
    public var key: IdempotencyKey
    /// The member's key (its first card's hash, the admin API's member id) and the masked card used.
    public var member: CardHash
    public var masked: MaskedCard
    public var terminal: SaleCode
    public var merchant: MerchantName
    /// The sale's amount in minor units: negative for a refund and a reversal (0 when the reversed sale is
    /// no longer known to the store).
    public var amountMinor: Int64
    /// What the member earned and spent by it (negative when a refund or reversal took it back or gave it back).
    public var earned: AssetAmounts
    public var spent: AssetAmounts
    /// The basket: `lineCount` lines from line `firstLine` of the items file.
    public var lineCount: UInt8 = 0
    public var firstLine: UInt64 = 0

    /// Writes the 128 bytes at `base`.
    func encode(at base: UnsafeMutableRawPointer) {
        precondition(Int(lineCount) <= SaleDetail.linesMax, "a sale keeps at most linesMax lines")
        var writer = ByteWriter(base: base, capacity: Self.bytes)
        writer.put(timeMs)
        writer.put(sequence)
        writer.put(shard)
        writer.put(kind.rawValue)
        writer.put(lineCount)
        writer.put(UInt32(0))
        writer.put(member)
        writer.put(masked.packed)
        writer.put(terminal.high)
        writer.put(terminal.low)
        writer.put(merchant.high)
        writer.put(merchant.low)
        writer.put(amountMinor)
        writer.put(earned.points)
        writer.put(earned.credit)
        writer.put(spent.points)
        writer.put(spent.credit)
        writer.put(firstLine)
        writer.put(key)
        precondition(writer.offset == Self.bytes, "a sale entry is 160 bytes")
        assert(Self.decode(UnsafeRawPointer(base)) == self, "a sale entry reads back as written")
    }

    /// The entry at `base`, or nil when the bytes are not one a writer writes.
    static func decode(_ base: UnsafeRawPointer) -> SaleEntry? {
        var reader = ByteReader(base: base, count: bytes)
        guard let time = reader.get(Int64.self), let sequence = reader.get(UInt64.self),
            let shard = reader.get(UInt16.self), let kind = reader.get(UInt8.self).flatMap(Kind.init(rawValue:)),
            let lines = reader.get(UInt8.self), Int(lines) <= SaleDetail.linesMax, reader.get(UInt32.self) == 0,
            let member = reader.cardHash(), let masked = reader.get(UInt64.self),
            let terminalHigh = reader.get(UInt64.self), let terminalLow = reader.get(UInt64.self),
            let merchantHigh = reader.get(UInt64.self), let merchantLow = reader.get(UInt64.self),
            let amount = reader.get(Int64.self), let earnedPoints = reader.get(Int64.self),
            let earnedCredit = reader.get(Int64.self), let spentPoints = reader.get(Int64.self),
            let spentCredit = reader.get(Int64.self), let firstLine = reader.get(UInt64.self), let key = reader.key()
        else { return nil }
        precondition(reader.offset == bytes, "a sale entry is 160 bytes")
        return SaleEntry(
            timeMs: time, shard: shard, sequence: sequence, kind: kind, key: key, member: member,
            masked: MaskedCard(packed: masked), terminal: SaleCode(high: terminalHigh, low: terminalLow),
            merchant: MerchantName(high: merchantHigh, low: merchantLow), amountMinor: amount,
            earned: AssetAmounts(points: earnedPoints, credit: earnedCredit),
            spent: AssetAmounts(points: spentPoints, credit: spentCredit), lineCount: lines, firstLine: firstLine)
    }

    static func encode(_ line: SaleLine, at base: UnsafeMutableRawPointer) {
        precondition(line.quantity >= 1 && line.amountMinor >= 0, "a sale line as built")
        var writer = ByteWriter(base: base, capacity: lineBytes)
        writer.put(line.sku.high)
        writer.put(line.sku.low)
        writer.put(line.category.high)
        writer.put(line.category.low)
        writer.put(line.quantity)
        writer.put(UInt32(0))
        writer.put(line.amountMinor)
        precondition(writer.offset == lineBytes, "a sale line is 48 bytes")
        assert(decodeLine(UnsafeRawPointer(base)) == line, "a sale line reads back as written")
    }

    static func decodeLine(_ base: UnsafeRawPointer) -> SaleLine? {
        var reader = ByteReader(base: base, count: lineBytes)
        guard let skuHigh = reader.get(UInt64.self), let skuLow = reader.get(UInt64.self),
            let categoryHigh = reader.get(UInt64.self), let categoryLow = reader.get(UInt64.self),
            let quantity = reader.get(Int32.self), quantity >= 1, reader.get(UInt32.self) == 0,
            let amount = reader.get(Int64.self), amount >= 0, skuHigh != 0
        else { return nil }
        precondition(reader.offset == lineBytes, "a sale line is 48 bytes")
        return SaleLine(
            sku: SaleCode(high: skuHigh, low: skuLow), category: SaleCode(high: categoryHigh, low: categoryLow),
            quantity: quantity, amountMinor: amount)
    }
}

extension SaleEntry {
    /// The entry an approved record with a sale makes, or a lot expiry sweep that expired something; nil for every
    /// other record. `original` finds the amount and kind of the sale a reversal undoes (nil: not known to the
    /// store).
    static func from(
        _ body: WALRecord.Body, shard: Int, sequence: UInt64, original: (IdempotencyKey) -> (Kind, Int64)?
    ) -> SaleEntry? {
        precondition(shard >= 0 && shard <= Int(UInt16.max) && sequence >= 1, "a record of a shard's log")
        if body.command.kind == .expireLots { return expiry(body, shard: shard, sequence: sequence) }
        guard let sale = body.sale, body.status.isApproval else { return nil }
        var entry = SaleEntry(
            timeMs: body.timeMs, shard: UInt16(shard), sequence: sequence, kind: .purchase, key: body.command.key,
            member: body.member ?? body.command.cardHash, masked: body.command.masked, terminal: sale.terminal,
            merchant: sale.merchant, amountMinor: 0, earned: .zero, spent: .zero)
        let undone = body.undone ?? WALRecord.UndoneAmounts(credited: .zero, debited: .zero)
        switch body.command.kind {
        case .earn:
            entry.amountMinor = body.command.amountMinor
            entry.earned = body.command.amounts
        case .redeem:
            entry.kind = .payment
            entry.amountMinor = body.command.amountMinor
            entry.spent = body.saleDebited
        case .refund:
            entry.kind = .refund
            entry.amountMinor = -body.command.amountMinor
            entry.earned = AssetAmounts(points: -undone.debited.points, credit: -undone.debited.credit)
            entry.spent = AssetAmounts(points: -undone.credited.points, credit: -undone.credited.credit)
        case .reverse:
            let reversed = original(body.command.originalKey)
            entry.kind = reversed?.0 == .payment ? .paymentReversal : .purchaseReversal
            entry.amountMinor = -(reversed?.1 ?? 0)
            entry.earned = AssetAmounts(points: -undone.debited.points, credit: -undone.debited.credit)
            entry.spent = AssetAmounts(points: -undone.credited.points, credit: -undone.credited.credit)
        default:
            return nil
        }
        precondition(entry.kind != .expiry && Int(entry.lineCount) == 0, "a sale entry before its lines are placed")
        return entry
    }
}

extension SaleEntry {
    /// A sweep record's expiry: its recorded "balance" is what it expired (ShardState+Expiry.applySweep); a live
    /// sweep names the member's first card, an older record nobody (zero key). Nil when nothing expired.
    static func expiry(_ body: WALRecord.Body, shard: Int, sequence: UInt64) -> SaleEntry? {
        let expired = body.balanceAfter
        guard body.status.isApproval, expired.points > 0 || expired.credit > 0 else { return nil }
        let command = body.command
        return SaleEntry(
            timeMs: body.timeMs, shard: UInt16(shard), sequence: sequence, kind: .expiry, key: command.key,
            member: body.member ?? command.cardHash, masked: command.masked, terminal: SaleCode(high: 0, low: 0),
            merchant: MerchantName(high: 0, low: 0), amountMinor: 0, earned: .zero, spent: expired)
    }
}
