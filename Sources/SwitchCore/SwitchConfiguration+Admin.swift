import AdminAccess
import HTTP
import Network

extension SwitchConfiguration {
    /// `"admin": {"listen": "HOST:PORT", "tls": {...}, ...limits}`; every key optional (the defaults of
    /// `AdminConfiguration`), every key checked like the rest of the file.
    static func admin(_ object: JSONReader) throws(ConfigurationError) -> AdminConfiguration {
        var admin = AdminConfiguration()
        if let text = try object.string("listen") {
            guard let address = SocketAddress(text) else {
                throw object.error("listen", "must be HOST:PORT with an IPv4 host")
            }
            admin.address = address
        }
        admin.tls = try object.child("tls")?.tlsFiles()
        try applyHTTPLimits(object, to: &admin.limits)
        try applyAccessSettings(object, to: &admin.access)
        admin.metricsRequireToken = try object.boolean("metricsRequireToken") ?? admin.metricsRequireToken
        if let limit = try object.integer("operatorAdjustmentMax", range: 0...999_999_999_999) {
            admin.operatorAdjustmentMax = Int64(limit)
        }
        admin.lotteries.lotteriesMax =
            try object.integer("lotteriesMax", range: 1...100_000) ?? admin.lotteries.lotteriesMax
        admin.lotteries.entrantsMax =
            try object.integer("lotteryEntrantsMax", range: 1...10_000_000) ?? admin.lotteries.entrantsMax
        if let text = try object.string("loop") {
            guard let loop = AdminLoop(rawValue: text) else { throw object.error("loop", "must be \"own\" or \"shared\"") }
            admin.loop = loop
        }
        admin.loopNice = try object.integer("loopNice", range: 0...19) ?? admin.loopNice
        admin.importsRunningMax = try object.integer("importsRunningMax", range: 1...16) ?? admin.importsRunningMax
        admin.importBytesMax = try object.integer("importBytesMax", range: 64...(1 << 40)) ?? admin.importBytesMax
        try object.rejectUnknownKeys()
        precondition(admin.operatorAdjustmentMax >= 0, "operatorAdjustmentMax is a magnitude")
        precondition(
            admin.lotteries.lotteriesMax >= 1 && admin.lotteries.entrantsMax >= 1, "lottery limits are 1 or more")
        precondition((0...19).contains(admin.loopNice), "loopNice is 0...19")
        precondition((1...16).contains(admin.importsRunningMax) && admin.importBytesMax >= 64, "import limits in range")
        return admin
    }

    /// The HTTP server's limits, each in a range that keeps it meaningful (specs/configuration.md, `admin`).
    static func applyHTTPLimits(_ object: JSONReader, to limits: inout HTTPLimits) throws(ConfigurationError) {
        limits.connectionsMax = try object.integer("connectionsMax", range: 1...100_000) ?? limits.connectionsMax
        limits.headerBytesMax = try object.integer("headerBytesMax", range: 1024...(1 << 20)) ?? limits.headerBytesMax
        limits.headerCountMax = try object.integer("headerCountMax", range: 8...1024) ?? limits.headerCountMax
        limits.targetBytesMax = try object.integer("targetBytesMax", range: 256...(1 << 20)) ?? limits.targetBytesMax
        limits.bodyBytesMax = try object.integer("bodyBytesMax", range: 0...(1 << 30)) ?? limits.bodyBytesMax
        limits.headerReadTimeoutMs =
            try object.integer("headerReadTimeoutMs", range: 100...600_000) ?? limits.headerReadTimeoutMs
        limits.bodyReadTimeoutMs =
            try object.integer("bodyReadTimeoutMs", range: 100...3_600_000) ?? limits.bodyReadTimeoutMs
        limits.idleTimeoutMs = try object.integer("idleTimeoutMs", range: 100...86_400_000) ?? limits.idleTimeoutMs
        limits.requestsInFlightPerConnectionMax =
            try object.integer("requestsInFlightPerConnectionMax", range: 1...1024)
            ?? limits.requestsInFlightPerConnectionMax
        guard limits.targetBytesMax < limits.headerBytesMax else {
            throw object.error("targetBytesMax", "must be less than headerBytesMax (\(limits.headerBytesMax))")
        }
        precondition(
            limits.connectionsMax >= 1 && limits.requestsInFlightPerConnectionMax >= 1, "HTTP limits are 1 or more")
        precondition(limits.headerCountMax >= 8 && limits.bodyBytesMax >= 0, "HTTP header and body limits in range")
        precondition(
            limits.headerReadTimeoutMs >= 100 && limits.bodyReadTimeoutMs >= 100, "HTTP timeouts of 100 ms or more")
    }
}

extension SwitchConfiguration {
    /// The access layer's limits (specs/configuration.md, `admin`): the per-token rate, the number of users, and
    /// how long and how many `Idempotency-Key` answers are kept (at least the 24 hours operations-v1 promises).
    static func applyAccessSettings(_ object: JSONReader, to settings: inout AccessSettings) throws(ConfigurationError)
    {
        settings.requestsPerSecondPerToken =
            try object.integer("requestsPerSecondPerToken", range: 1...100_000) ?? settings.requestsPerSecondPerToken
        settings.usersMax = try object.integer("usersMax", range: 1...100_000) ?? settings.usersMax
        if let hours = try object.integer("idempotencyRetentionHours", range: 24...8760) {
            settings.idempotencyRetentionMs = Int64(hours) * 3_600_000
        }
        settings.idempotencyKeysMax =
            try object.integer("idempotencyKeysMax", range: 1...1_000_000) ?? settings.idempotencyKeysMax
        settings.directoryMembersMax =
            try object.integer("directoryMembersMax", range: 0...20_000_000) ?? settings.directoryMembersMax
        precondition(settings.requestsPerSecondPerToken >= 1 && settings.usersMax >= 1, "access limits are 1 or more")
        precondition(settings.idempotencyRetentionMs >= 24 * 3_600_000, "Idempotency-Key answers kept 24 h or more")
        precondition(settings.idempotencyKeysMax >= 1 && settings.directoryMembersMax >= 0, "access tables in range")
    }
}
