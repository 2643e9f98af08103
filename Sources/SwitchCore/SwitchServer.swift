import AdminAccess
import Foundation
import ISO8583
import Ledger
import Loyalty
import LoyaltyLedger
import Network
import Synchronization
import SystemCalls

/// A listener's resolved settings: its configuration, its loaded dialect and, on a TLS listener, the TLS
/// settings in force.
struct ListenerRuntime: Sendable {
    let configuration: ListenerConfiguration
    let dialect: Dialect
    let tls: TLSListenerContext?
}

/// What every loop shares: read-only after start, but for the keys in doubt.
final class SwitchRuntime: Sendable {
    let configuration: SwitchConfiguration
    let ledger: Ledger
    /// The rules in force for the whole process (loops and shards ask it; a reload swaps them there).
    let decider: LoyaltyDecider
    let log: LogSink
    /// Wall-clock milliseconds, the ledger's clock: what the switch compares terminal times with (offline sale
    /// times). One clock for both, handed in, so the two never disagree and tests can set it.
    let clockMs: @Sendable () -> Int64
    /// Keys answered 91 whose ledger outcome is not settled yet (a late reply, or the reversal that undoes it,
    /// still on the way). A repeat of such a key is answered 91 at once, so a terminal never gets a replayed
    /// approval that the undo then takes back. Budget misses are rare: the count keeps the common path lock-free.
    let keysInDoubt = Mutex<Set<IdempotencyKey>>([])
    let keysInDoubtCount = Atomic<Int>(0)

    func markInDoubt(_ key: IdempotencyKey) {
        keysInDoubt.withLock { keys in
            if keys.insert(key).inserted { keysInDoubtCount.add(1, ordering: .relaxed) }
        }
    }

    func settle(_ key: IdempotencyKey) {
        keysInDoubt.withLock { keys in
            if keys.remove(key) != nil { keysInDoubtCount.subtract(1, ordering: .relaxed) }
        }
    }

    func isInDoubt(_ key: IdempotencyKey) -> Bool {
        guard keysInDoubtCount.load(ordering: .relaxed) > 0 else { return false }
        return keysInDoubt.withLock { $0.contains(key) }
    }

    init(configuration: SwitchConfiguration, ledger: Ledger, log: LogSink, clockMs: @escaping @Sendable () -> Int64) {
        self.configuration = configuration
        self.ledger = ledger
        decider = ledger.loyaltyDecider
        self.log = log
        self.clockMs = clockMs
    }

    /// The rules in force now (the embedded program when none are configured): read per request, never copied.
    var rules: Loyalty.Program {
        guard let program = decider.program else { preconditionFailure("the switch's decider lost its rules") }
        return program
    }
}

/// The switch: ledger, event loops and listeners wired together. `start` opens the ledger (running recovery)
/// and the listeners; `shutdown` stops accepting, lets requests in flight finish, then snapshots and stops.
public final class SwitchServer: @unchecked Sendable {
    public let configuration: SwitchConfiguration
    let log: LogSink
    let runtime: SwitchRuntime
    let group: EventLoopGroup
    let contexts: [LoopContext]
    /// Ports actually bound, in listener order (useful with port 0 in tests).
    public private(set) var boundPorts: [UInt16] = []
    /// The admin API's bound port; nil while it is off or not started.
    public internal(set) var adminPort: UInt16?
    /// The admin API's own loop (`admin.loop` `"own"`); nil when it shares the ISO 8583 loops or is off.
    var adminGroup: EventLoopGroup?
    /// The loop webhooks are delivered on (nil without webhooks): never an ISO 8583 loop.
    var notificationsGroup: EventLoopGroup?
    /// Users, tokens and the audit journal; nil while the admin API is off or not started.
    var access: AccessControl?
    /// The member imports (`POST /v1/imports/members`); nil while the admin API is off or not started.
    var imports: MemberImports?
    /// What `GET /metrics` reads: the loops' counters, the shards', the listeners'.
    let adminMetrics: AdminMetrics
    /// The one reader of the log that feeds the history, the sales store and the member search (those on).
    let logViews: LogViewReader
    /// The TLS listeners' contexts, in listener order (reloaded together on SIGHUP).
    var tlsListeners: [(address: SocketAddress, context: TLSListenerContext)] = []
    let stopped = Atomic<Bool>(false)
    /// The version of the rules in force (0: none); a reload must bring a higher one.
    private var rulesVersion: Int64
    private let reloadLock = Mutex<Void>(())
    /// The receipt names of every version put in force, on disk (written before a version is put in force).
    private var receiptNames: ReceiptNamesJournal

