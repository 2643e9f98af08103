import AdminAccess
import Foundation
import HTTP
import ISO8583
import Loyalty
import Network
import Notifications

/// One listening socket: where, how frames are delimited, which dialect, and who connects (terminals or hosts).
public struct ListenerConfiguration: Sendable {
    public enum Role: String, Sendable { case terminal, host }

    public var address: SocketAddress
    public var framing: Framing
    public var dialectName: String
    public var role: Role
    /// TLS on this listener (certificate, key, and for mutual TLS the client authority); nil serves plain TCP.
    public var tls: TLSServerFiles?

    public init(
        address: SocketAddress, framing: Framing = Framing(), dialectName: String = BuiltinDialects.defaultName,
        role: Role = .terminal, tls: TLSServerFiles? = nil
    ) {
        self.address = address
        self.framing = framing
        self.dialectName = dialectName
        self.role = role
        self.tls = tls
    }
}

extension ListenerConfiguration {
    /// Why a listener cannot speak `dialect`, or nil when it can. The switch reads and writes ISO 8583:1987
    /// messages (wire contract v1): a 1993 listener would decode 1200 and answer 1210 with field 39 "012", which
    /// no 1993 peer reads as a response code. Refused at start with the reason instead; 1993 dialects stay usable
    /// by `loyalty-switch iso decode/encode`. Field 39 is checked too, because a jPOS packager file cannot say its
    /// version, but one whose field 39 is not 2 characters cannot carry the contract's response codes. Nor can
    /// one whose field 39 refuses a code's characters (`x+n` wants a sign, a strict `a` no digits): `setCode` would
    /// fail quietly and every answer would go out without field 39, so each code the switch sends is tried here.
    public static func problem(with dialect: Dialect) -> String? {
        guard dialect.version == .iso1987 else {
            return "\(dialect.name) is \(dialect.version); the switch serves ISO 8583:1987 messages (wire contract "
                + "v1), so a listener cannot use it (1993 dialects remain usable by loyalty-switch iso decode/encode)"
        }
        guard let responseCode = dialect.formats[39] else {
            return "\(dialect.name) does not define field 39; the switch answers with 2-character response codes"
        }
        guard responseCode.lengthType == .fixed, responseCode.maxLength == 2, responseCode.type != .binary else {
            let length = responseCode.lengthType == .fixed ? "" : ".."
            return "\(dialect.name) defines field 39 as \(responseCode.type.rawValue)\(length)"
                + "\(responseCode.maxLength); the switch answers with 2-character response codes (wire contract v1)"
        }
        var probe = ISOMessage(dialect: dialect, mti: nil)
        for code in ResponseCode.allCases {
            let refusal = code.withBytes { bytes -> ISOError? in
                do throws(ISOError) {
                    try probe.set(39, canonicalBytes: bytes)
                    return nil
                } catch {
                    return error
                }
            }
            if let refusal {
                let strict = dialect.strictCharacterClasses ? " with strict character classes" : ""
                return "\(dialect.name) defines field 39 as \(responseCode.type.rawValue)2\(strict), which cannot hold "
                    + "response code \(code.text) (\(refusal.reasonText)); the switch answers with the response codes "
                    + "of wire contract v1"
            }
        }
        precondition(
            responseCode.maxLength == 2 && dialect.version == .iso1987, "a listener's dialect holds every code")
        return nil
    }
}

