import Foundation
import ISO8583
import Ledger
import Loyalty
import Network

/// A configuration file problem: names the file and the key.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let source: String
    public let key: String
    public let message: String

    public var description: String { "\(source): \(key): \(message)" }
}

extension SwitchConfiguration {
    /// Reads a JSON configuration; every key is optional and falls back to the embedded default. An unknown key
    /// or a wrong value anywhere is an error naming its key path, so no mistake is silently ignored.
    /// The format is documented in specs/configuration.md.
    public static func load(path: String) throws(ConfigurationError) -> SwitchConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(source: path, key: "-", message: "cannot read the file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw ConfigurationError(source: path, key: "-", message: "not a JSON object")
        }
        return try SwitchConfiguration(json: root, source: path)
    }

    init(json root: [String: Any], source: String) throws(ConfigurationError) {
        self.init()
        let reader = JSONReader(source: source, path: "", object: root)
        dataDirectory = try reader.nonEmptyString("data", meaning: "path") ?? dataDirectory
        loopCount = try reader.integer("loops", range: 1...64) ?? loopCount
        shardCount = try reader.integer("shards", range: 1...64) ?? shardCount
        latencyBudgetMs = try reader.integer("latencyBudgetMs", range: 1...60_000) ?? latencyBudgetMs
        durable = try reader.boolean("durable") ?? durable
        shutdownGraceMs = try reader.integer("shutdownGraceMs", range: 0...600_000) ?? shutdownGraceMs
        terminalUtcOffsetMinutes =
            try reader.integer("terminalUtcOffsetMinutes", range: -720...840) ?? terminalUtcOffsetMinutes
        offlineAdviceAgeMaxHours =
            try reader.integer("offlineAdviceAgeMaxHours", range: 1...8_760) ?? offlineAdviceAgeMaxHours
        requestKeyRetentionHours =
            try reader.integer("requestKeyRetentionHours", range: 1...2_160) ?? requestKeyRetentionHours
        if let limits = try reader.child("limits") { try applyLimits(limits) }
        if let program = try reader.child("program") { try applyProgram(program) }
        if let rules = try reader.child("rules") { self.rules = try rules.rules() }
        if let list = try reader.objects("listeners", count: 1...16) {
            listeners = try list.map { (listener) throws(ConfigurationError) in try Self.listener(listener) }
        }
        if reader.isNull("admin") {
            admin = nil
        } else if let object = try reader.child("admin") {
            admin = try Self.admin(object)
        }
        if let object = try reader.child("notifications") { notifications = try Self.notifications(object) }
        if reader.isNull("history") {
            history = nil
        } else if let object = try reader.child("history") {
            history = try Self.history(object)
        }
        if reader.isNull("search") { search = nil } else if let object = try reader.child("search") { search = try Self.search(object) }
        if let object = try reader.child("segments") { segments = try Self.segments(object) }
        if reader.isNull("sales") { sales = nil } else if let object = try reader.child("sales") { sales = try Self.sales(object) }
        if !reader.isNull("backup"), let object = try reader.child("backup") { backup = try Self.backup(object) }
        if let object = try reader.child("standby") { standby = try Self.standby(object) }
        try reader.rejectUnknownKeys()
        // A completion must find its hold's key for as long as the hold lives.
        if holdExpiryMs > Int64(requestKeyRetentionHours) * 3_600_000 {
            throw reader.error(
                "program.holdExpiryMs",
                "\(holdExpiryMs) ms outlives requestKeyRetentionHours (\(requestKeyRetentionHours) h): "
                    + "a completion could not find its hold")
        }
        // Validated above: what the loops, shards and request path take for granted from here on.
        precondition(
            !dataDirectory.isEmpty && (1...16).contains(listeners.count), "a data directory and 1...16 listeners")
        precondition((1...64).contains(loopCount) && (1...64).contains(shardCount), "loops and shards are 1...64")
        precondition((1...60_000).contains(latencyBudgetMs), "latencyBudgetMs is 1...60000")
        precondition((0...600_000).contains(shutdownGraceMs), "shutdownGraceMs is 0...600000")
        precondition((-720...840).contains(terminalUtcOffsetMinutes), "terminalUtcOffsetMinutes is -720...840")
        precondition((1...8_760).contains(offlineAdviceAgeMaxHours), "offlineAdviceAgeMaxHours is 1...8760")
        precondition((1...2_160).contains(requestKeyRetentionHours), "requestKeyRetentionHours is 1...2160")
        precondition(holdExpiryMs <= Int64(requestKeyRetentionHours) * 3_600_000, "a hold never outlives its key")
    }

    mutating func applyLimits(_ limits: JSONReader) throws(ConfigurationError) {
        network.connectionsMax = try limits.integer("connectionsMax", range: 1...1_000_000) ?? network.connectionsMax
        network.outputBytesMax = try limits.integer("outputBytesMax", range: 1024...(1 << 30)) ?? network.outputBytesMax
        network.idleTimeoutMs = try limits.integer("idleTimeoutMs", range: 0...86_400_000) ?? network.idleTimeoutMs
        inFlightPerConnectionMax =
            try limits.integer("inFlightPerConnectionMax", range: 1...65536) ?? inFlightPerConnectionMax
        pendingPerLoopMax = try limits.integer("pendingPerLoopMax", range: 1...(1 << 22)) ?? pendingPerLoopMax
        ledgerQueueCapacity = try limits.integer("ledgerQueueCapacity", range: 1...(1 << 22)) ?? ledgerQueueCapacity
        idempotencyKeysPerShard =
            try limits.integer("idempotencyKeysPerShard", range: 1024...(1 << 28)) ?? idempotencyKeysPerShard
        requestKeyBufferEntries =
            try limits.integer("requestKeyBufferEntries", range: 1024...(1 << 24)) ?? requestKeyBufferEntries
        network.tlsHandshakeTimeoutMs =
            try limits.integer("tlsHandshakeTimeoutMs", range: 10...600_000) ?? network.tlsHandshakeTimeoutMs
        network.tlsHandshakesPerIterationMax =
            try limits.integer("tlsHandshakesPerIterationMax", range: 1...4096) ?? network.tlsHandshakesPerIterationMax
        logSegmentBytes = try limits.integer("logSegmentBytes", range: (64 << 10)...(1 << 30)) ?? logSegmentBytes
        checkpointCopyBytesMax =
            try limits.integer("checkpointCopyBytesMax", range: (1 << 20)...(1 << 36)) ?? checkpointCopyBytesMax
        checkpointBytesPerSecondMax =
            try limits.integer("checkpointBytesPerSecondMax", range: 0...(1 << 40)) ?? checkpointBytesPerSecondMax
        guard checkpointBytesPerSecondMax == 0 || checkpointBytesPerSecondMax >= Int(CopyPace.bytesPerSecondMin) else {
            throw limits.error(
                "checkpointBytesPerSecondMax", "0 (not paced) or at least \(CopyPace.bytesPerSecondMin) bytes per second")
        }
        reportCheckpointReuseMs =
            try limits.integer("reportCheckpointReuseMs", range: 0...3_600_000) ?? reportCheckpointReuseMs
        reportCheckpointWaitMs = try limits.integer("reportCheckpointWaitMs", range: 0...600_000) ?? reportCheckpointWaitMs
        reportStalledReaderTimeoutMs =
            try limits.integer("reportStalledReaderTimeoutMs", range: 100...3_600_000) ?? reportStalledReaderTimeoutMs
        try limits.rejectUnknownKeys()
        precondition(network.connectionsMax >= 1 && network.outputBytesMax >= 1024, "connections and output have room")
        precondition((1...65536).contains(inFlightPerConnectionMax), "inFlightPerConnectionMax is 1...65536")
        precondition((1...(1 << 22)).contains(pendingPerLoopMax), "pendingPerLoopMax is 1...2^22")
        precondition((1...(1 << 22)).contains(ledgerQueueCapacity), "ledgerQueueCapacity is 1...2^22")
        precondition(idempotencyKeysPerShard >= 1024 && requestKeyBufferEntries >= 1024, "key windows of 1024 or more")
        precondition(logSegmentBytes >= 64 << 10 && checkpointCopyBytesMax >= 1 << 20, "segments and copies have room")
        precondition(network.tlsHandshakesPerIterationMax >= 1, "a TLS handshake may advance each iteration")
    }

    /// The flat rate becomes the embedded program (its ranges are the loyalty rules' own: a point pays at most
    /// 1,000,000 minor units); enrolment and the hold lifetime are the switch's.
    mutating func applyProgram(_ object: JSONReader) throws(ConfigurationError) {
        let pointsPerUnit = try object.integer("pointsPerEarnUnit", range: 0...1_000_000) ?? 1
        let unitMinor = try object.integer("earnUnitMinor", range: 1...1_000_000_000) ?? 100
        let pointValueMinor = try object.integer("pointValueMinor", range: 1...1_000_000) ?? 1
        autoEnrol = try object.boolean("autoEnrol") ?? autoEnrol
        let partial = try object.boolean("partialRedemption") ?? false
        holdExpiryMs = Int64(try object.integer("holdExpiryMs", range: 1000...(400 * 86_400_000)) ?? Int(holdExpiryMs))
        try object.rejectUnknownKeys()
        precondition((1000...(400 * 86_400_000)).contains(holdExpiryMs), "holdExpiryMs is 1 s...400 days")
        precondition(pointValueMinor >= 1 && unitMinor >= 1, "a point and an earn unit are worth something")
        let redemption = RedemptionPolicy(
            pointValueMinor: Int64(pointValueMinor), creditBeforePoints: true, partialApproval: partial)
        do throws(ProgramConfigurationError) {
            embeddedProgram = try Loyalty.Program.embedded(
                pointsPerUnit: Int64(pointsPerUnit), unitMinor: Int64(unitMinor), redemption: redemption)
        } catch {
            throw object.error("pointsPerEarnUnit", "\(error)")
        }
        precondition(embeddedProgram.version == 0, "the embedded program is version 0")
    }

    static func listener(_ object: JSONReader) throws(ConfigurationError) -> ListenerConfiguration {
        guard let addressText = try object.string("address"), let address = SocketAddress(addressText) else {
            throw object.error("address", "must be HOST:PORT with an IPv4 host")
        }
        let headerName = try object.string("framing") ?? Framing.LengthHeader.binary2.rawValue
        guard let header = Framing.LengthHeader(rawValue: headerName) else {
            throw object.error("framing", "must be binary2, bcd2 or ascii4")
        }
        let frameMax =
            try object.integer("frameBytesMax", range: 64...header.lengthMax) ?? Framing.defaultFrameBytesMax
        let tpdu = try object.boolean("tpdu") ?? false
        let dialectName = try object.string("dialect") ?? BuiltinDialects.defaultName
        let dialect: Dialect
        do {
            dialect = try Dialect.named(dialectName)
        } catch {
            throw object.error("dialect", error.description)
        }
        if let problem = ListenerConfiguration.problem(with: dialect) { throw object.error("dialect", problem) }
        let roleName = try object.string("role") ?? "terminal"
        guard let role = ListenerConfiguration.Role(rawValue: roleName) else {
            throw object.error("role", "must be terminal or host")
        }
        let tls = try object.child("tls")?.tlsFiles()
        try object.rejectUnknownKeys()
        precondition(frameMax >= 64 && frameMax <= header.lengthMax, "a frame limit the length header can announce")
        let listener = ListenerConfiguration(
            address: address, framing: Framing(lengthHeader: header, hasTPDU: tpdu, frameBytesMax: frameMax),
            dialectName: dialectName, role: role, tls: tls)
        precondition(listener.framing.frameBytesMax == frameMax, "the listener keeps its frame limit")
        return listener
    }
}