    public init(configuration: SwitchConfiguration, log: LogSink) throws(SwitchStartError) {
        self.configuration = configuration
        self.log = log
        var ledgerConfiguration = Self.ledgerConfiguration(configuration, log: log)
        if let shift = try TestClockShift.fromEnvironment() {
            ledgerConfiguration.clockMs = shift.clockMs
            log.warning(
                "\(TestClockShift.variable) is set: the wall clock is shifted by what its file holds (tests only)",
                priority: .essential)
        }
        let ledger = try Self.openLedger(configuration, ledgerConfiguration, log: log)
        rulesVersion = configuration.programInForce.version
        let runtime = SwitchRuntime(
            configuration: configuration, ledger: ledger, log: log, clockMs: ledgerConfiguration.clockMs)
        self.runtime = runtime
        do {
            receiptNames = try Self.openReceiptNames(configuration, decider: runtime.decider, log: log)
        } catch {
            ledger.close()
            throw error
        }
        let group: EventLoopGroup
        do {
            group = try EventLoopGroup(loopCount: configuration.loopCount, limits: configuration.network, log: log)
        } catch {
            ledger.close()
            throw SwitchStartError(message: "event loops: \(error)")
        }
        self.group = group
        contexts = group.loops.map { LoopContext(loop: $0, runtime: runtime) }
        for context in contexts { context.attach() }
        adminMetrics = AdminMetrics(loops: contexts.map(\.metrics), ledger: ledger, group: group)
        logViews = LogViewReader(root: ledger.directory, shardCount: ledger.shardCount)
    }

    /// Reads the receipt names earlier processes put in force into the decider and records the configured
    /// version's (the embedded program, version 0, names nothing).
    static func openReceiptNames(_ configuration: SwitchConfiguration, decider: LoyaltyDecider, log: LogSink)
        throws(SwitchStartError) -> ReceiptNamesJournal
    {
        do throws(FileCallFailure) {
            var (journal, warning) = try ReceiptNamesJournal.open(data: configuration.dataDirectory)
            if let warning { log.warning(warning, priority: .essential) }
            // Newest first: when a version was recorded twice (its file edited without a new version), the later
            // record is the one its answers were named by.
            for names in journal.records.reversed() { decider.remember(names) }
            if configuration.programInForce.version > 0 { try journal.add(ReceiptNames(configuration.programInForce)) }
            return journal
        } catch {
            throw SwitchStartError(message: "receipt names: \(error)")
        }
    }

