import AdminAccess
import HTTP
import Network

extension SwitchServer {
    /// Binds the admin API's listener (before the loops start), with its own connection limit: on a loop of its
    /// own at `admin.loopNice` (`"loop": "own"`, the default), or on the ISO 8583 loops (`"shared"`). Off with
    /// `"admin": null`. A port that cannot be bound, or TLS files that cannot serve, refuse the start like an ISO
    /// 8583 listener's.
    func startAdmin() throws(SwitchStartError) {
        guard let admin = configuration.admin else {
            log.info("admin API off (\"admin\": null in the configuration)", priority: .essential)
            return
        }
        var tls: TLSListenerContext?
        if let files = admin.tls {
            do {
                tls = try TLSListenerContext(files: files)
            } catch {
                throw SwitchStartError(message: "admin API \(admin.address): TLS: \(error)")
            }
        }
        guard let access else { preconditionFailure("start() opens the access layer before the admin listener") }
        let door = AdminLedger(ledger: runtime.ledger, access: access, nowMs: runtime.clockMs())
        try repairAudit(door)
        let lotteries = try readLotteries(access, limits: admin.lotteries)
        let imports = try recoverImports(admin)
        let router = AdminAPI.router(
            ledger: runtime.ledger, metrics: adminMetrics, gate: AdminGate(access: access), door: door,
            metricsRequireToken: admin.metricsRequireToken, operatorAdjustmentMax: admin.operatorAdjustmentMax,
            lotteries: lotteries, imports: imports)
        let loops = try adminLoops(admin)
        precondition(!loops.loops.isEmpty && !router.routes.isEmpty, "the admin API has loops and routes")
        let counters = AdminRequestCounters(routeNames: router.routes.map(\.name), loopCount: loops.loops.count)
        adminMetrics.requests.withLock { $0 = counters }
        let server = HTTPServer(router: router, limits: admin.limits, loopCount: loops.loops.count, observer: counters)
        let port: UInt16
        do {
            port = try server.listen(on: loops, address: admin.address, tls: tls)
        } catch {
            throw SwitchStartError(message: "admin API: listen on \(admin.address): \(error)")
        }
        let bound = "\(admin.address.host):\(port)"
        precondition(port != 0, "a bound listener has its port")
        adminPort = port
        adminMetrics.adminAddress.withLock { $0 = bound }
        if let tls { tlsListeners.append((SocketAddress(bound)!, tls)) }
        log.info(
            "admin API listening on \(tls == nil ? "http" : "https")://\(bound) (HTTP/1.1; GET /v1/health, /metrics"
                + "\(admin.metricsRequireToken ? " with a token" : ""), /v1/openapi.json, /v1/users, /v1/audit, /v1/members, /v1/cards; "
                + "connectionsMax \(admin.limits.connectionsMax)); "
                + (adminGroup == nil ? "on the ISO 8583 loops" : "on its own loop, nice \(admin.loopNice)")
                + Self.tlsDescription(tls), priority: .essential)
    }

    /// The loops the admin API runs on: the ISO 8583 loops, or one of its own (kept in `adminGroup`, started and
    /// stopped with them) whose thread runs at `loopNice`, so admin work never takes an ISO loop's turn.
    func adminLoops(_ admin: AdminConfiguration) throws(SwitchStartError) -> EventLoopGroup {
        guard admin.loop == .own else { return group }
        do {
            let own = try EventLoopGroup(
                loopCount: 1, limits: configuration.network, log: log, namePrefix: "admin-loop",
                threadNice: admin.loopNice)
            precondition(adminGroup == nil && own.loops.count == 1, "the admin API's own loop is made once")
            adminGroup = own
            adminMetrics.adminGroup.withLock { $0 = own }
            return own
        } catch {
            throw SwitchStartError(message: "admin API: its own loop: \(error)")
        }
    }