/// The admin API's listener (specs/admin-api.md): where it listens, TLS, and the HTTP server's limits. Its
/// connections are bounded by `limits.connectionsMax`, apart from the ISO 8583 listeners' `connectionsMax`.
public struct AdminConfiguration: Sendable {
    /// 127.0.0.1:8580 by default: operators reach it from the machine itself unless told otherwise.
    public var address = SocketAddress("127.0.0.1:8580")!
    /// TLS on the admin listener (the same settings as an ISO 8583 listener's); nil serves plain HTTP.
    public var tls: TLSServerFiles?
    public var limits = HTTPLimits()
    /// Users, tokens, the audit journal and Idempotency-Key answers: their limits (`AccessSettings`).
    public var access = AccessSettings()
    /// `GET /metrics` asks for a token (any role) when true; open like `GET /v1/health` by default, for a
    /// Prometheus on the same machine.
    public var metricsRequireToken = false
    /// The largest adjustment (points or minor units, either sign) an operator may make in one request; larger
    /// ones need the admin role (403).
    public var operatorAdjustmentMax: Int64 = 10_000
    /// Lotteries kept and members entered per lottery (`lotteriesMax`, `lotteryEntrantsMax`): 409 beyond them.
    var lotteries = LotteryBook.Limits()
    /// Where the admin API's connections run (issue 13, item 4: admin work never delays authorizations).
    public var loop = AdminLoop.own
    /// The nice value of the admin API's own loop thread (0...19; `loop` `.own` only): above the ISO loops' 0, so
    /// on busy cores the kernel runs the ISO loops and the shards first and the admin API in what is left.
    public var loopNice = 10
    /// Member imports (`POST /v1/imports/members`) running at once; one more is answered 429.
    public var importsRunningMax = MemberImports.runningMaxDefault
    /// The largest member upload (`POST /v1/imports/members` streams it to disk): 413 above it.
    public var importBytesMax = MemberImports.uploadBytesMaxDefault

    public init() {}
}

/// Where the admin API's HTTP connections run.
public enum AdminLoop: String, Sendable {
    /// On one event loop of its own, at `loopNice`: no ISO 8583 loop ever parses HTTP, checks a token or writes
    /// JSON, and the admin thread yields the CPU to the ISO loops and shards when the cores are busy.
    case own
    /// On the ISO 8583 loops, beside the terminals' connections (what the switch did before; kept to compare).
    case shared
}