    /// The ledger's settings from the switch's configuration (also for `import members` on the command line).
    static func ledgerConfiguration(_ configuration: SwitchConfiguration, log: LogSink) -> LedgerConfiguration {
        var ledgerConfiguration = LedgerConfiguration()
        ledgerConfiguration.shardCount = configuration.shardCount
        ledgerConfiguration.queueCapacity = configuration.ledgerQueueCapacity
        ledgerConfiguration.idempotencyKeysPerShardMax = configuration.idempotencyKeysPerShard
        ledgerConfiguration.checkpointCopyBytesMax = configuration.checkpointCopyBytesMax
        ledgerConfiguration.checkpointBytesPerSecondMax = Int64(configuration.checkpointBytesPerSecondMax)
        ledgerConfiguration.reportCheckpointReuseMs = configuration.reportCheckpointReuseMs
        ledgerConfiguration.reportCheckpointWaitMs = configuration.reportCheckpointWaitMs
        ledgerConfiguration.reportStalledReaderTimeoutMs = configuration.reportStalledReaderTimeoutMs
        ledgerConfiguration.idempotencyRetentionMs = RequestAge.ledgerRetentionMs(
            hours: configuration.requestKeyRetentionHours)
        ledgerConfiguration.keyBufferEntriesMax = configuration.requestKeyBufferEntries
        ledgerConfiguration.skipSync = !configuration.durable
        ledgerConfiguration.segmentBytes = configuration.logSegmentBytes
        // A batch is at most an eighth of a segment (1 MiB at the default 64 MiB): small test segments still
        // hold several batches.
        ledgerConfiguration.batchBytesMax = min(ledgerConfiguration.batchBytesMax, configuration.logSegmentBytes / 8)
        ledgerConfiguration.acceptsLogDamage = configuration.acceptLogDamage
        ledgerConfiguration.log = { line in log.info("ledger: \(line)", priority: .essential) }
        ledgerConfiguration.logWarning = { line in log.warning("ledger: \(line)", priority: .essential) }
        ledgerConfiguration.logFailure = { line in log.error("ledger: \(line)", priority: .essential) }
        if configuration.allowClockBehind { ledgerConfiguration.clockBehindToleranceMs = nil }
        ledgerConfiguration.decider = LoyaltyDecider(rules: configuration.programInForce)
        return ledgerConfiguration
    }

    /// Opens (and recovers) the ledger. A clock behind its newest record is refused with the way to override it,
    /// or, overridden, warned about: the operator must know the ledger's time stands still until the clock passes.
    static func openLedger(
        _ configuration: SwitchConfiguration, _ ledgerConfiguration: LedgerConfiguration, log: LogSink
    ) throws(SwitchStartError) -> Ledger {
        let ledger: Ledger
        do {
            ledger = try Ledger.open(directory: configuration.dataDirectory, configuration: ledgerConfiguration)
        } catch {
            var message = "ledger in \(configuration.dataDirectory): \(error)"
            if case .clockBehind = error {
                message +=
                    ". If the clock is right and the log's times are wrong, start with serve "
                    + "--allow-clock-behind: the ledger then keeps the newest record's time until the clock passes it"
            }
            throw SwitchStartError(message: message)
        }
        let clockMs = ledgerConfiguration.clockMs()
        if let newestRecordMs = ledger.newestRecordTimeMs,
            newestRecordMs - clockMs > LedgerConfiguration.clockBehindToleranceDefaultMs
        {
            log.warning(
                "clock behind, starting anyway (--allow-clock-behind): the clock says "
                    + "\(UTCTime.rfc3339(milliseconds: clockMs)), the newest log record is at "
                    + "\(UTCTime.rfc3339(milliseconds: newestRecordMs)); the ledger stamps new records with that time "
                    + "until the clock passes it", priority: .essential)
        }
        return ledger
    }

