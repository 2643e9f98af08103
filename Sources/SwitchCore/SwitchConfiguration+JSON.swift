import Foundation
import ISO8583
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
    /// Reads a JSON configuration; every key is optional and falls back to the embedded default.
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
        let reader = JSONReader(source: source)
        dataDirectory = try reader.string(root, "data") ?? dataDirectory
        loopCount = try reader.integer(root, "loops", range: 1...64) ?? loopCount
        shardCount = try reader.integer(root, "shards", range: 1...64) ?? shardCount
        latencyBudgetMs = try reader.integer(root, "latencyBudgetMs", range: 1...60_000) ?? latencyBudgetMs
        durable = try reader.boolean(root, "durable") ?? durable
        shutdownGraceMs = try reader.integer(root, "shutdownGraceMs", range: 0...600_000) ?? shutdownGraceMs
        if let limits = root["limits"] as? [String: Any] { try applyLimits(limits, reader) }
        if let program = root["program"] as? [String: Any] { try applyProgram(program, reader) }
        if let rules = root["rules"] { self.rules = try reader.rules(rules) }
        if let listeners = root["listeners"] {
            guard let list = listeners as? [[String: Any]], !list.isEmpty, list.count <= 16 else {
                throw reader.error("listeners", "must be a list of 1 to 16 objects")
            }
            self.listeners = try list.enumerated().map { (index, object) throws(ConfigurationError) in
                try reader.listener(object, key: "listeners[\(index)]")
            }
        }
    }

    mutating func applyLimits(_ limits: [String: Any], _ reader: JSONReader) throws(ConfigurationError) {
        network.connectionsMax =
            try reader.integer(limits, "connectionsMax", range: 1...1_000_000) ?? network.connectionsMax
        network.outputBytesMax =
            try reader.integer(limits, "outputBytesMax", range: 1024...(1 << 30)) ?? network.outputBytesMax
        network.idleTimeoutMs =
            try reader.integer(limits, "idleTimeoutMs", range: 0...86_400_000) ?? network.idleTimeoutMs
        inFlightPerConnectionMax =
            try reader.integer(limits, "inFlightPerConnectionMax", range: 1...65536) ?? inFlightPerConnectionMax
        pendingPerLoopMax = try reader.integer(limits, "pendingPerLoopMax", range: 1...(1 << 22)) ?? pendingPerLoopMax
        ledgerQueueCapacity =
            try reader.integer(limits, "ledgerQueueCapacity", range: 1...(1 << 22)) ?? ledgerQueueCapacity
        idempotencyKeysPerShard =
            try reader.integer(limits, "idempotencyKeysPerShard", range: 1024...(1 << 28)) ?? idempotencyKeysPerShard
        network.tlsHandshakeTimeoutMs =
            try reader.integer(limits, "tlsHandshakeTimeoutMs", range: 10...600_000) ?? network.tlsHandshakeTimeoutMs
        network.tlsHandshakesPerIterationMax =
            try reader.integer(limits, "tlsHandshakesPerIterationMax", range: 1...4096)
            ?? network.tlsHandshakesPerIterationMax
    }

    mutating func applyProgram(_ object: [String: Any], _ reader: JSONReader) throws(ConfigurationError) {
        program.pointsPerEarnUnit = Int64(
            try reader.integer(object, "pointsPerEarnUnit", range: 0...1_000_000) ?? Int(program.pointsPerEarnUnit))
        program.earnUnitMinor = Int64(
            try reader.integer(object, "earnUnitMinor", range: 1...1_000_000_000) ?? Int(program.earnUnitMinor))
        program.pointValueMinor = Int64(
            try reader.integer(object, "pointValueMinor", range: 1...1_000_000_000) ?? Int(program.pointValueMinor))
        program.autoEnrol = try reader.boolean(object, "autoEnrol") ?? program.autoEnrol
        program.partialRedemption = try reader.boolean(object, "partialRedemption") ?? program.partialRedemption
        program.holdExpiryMs = Int64(
            try reader.integer(object, "holdExpiryMs", range: 1000...(400 * 86_400_000)) ?? Int(program.holdExpiryMs))
    }
}

/// Typed reads from JSONSerialization output with errors that name the key.
struct JSONReader {
    let source: String

    func error(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(source: source, key: key, message: message)
    }

