import ISO8583
import Ledger

/// Field 48 (additional data, private use) as the switch reads it: tag–length–value entries. Tag: 2 letters;
/// length: 2 digits; value: that many characters. Each tag belongs to the transactions that use it:
///
///     BD 04 MMDD         enrolment (0200/91): birthday, month and day of the rules' calendar (Gregorian: 0229
///                        is allowed; `"calendar": "persian"`: 0231 is 31 Ordibehesht, 1230 is 30 Esfand); a
///                        day the calendar's month never has is 13
///     RF nn <digits>     enrolment (0200/91): the referrer's card number (10–19 digits)
///     SC nn <digits>     purchase (0200/00, 0220/00): the service bought, for `earning.byServiceCode` (1–6 digits)
///     PT nn <digits>     redemption (0200/90): the whole purchase amount the payment is part of, to which the
///                        rules' `maximumSharePercent` applies (1–12 digits, minor units of field 49)
///     IT nn <line>       purchase (0200/00, 0220/00): one basket line `SKU;CATEGORY;QUANTITY;AMOUNT`, repeated
///                        up to `SaleDetail.linesMax` times; the lines' sum must not exceed field 4 (`Basket`)
///
/// `BD040315RF165041000000000002` = birthday 15 March, referred by card 5041000000000002. A tag the transaction
/// does not use, an unknown or repeated tag (`IT` aside), a length past the end or a malformed value make the
/// request a format error (30): a terminal that sends data the switch would ignore learns so at once. A basket is
/// refused on every other kind too, even those that otherwise ignore field 48: a refund or reversal that thinks it
/// returns goods line by line would be wrong about what it takes back. Parsed in place, without allocating
/// (purchases may carry it); the basket's lines are only checked and summed here (`Basket.lines(of:)` builds them).
struct AdditionalData {
    /// The tags one kind of transaction may carry.
    struct Tags: OptionSet {
        let rawValue: UInt8
        static let birthday = Tags(rawValue: 1)
        static let referrer = Tags(rawValue: 2)
        static let serviceCode = Tags(rawValue: 4)
        static let purchaseTotal = Tags(rawValue: 8)
        static let basket = Tags(rawValue: 16)
        /// Tags that may appear more than once.
        static let repeatable: Tags = [.basket]

        static func allowed(in kind: TransactionKind) -> Tags {
            switch kind {
            case .profile: [.birthday, .referrer]
            case .purchase, .offlinePurchase: [.serviceCode, .basket]
            case .redeem: [.purchaseTotal]
            default: []
            }
        }
    }

    var birthMonth: UInt8 = 0
    var birthDay: UInt8 = 0
    var referrer: CardNumber?
    var serviceCode: UInt32?
    var purchaseTotalMinor: Int64?
    /// The basket's lines (`IT` entries) and the sum of their amounts.
    var basketLineCount = 0
    var basketAmountMinor: Int64 = 0

    /// Field 48 of `request` read for `kind`; an empty value when the field is absent, nil when malformed, or
    /// when its basket adds up to more than field 4. Kinds that use no tag ignore the field, as they always have,
    /// unless it carries a basket.
    static func parse(_ request: ISOMessage, for kind: TransactionKind) -> AdditionalData? {
        let allowed = Tags.allowed(in: kind)
        guard !allowed.isEmpty else {
            return request.withValue(48, carriesBasket) == true ? nil : AdditionalData()
        }
        guard let parsed = request.withValue(48, { parse($0, allowing: allowed) }) else {
            return AdditionalData()
        }
        if let data = parsed, data.basketLineCount > 0, data.basketAmountMinor > request.integer(4) ?? 0 {
            return nil
        }
        precondition(
            parsed.map { $0.basketLineCount == 0 || allowed.contains(.basket) } ?? true, "a basket only where allowed")
        return parsed
    }

    /// Whether field 48, read as tag–length–value entries as far as it reads so, has an `IT` entry: kinds that
    /// ignore field 48 still refuse a basket.
    static func carriesBasket(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset + 4 <= bytes.count, let length = digits(bytes, offset + 2, 2) {
            if tag(bytes[offset], bytes[offset + 1]) == .basket { return true }
            offset += 4 + length
        }
        return false
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, allowing allowed: Tags) -> AdditionalData? {
        var data = AdditionalData()
        var seen: Tags = []
        var offset = 0
        while offset < bytes.count {
            guard offset + 4 <= bytes.count, let length = digits(bytes, offset + 2, 2) else { return nil }
            let start = offset + 4
            guard start + length <= bytes.count, let tag = tag(bytes[offset], bytes[offset + 1]),
                allowed.contains(tag), !seen.subtracting(Tags.repeatable).contains(tag)
            else { return nil }
            seen.insert(tag)
            guard data.read(tag, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])) else { return nil }
            offset = start + length
        }
        precondition(offset == bytes.count, "field 48 is read to its end")
        precondition(
            data.basketLineCount <= SaleDetail.linesMax && data.basketAmountMinor >= 0, "a basket within its limits")
        return data
    }

    /// Sets the value of one tag; false when the value is malformed.
    private mutating func read(_ tag: Tags, _ value: UnsafeRawBufferPointer) -> Bool {
        switch tag {
        case .birthday:
            guard value.count == 4, let month = Self.digits(value, 0, 2), let day = Self.digits(value, 2, 2) else {
                return false
            }
            precondition(month <= 99 && day <= 99, "two digits each")
            (birthMonth, birthDay) = (UInt8(month), UInt8(day))
        case .referrer:
            guard let card = CardNumber(ascii: value) else { return false }
            referrer = card
        case .serviceCode:
            guard (1...6).contains(value.count), let code = Self.digits(value, 0, value.count) else { return false }
            precondition(code >= 0 && code <= 999_999, "a service code is 1...6 digits")
            serviceCode = UInt32(code)
        case .basket:
            guard basketLineCount < SaleDetail.linesMax, let line = Basket.line(value) else { return false }
            precondition(line.amountMinor >= 0 && line.quantity >= 1, "a basket line has units and no negative amount")
            basketLineCount += 1
            basketAmountMinor += line.amountMinor
        default:
            precondition(tag == .purchaseTotal, "a tag without a reader")
            guard (1...12).contains(value.count), let total = Self.digits(value, 0, value.count) else { return false }
            precondition(total >= 0 && total <= 999_999_999_999, "a purchase total is 1...12 digits")
            purchaseTotalMinor = Int64(total)
        }
        return true
    }

    private static func tag(_ first: UInt8, _ second: UInt8) -> Tags? {
        switch (first, second) {
        case (UInt8(ascii: "B"), UInt8(ascii: "D")): .birthday
        case (UInt8(ascii: "R"), UInt8(ascii: "F")): .referrer
        case (UInt8(ascii: "S"), UInt8(ascii: "C")): .serviceCode
        case (UInt8(ascii: "P"), UInt8(ascii: "T")): .purchaseTotal
        case (UInt8(ascii: "I"), UInt8(ascii: "T")): .basket
        default: nil
        }
    }

    /// `count` ASCII digits from `offset` (at most 12, so the value fits); nil when any is not a digit.
    private static func digits(_ bytes: UnsafeRawBufferPointer, _ offset: Int, _ count: Int) -> Int? {
        precondition(count >= 1 && count <= 12 && offset + count <= bytes.count, "digits inside the value")
        var value = 0
        for index in offset..<(offset + count) {
            let byte = bytes[index]
            guard (0x30...0x39).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }
}