    /// Binds every listener and starts the loops. A TLS listener's certificate and key are loaded and checked
    /// first: one that cannot serve refuses the start with its path and OpenSSL's reason.
    public func start() throws(SwitchStartError) {
        try checkDescriptorBudget()
        // The audit journal is checked before any port opens: a broken trail refuses the start outright.
        if let admin = configuration.admin { access = try openAccess(admin) }
        for listenerConfiguration in configuration.listeners {
            let dialect: Dialect
            do {
                dialect = try Dialect.named(listenerConfiguration.dialectName)
            } catch {
                throw SwitchStartError(message: "listener \(listenerConfiguration.address): \(error)")
            }
            // Configurations built in code do not pass the file reader, which checks this first.
            if let problem = ListenerConfiguration.problem(with: dialect) {
                throw SwitchStartError(message: "listener \(listenerConfiguration.address): \(problem)")
            }
            let tls = try loadTLS(listenerConfiguration)
            let listener = ListenerRuntime(configuration: listenerConfiguration, dialect: dialect, tls: tls)
            let contexts = self.contexts
            let port: UInt16
            do {
                port = try group.listen(on: listenerConfiguration.address, tls: tls) { connection in
                    SwitchConnection(
                        connection: connection, context: contexts[connection.loop.index], listener: listener)
                }
            } catch {
                throw SwitchStartError(message: "listen on \(listenerConfiguration.address): \(error)")
            }
            boundPorts.append(port)
            if let tls { tlsListeners.append((SocketAddress("\(listenerConfiguration.address.host):\(port)")!, tls)) }
            let framing = listenerConfiguration.framing
            log.info(
                "listening on \(listenerConfiguration.address.host):\(port) dialect \(dialect.name) framing "
                    + "\(framing.lengthHeader.rawValue)\(framing.hasTPDU ? "+tpdu" : "") role \(listenerConfiguration.role.rawValue)"
                    + Self.tlsDescription(tls), priority: .essential)
        }
        try startNotifications()
        try startHistory()
        startStandbyHold()
        try startSales()
        try startAdmin()
        startSearch()
        startLogViews()
        group.start()
        adminGroup?.start()
        notificationsGroup?.start()
        startBackups()
    }

    /// Descriptors the switch keeps beside its connections and the ledger's reserve: a TLS reload's files, the
    /// descriptor an accept over `connectionsMax` holds for a moment, the runtime's own.
    static let descriptorsSpare = 16

    /// Refuses a `connectionsMax` that does not fit beside the descriptors the process keeps for itself — open
    /// now (loops, the ledger's log files), the listeners about to be bound (a socket and a spare each), and what
    /// the ledger opens on demand (segments made on demand, snapshots) — so that connections can never take the
    /// descriptors the log needs. Checked before any listener binds.
    func checkDescriptorBudget() throws(SwitchStartError) {
        let limits = DescriptorLimit.current
        let ledger = runtime.ledger.configuration
        let listeners = configuration.listeners.count * 2
        let kept = DescriptorLimit.openCount() + listeners + ledger.descriptorsOpenedOnDemand + Self.descriptorsSpare
        let fit = DescriptorLimit.connectionsThatFit(limit: limits.soft, keptForProcess: kept)
        let connectionsMax = configuration.network.connectionsMax
        guard connectionsMax <= fit else {
            throw SwitchStartError(
                message:
                    "limits.connectionsMax \(connectionsMax) does not fit the descriptor limit \(limits.soft) "
                    + "(RLIMIT_NOFILE, hard \(limits.hard)): the switch keeps \(kept) for itself, among them "
                    + "\(ledger.descriptorsReserved) reserved for the ledger's log and snapshots, so at most \(fit) "
                    + "connections fit; lower limits.connectionsMax or raise the limit (ulimit -n, LimitNOFILE=)")
        }
        log.info(
            "descriptors: limit \(limits.soft), kept for the switch \(kept) (ledger reserve "
                + "\(ledger.descriptorsReserved)), connectionsMax \(connectionsMax) (room for \(fit))",
            priority: .essential)
    }