/// Typed reads from one object of the configuration file, with errors that name the file and the key path
/// (`limits.connectionsMax`, `listeners[1].framing`).
///
/// It remembers every key it was asked for, so `rejectUnknownKeys()` refuses exactly the keys nothing reads: a
/// misspelt or not-yet-supported setting can never be silently ignored, and a new setting is known by being read
/// (the reads are the one list of keys).
final class JSONReader {
    let source: String
    /// Where `object` is in the file: "" at the top, `limits`, `listeners[0]`.
    let path: String
    let object: [String: Any]
    private var keysRead: Set<String> = []

    init(source: String, path: String, object: [String: Any]) {
        self.source = source
        self.path = path
        self.object = object
    }

    func keyPath(_ key: String) -> String {
        precondition(!key.isEmpty, "a key has a name")
        return path.isEmpty ? key : path + "." + key
    }

    func error(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(source: source, key: keyPath(key), message: message)
    }

    /// The raw value of `key`, which from now on counts as known.
    func value(_ key: String) -> Any? {
        keysRead.insert(key)
        return object[key]
    }

    /// The first key (in sorted order, so the error does not depend on hash order) that nothing read.
    func rejectUnknownKeys() throws(ConfigurationError) {
        if let unknown = object.keys.sorted().first(where: { !keysRead.contains($0) }) {
            throw error(unknown, UnknownKey.problem(unknown, allowed: keysRead))
        }
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value as? String else { throw error(key, "must be a string") }
        return text
    }