/// Everything `serve` needs. The embedded default needs no file: 127.0.0.1:8583, iso87ascii, 2-byte binary
/// length, data in ./data, a loop per core and one ledger shard, 100 ms latency budget.
public struct SwitchConfiguration: Sendable {
    public var listeners: [ListenerConfiguration]
    public var dataDirectory = "data"
    /// One event loop per core.
    public var loopCount = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 64)
    /// One ledger shard by default: a shard is a thread that mostly waits on fdatasync, and fewer shards mean
    /// fuller group commits (on 2 cores: 1 shard 245k/s, 2 shards 199k/s, benchmarks/RESULTS.md). Fixed rather
    /// than per core, because a data directory keeps the shard count it was created with.
    public var shardCount = 1
    /// Each request must be answered within this many milliseconds of its arrival, or it gets 91.
    public var latencyBudgetMs = 100
    /// Requests read but not answered yet, per connection; reading pauses at the limit.
    public var inFlightPerConnectionMax = 256
    /// Requests waiting for the ledger, per loop; over it a request is answered 91 at once.
    public var pendingPerLoopMax = 65536
    /// False only for benchmarks that measure the switch without the disk: approvals are then NOT durable.
    public var durable = true
    public var ledgerQueueCapacity = 8192
    /// Request keys kept in memory per shard (~370 bytes each once used): the recent window. Older keys move to
    /// the shard's key store on disk and are remembered for `requestKeyRetentionHours` whatever the traffic; a
    /// larger window only saves disk reads for repeats and reversals of recent requests.
    public var idempotencyKeysPerShard = 1 << 18
    /// Memory per shard for the 512-byte chunks a shard saves before writing them while a checkpoint is written
    /// beside it (`LedgerConfiguration.checkpointCopyBytesMax`); beyond it that checkpoint is abandoned.
    public var checkpointCopyBytesMax = 256 << 20
    /// A checkpoint's writing pace (`LedgerConfiguration.checkpointBytesPerSecondMax`); 0: the disk's speed.
    public var checkpointBytesPerSecondMax = 32 << 20
    /// Reports read checkpoints (`LedgerConfiguration.reportCheckpointReuseMs`, `reportCheckpointWaitMs`).
    public var reportCheckpointReuseMs = 1000
    public var reportCheckpointWaitMs = 30_000
    public var reportStalledReaderTimeoutMs = 60_000
    public var network = NetworkLimits()
    /// Enrol an unknown card on its first purchase (`program.autoEnrol`).
    public var autoEnrol = true
    /// How long a 0100 hold lasts before it lapses (`program.holdExpiryMs`).
    public var holdExpiryMs: Int64 = 7 * 24 * 3_600_000
    /// The `program` section's flat rate as the embedded loyalty program (version 0, `Program.embedded`): 1 point
    /// per whole 100 minor units, a point pays 1 minor unit, no partial redemption. It decides when there are no
    /// `rules`, by the same path as configured rules.
    public var embeddedProgram = SwitchConfiguration.defaultEmbeddedProgram
    /// The loyalty rules (issue 6, docs/loyalty-rules.md). When present, a purchase earns what they decide —
    /// points by merchant, group, category or default, and store credit — instead of the embedded program.
    /// The ledger logs the amounts decided, so a later rules change never alters a replay.
    public var rules: Loyalty.Program?
    /// What decides at start: the configured rules, else the embedded program.
    public var programInForce: Loyalty.Program { rules ?? embeddedProgram }

    static let defaultEmbeddedProgram = try! Loyalty.Program.embedded(
        pointsPerUnit: 1, unitMinor: 100, redemption: RedemptionPolicy(pointValueMinor: 1))
    /// How long a graceful shutdown waits for requests in flight before it stops anyway.
    public var shutdownGraceMs = 5000
    /// The terminals' local time (fields 12 and 13) is UTC plus this many minutes (Iran: 210). Offline advices
    /// are judged by when the sale happened, which only these fields say.
    public var terminalUtcOffsetMinutes = 0
    /// An offline advice (0220) whose sale is older than this is declined (05) and changes nothing: the rules of
    /// that time may be gone, and a terminal's store-and-forward queue does not hold sales for weeks.
    public var offlineAdviceAgeMaxHours = 168
    /// How long request keys are remembered (W): a repeat inside it gets the first answer again, a reversal or
    /// refund finds its original; a request whose field 7 is older is declined (05, `RequestAge`). At most 90
    /// days, so that field 7 (which has no year) is placed in its year without doubt; at least the hold expiry.
    public var requestKeyRetentionHours = 168
    /// Request keys the ledger's key store buffers in memory per shard before writing a run file.
    public var requestKeyBufferEntries = 1 << 16
    /// The operator's override (`serve --allow-clock-behind`, never from the file): start even though the clock
    /// is behind the newest log record; the ledger then keeps that record's time until the clock passes it.
    public var allowClockBehind = false
    /// The admin API (health, metrics, the OpenAPI document); nil turns it off (`"admin": null`).
    public var admin: AdminConfiguration? = AdminConfiguration()
    /// Member notifications to webhooks (specs/configuration.md, `notifications`); nil or no webhooks: off.
    public var notifications: NotificationConfiguration?
    /// The members' movements history (specs/configuration.md, `history`); nil: off.
    public var history: HistoryConfiguration? = HistoryConfiguration()
    /// The member search (specs/configuration.md, `search`); nil: off. RFM and VIPs (`segments`).
    public var search: SearchConfiguration? = SearchConfiguration()
    public var segments = SegmentsConfiguration()
    /// The sales store (specs/configuration.md, `sales`); nil: off.
    public var sales: SalesConfiguration? = SalesConfiguration()
    /// Backups taken by the running switch (specs/configuration.md, `backup`); nil: none.
    public var backup: BackupConfiguration?
    /// A standby kept by `ledger follow` whose uncopied log is held (specs/configuration.md, `standby`); nil: none.
    public var standby: StandbyConfiguration?
    /// Tests and benchmarks only (`serve --notifications-test-source EVENTS:MEMBERS`, never from the file): the
    /// webhooks get `TestEventSource`'s events instead of the ledger's (which are still to come).
    public var notificationTestSource: (events: UInt64, members: UInt64)?
    /// The operator's override (`serve --accept-log-damage`, never from the file): start on a damaged log,
    /// keeping it up to the damage and setting the rest aside (`*.damaged`); logged as an error per shard.
    public var acceptLogDamage = false
    /// Size of each write-ahead log segment; every shard keeps two allocated (the current one and the next, made
    /// ahead), so the disk needs 2 × this per shard free at start, and a full disk declines only once both fill.
    public var logSegmentBytes = 64 << 20

    public init() {
        listeners = [ListenerConfiguration(address: SocketAddress("127.0.0.1:8583")!)]
        precondition((1...64).contains(loopCount) && shardCount >= 1, "the defaults have a loop and a shard")
    }
}