    /// Graceful stop: no new connections, nothing more read; every request already read is answered and every
    /// connection closes once its answers are delivered (within `shutdownGraceMs`); then the ledger commits,
    /// snapshots and stops. Idempotent.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        group.closeListeners()
        let (connections, inFlight) = drainConnections()
        adminGroup?.stop()  // its connections close now, as they do on shared loops (not a SwitchConnection)
        log.info(
            "shutting down: no new connections; stopped reading \(connections) connections, answering the "
                + "\(inFlight) requests in flight on them", priority: .essential)
        let deadline = monotonicNanoseconds() + UInt64(configuration.shutdownGraceMs) * 1_000_000
        while group.connectionCount > 0 && monotonicNanoseconds() < deadline { usleep(2000) }
        if group.connectionCount > 0 {
            log.warning(
                "shutdown grace of \(configuration.shutdownGraceMs) ms over: closing \(group.connectionCount) "
                    + "connections, \(pendingCount()) requests unanswered", priority: .essential)
        }
        group.stop()
        stopNotifications()
        imports?.stopAll()  // each ends its batch and is marked interrupted before the ledger closes
        stopLogViews()
        stopStandbyHold()
        stopBackups()
        let (read, answered) = requestCounts()
        log.info("requests read since start: \(read), answered: \(answered)", priority: .essential)
        for (address, context) in tlsListeners { log.info("TLS on \(address): \(context.statistics.summary)") }
        runtime.ledger.close()
        access?.close()
        log.info("stopped", priority: .essential)
    }

    /// Every loop stops reading its connections; each closes once the requests it read are answered and
    /// delivered. Returns the connections and the requests in flight on them.
    func drainConnections() -> (connections: Int, inFlight: Int) {
        let connections = Atomic<Int>(0)
        let inFlight = Atomic<Int>(0)
        onEveryLoop { context in
            context.loop.forEachConnection { connection in
                connections.add(1, ordering: .relaxed)
                guard let handler = connection.handler as? SwitchConnection else {
                    connection.close(.shutdown)  // a TLS handshake not finished: nothing was read from it
                    return
                }
                inFlight.add(handler.drain(), ordering: .relaxed)
            }
        }
        return (connections.load(ordering: .relaxed), inFlight.load(ordering: .relaxed))
    }

    /// Requests read and responses sent since start, over all loops. Called after the loops stopped.
    func requestCounts() -> (read: Int, answered: Int) {
        (contexts.map(\.requestsRead).reduce(0, +), contexts.map(\.responsesSent).reduce(0, +))
    }

    /// Runs `body` on every loop's thread and waits (at most 500 ms) until all have run it.
    func onEveryLoop(_ body: @escaping @Sendable (LoopContext) -> Void) {
        let finished = Atomic<Int>(0)
        for context in contexts {
            context.loop.execute {
                body(context)
                finished.add(1, ordering: .releasing)
            }
        }
        let deadline = monotonicNanoseconds() + 500_000_000
        while finished.load(ordering: .acquiring) < contexts.count && monotonicNanoseconds() < deadline { usleep(500) }
    }

    /// Puts new loyalty rules in force without a restart, swapped whole in the process's one decider: the ledger's
    /// shards take them at their next batch, each loop at its next request. Purchases already decided keep their
    /// recorded decision and version. Refused unless `program.version` is higher than the version in force, so a
    /// version always names one set of rules.
    public func reloadRules(_ program: Loyalty.Program) throws(SwitchStartError) {
        try reloadLock.withLock { _ throws(SwitchStartError) in
            guard program.version > rulesVersion else {
                throw SwitchStartError(
                    message: "rules version \(program.version) is not newer than the version in force (\(rulesVersion))"
                )
            }
            do throws(FileCallFailure) {
                try receiptNames.add(ReceiptNames(program))
            } catch {
                throw SwitchStartError(message: "rules version \(program.version) not put in force: receipt names: \(error)")
            }
            runtime.decider.setRules(program)
            log.info("rules version \(program.version) in force (was \(rulesVersion))", priority: .essential)
            rulesVersion = program.version
        }
    }

    /// Requests waiting for the ledger across loops (read from the loop threads).
    func pendingCount() -> Int {
        let total = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        for context in contexts {
            context.loop.execute {
                total.add(context.pending.count, ordering: .relaxed)
                finished.add(1, ordering: .releasing)
            }
        }
        let deadline = monotonicNanoseconds() + 500_000_000
        while finished.load(ordering: .acquiring) < contexts.count && monotonicNanoseconds() < deadline { usleep(500) }
        return total.load(ordering: .relaxed)
    }
}

/// The switch could not start: the message says what and where.
public struct SwitchStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension LoopContext: @unchecked Sendable {}