    func nonEmptyString(_ key: String, meaning: String) throws(ConfigurationError) -> String? {
        guard let text = try string(key) else { return nil }
        guard !text.isEmpty else { throw error(key, "must be a non-empty \(meaning)") }
        precondition(!text.isEmpty, "a non-empty string read is not empty")
        return text
    }

    func integer(_ key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = value(key) else { return nil }
        // `value is Bool` is true for the JSON numbers 0 and 1 too (NSNumber bridges), so ask the number itself.
        guard let number = value as? Int, !Self.isJSONBoolean(value) else { throw error(key, "must be an integer") }
        guard range.contains(number) else { throw error(key, "must be \(range.lowerBound)...\(range.upperBound)") }
        precondition(range.contains(number), "an integer read is inside its range")
        return number
    }

    func boolean(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard Self.isJSONBoolean(value), let flag = value as? Bool else { throw error(key, "must be true or false") }
        return flag
    }

    /// The object under `key`, read by a reader of its own (whose unknown keys its caller rejects).
    func child(_ key: String) throws(ConfigurationError) -> JSONReader? {
        guard let value = value(key) else { return nil }
        guard let object = value as? [String: Any] else { throw error(key, "must be an object") }
        return JSONReader(source: source, path: keyPath(key), object: object)
    }

