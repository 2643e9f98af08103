/// A purchase as the rules see it: what the switch reads from the authorization request.
///
/// Plain integers and `ShortIdentifier`s only, so building one from the parsed ISO 8583 fields allocates nothing.
public struct Transaction: Sendable, Equatable, BitwiseCopyable {
    /// The whole purchase in minor units of `currencyCode` (ISO 8583 field 4).
    public var amountMinor: Int64
    /// ISO 4217 numeric code (field 49).
    public var currencyCode: UInt16
    /// ISO 18245 merchant category code (field 18), 0...9999.
    public var merchantCategoryCode: UInt16
    /// Field 42.
    public var merchant: ShortIdentifier
    /// Field 41; not used by the current rules, kept so that decisions can later depend on the terminal.
    public var terminal: ShortIdentifier
    /// When the purchase happened, in milliseconds since the Unix epoch; the rules never read a clock, so a
    /// replay decides exactly as the original did.
    public var timeMs: Int64
    /// The service bought, for businesses that reward services rather than money (a dental check-up).
    public var serviceCode: UInt32?
    /// The part of `amountMinor` the member paid with points; it earns neither points nor credit.
    public var paidWithPointsAmountMinor: Int64

    public init(
        amountMinor: Int64, currencyCode: UInt16, merchantCategoryCode: UInt16, merchant: ShortIdentifier,
        terminal: ShortIdentifier, timeMs: Int64, serviceCode: UInt32? = nil, paidWithPointsAmountMinor: Int64 = 0
    ) {
        self.amountMinor = amountMinor
        self.currencyCode = currencyCode
        self.merchantCategoryCode = merchantCategoryCode
        self.merchant = merchant
        self.terminal = terminal
        self.timeMs = timeMs
        self.serviceCode = serviceCode
        self.paidWithPointsAmountMinor = paidWithPointsAmountMinor
    }
}
