/// The program a switch runs when its configuration has no `rules`: the flat rate of the `program` section as a
/// loyalty program, so one evaluator decides every purchase (issue 11).
///
/// Version 0 (configured rules start at 1, so a reload always replaces it and a decision names it), any currency
/// (the flat rate never compared field 49), `pointsPerUnit` points for every whole `unitMinor` of the money part,
/// and `redemption` as given; no merchants, groups, credit, tiers, offers, events or expiry.
extension Program {
    /// The currency code of a program that earns on every currency (the embedded one only).
    public static let anyCurrency: UInt16 = 0

    public static func embedded(pointsPerUnit: Int64, unitMinor: Int64, redemption: RedemptionPolicy) throws(
        ProgramConfigurationError
    ) -> Program {
        var rules = ScopedRules<PointsRule>()
        rules.programDefault = .perAmount(points: pointsPerUnit, amountMinor: unitMinor)
        // Version 1 and a currency pass validation; the program then takes the values no file may have.
        let configuration = ProgramConfiguration(
            version: 1, currencyCode: 1, earning: Earning(rules: rules), redemption: redemption)
        return try Program(configuration: configuration, version: 0, currencyCode: anyCurrency)
    }
}