    /// The objects of the list under `key`, each with its `key[index]` path.
    func objects(_ key: String, count: ClosedRange<Int>) throws(ConfigurationError) -> [JSONReader]? {
        guard let value = value(key) else { return nil }
        guard let list = value as? [Any], count.contains(list.count) else {
            throw error(key, "must be a list of \(count.lowerBound) to \(count.upperBound) objects")
        }
        var readers: [JSONReader] = []
        for (index, element) in list.enumerated() {
            let elementPath = keyPath(key) + "[\(index)]"
            guard let object = element as? [String: Any] else {
                throw ConfigurationError(source: source, key: elementPath, message: "must be an object")
            }
            readers.append(JSONReader(source: source, path: elementPath, object: object))
        }
        precondition(readers.count == list.count && count.contains(readers.count), "one reader per listed object")
        return readers
    }

    /// True when `key` is present as JSON `null` (which then counts as read).
    func isNull(_ key: String) -> Bool {
        object[key] is NSNull && value(key) is NSNull
    }

    /// True for JSON `true`/`false`: JSONSerialization makes them NSNumbers of C type char, numbers are not.
    static func isJSONBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    /// This object as loyalty rules, in the format of docs/loyalty-rules.md; the rules reader checks every key
    /// itself, and its errors keep their key path under this one.
    func rules() throws(ConfigurationError) -> Loyalty.Program {
        keysRead.formUnion(object.keys)
        guard let data = try? JSONSerialization.data(withJSONObject: object) else {
            throw ConfigurationError(source: source, key: path, message: "must be an object")
        }
        do {
            return try Loyalty.Program(json: Array(data))
        } catch {
            let key = error.keyPath.isEmpty ? path : path + "." + error.keyPath
            throw ConfigurationError(source: source, key: key, message: error.problem)
        }
    }

    /// A listener's `tls` object: `certificate` and `privateKey` (PEM paths) required, `clientCertificateAuthority`
    /// optional; any other key is refused, so a misspelt setting never leaves a listener less protected than
    /// its operator believes. The files themselves are read and checked when the switch starts.
    func tlsFiles() throws(ConfigurationError) -> TLSServerFiles {
        guard let certificate = try nonEmptyString("certificate", meaning: "file path (a PEM certificate)") else {
            throw error("certificate", "is required (a PEM certificate file)")
        }
        guard let privateKey = try nonEmptyString("privateKey", meaning: "file path (a PEM private key)") else {
            throw error("privateKey", "is required (a PEM private key file)")
        }
        let authority = try nonEmptyString("clientCertificateAuthority", meaning: "file path (PEM certificates)")
        try rejectUnknownKeys()
        precondition(!certificate.isEmpty && !privateKey.isEmpty, "TLS names a certificate and a key")
        return TLSServerFiles(
            certificatePath: certificate, privateKeyPath: privateKey, clientCertificateAuthorityPath: authority)
    }
}