    /// Before the admin listener opens: every approved admin change the ledger replayed gets its audit entry (a
    /// crash between the shard's sync and the journal's left it without one).
    func repairAudit(_ door: AdminLedger) throws(SwitchStartError) {
        let repaired: Int
        do throws(HTTPProblem) {
            repaired = try door.repair()
        } catch {
            throw SwitchStartError(message: "admin API: audit repair: \(error.detail)")
        }
        precondition(repaired >= 0, "a count of repaired entries")
        if repaired > 0 {
            log.warning(
                "audit journal: repaired \(repaired) entries of admin changes the ledger made durable before a crash "
                    + "cut their audit append", priority: .essential)
        }
    }

    /// After the repair (so entries bought just before a crash count): the lotteries as the whole trail tells
    /// them, oldest entry first. A draw that does not reproduce is logged (`lottery verify` names it too).
    func readLotteries(_ access: AccessControl, limits: LotteryBook.Limits) throws(SwitchStartError) -> LotteryBook {
        let book = LotteryBook(limits: limits, clockMs: runtime.clockMs)
        var after: UInt64 = 0
        var problems = 0
        var more = true
        while more {
            let page: (entries: [AuditEntry], more: Bool)
            do throws(AccessError) {
                page = try access.entries(after: after, limit: 1000)
            } catch {
                throw SwitchStartError(message: "admin API: reading lotteries from the audit trail: \(error.message)")
            }
            for entry in page.entries {
                guard let problem = book.replay(entry) else { continue }
                problems += 1
                if problems <= 10 { log.warning("lotteries: \(problem)", priority: .essential) }
            }
            precondition(page.entries.count <= 1000, "a page holds at most its limit")
            precondition(page.entries.last.map { $0.seq > after } ?? true, "the trail is read forward")
            after = page.entries.last?.seq ?? after
            more = page.more && !page.entries.isEmpty
        }
        return book
    }

    /// The member imports of `DATA/imports/`: one a stop or crash cut short is marked interrupted (and logged).
    func recoverImports(_ admin: AdminConfiguration) throws(SwitchStartError) -> MemberImports {
        let imports = MemberImports(
            dataDirectory: configuration.dataDirectory, runningMax: admin.importsRunningMax,
            uploadBytesMax: admin.importBytesMax, clockMs: runtime.clockMs)
        do {
            let interrupted = try imports.recover()
            if interrupted > 0 {
                log.warning(
                    "member imports: \(interrupted) interrupted by a stop or crash (GET /v1/imports/{id} says which); "
                        + "run the same file again to finish each", priority: .essential)
            }
        } catch {
            throw SwitchStartError(message: "member imports in \(imports.directory): \(error)")
        }
        precondition(imports.runningCount == 0, "no import runs before the admin API opens")
        self.imports = imports
        return imports
    }

    /// Opens the access layer in `DATA/audit/` (users, tokens, the audit journal), logging what it found, and
    /// how to create the first user when there is none.
    func openAccess(_ admin: AdminConfiguration) throws(SwitchStartError) -> AccessControl {
        let opened: (AccessControl, AccessOpenReport)
        do {
            opened = try AccessControl.open(
                dataDirectory: configuration.dataDirectory, settings: admin.access, clockMs: runtime.clockMs)
        } catch {
            throw SwitchStartError(message: "admin API: \(error)")
        }
        let (access, report) = opened
        if report.tornJournalBytes > 0 || report.tornPrivateBytes > 0 {
            log.warning(
                "audit journal: cut a torn last line (\(report.tornJournalBytes) bytes of the journal, "
                    + "\(report.tornPrivateBytes) of the private file): a write a crash cut short, never acknowledged",
                priority: .essential)
        }
        log.info(
            "audit journal: \(report.entryCount) entries, chain intact; \(report.userCount) users, "
                + "\(report.rememberedAnswers) remembered Idempotency-Key answers, \(report.directoryMembers) members "
                + "in the directory", priority: .essential)
        if report.userCount == 0 {
            log.warning(
                "admin API: no users yet, so every protected route answers 401; create the first admin with "
                    + "`loyalty-switch admin init --data \(configuration.dataDirectory) --name NAME` (stop the "
                    + "switch first; it prints the token once)", priority: .essential)
        }
        return access
    }
}