    func string(_ object: [String: Any], _ key: String) throws(ConfigurationError) -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value as? String else { throw error(key, "must be a string") }
        return text
    }

    func integer(_ object: [String: Any], _ key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = object[key] else { return nil }
        // `value is Bool` is true for the JSON numbers 0 and 1 too (NSNumber bridges), so ask the number itself.
        guard let number = value as? Int, !Self.isJSONBoolean(value) else { throw error(key, "must be an integer") }
        guard range.contains(number) else { throw error(key, "must be \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    func boolean(_ object: [String: Any], _ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = object[key] else { return nil }
        guard Self.isJSONBoolean(value), let flag = value as? Bool else { throw error(key, "must be true or false") }
        return flag
    }

    /// True for JSON `true`/`false`: JSONSerialization makes them NSNumbers of C type char, numbers are not.
    static func isJSONBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    /// The `rules` object, in the format of docs/loyalty-rules.md; its errors keep their key path under `rules`.
    func rules(_ value: Any) throws(ConfigurationError) -> Loyalty.Program {
        guard let object = value as? [String: Any], let data = try? JSONSerialization.data(withJSONObject: object)
        else { throw error("rules", "must be an object") }
        do {
            return try Loyalty.Program(json: Array(data))
        } catch {
            throw self.error(error.keyPath.isEmpty ? "rules" : "rules." + error.keyPath, error.problem)
        }
    }

    func listener(_ object: [String: Any], key: String) throws(ConfigurationError) -> ListenerConfiguration {
        guard let addressText = try string(object, "address"), let address = SocketAddress(addressText) else {
            throw error("\(key).address", "must be HOST:PORT with an IPv4 host")
        }
        let headerName = try string(object, "framing") ?? Framing.LengthHeader.binary2.rawValue
        guard let header = Framing.LengthHeader(rawValue: headerName) else {
            throw error("\(key).framing", "must be binary2, bcd2 or ascii4")
        }
        let frameMax =
            try integer(object, "frameBytesMax", range: 64...header.lengthMax) ?? Framing.defaultFrameBytesMax
        let tpdu = try boolean(object, "tpdu") ?? false
        let dialect = try string(object, "dialect") ?? BuiltinDialects.defaultName
        do {
            _ = try Dialect.named(dialect)
        } catch {
            throw self.error("\(key).dialect", error.description)
        }
        let roleName = try string(object, "role") ?? "terminal"
        guard let role = ListenerConfiguration.Role(rawValue: roleName) else {
            throw error("\(key).role", "must be terminal or host")
        }
        let tls = try object["tls"].map { value throws(ConfigurationError) in try tlsFiles(value, key: "\(key).tls") }
        return ListenerConfiguration(
            address: address, framing: Framing(lengthHeader: header, hasTPDU: tpdu, frameBytesMax: frameMax),
            dialectName: dialect, role: role, tls: tls)
    }

    static let tlsKeys: Set<String> = ["certificate", "privateKey", "clientCertificateAuthority"]

    /// A listener's `tls` object: `certificate` and `privateKey` (PEM paths) required, `clientCertificateAuthority`
    /// optional; any other key is refused, so a misspelt setting never leaves a listener less protected than
    /// its operator believes. The files themselves are read and checked when the switch starts.
    func tlsFiles(_ value: Any, key: String) throws(ConfigurationError) -> TLSServerFiles {
        guard let object = value as? [String: Any] else { throw error(key, "must be an object") }
        if let unknown = object.keys.sorted().first(where: { !JSONReader.tlsKeys.contains($0) }) {
            throw error("\(key).\(unknown)", "unknown key (known: certificate, privateKey, clientCertificateAuthority)")
        }
        func path(_ name: String) throws(ConfigurationError) -> String? {
            guard let value = object[name] else { return nil }
            guard let text = value as? String, !text.isEmpty else {
                throw error("\(key).\(name)", "must be a file path (a non-empty string)")
            }
            return text
        }
        guard let certificate = try path("certificate") else {
            throw error("\(key).certificate", "is required (a PEM certificate file)")
        }
        guard let privateKey = try path("privateKey") else {
            throw error("\(key).privateKey", "is required (a PEM private key file)")
        }
        return TLSServerFiles(
            certificatePath: certificate, privateKeyPath: privateKey,
            clientCertificateAuthorityPath: try path("clientCertificateAuthority"))
    }
}
