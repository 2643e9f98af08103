import Foundation
import Glibc
import Network
import SwitchCore

/// `loyalty-switch serve`: runs the switch until SIGTERM or SIGINT; SIGHUP reloads the TLS certificates and the
/// loyalty rules.
enum ServeCommand {
    static let usage = """
        usage: loyalty-switch serve [--listen HOST:PORT] [--admin-listen HOST:PORT] [--data DIR] [--config FILE]
                                    [--allow-clock-behind] [--accept-log-damage]

        Runs the switch. With no options it uses the embedded default configuration: it listens on
        127.0.0.1:8583 (ISO 8583 dialect iso87ascii, 2-byte binary length framing), serves the admin API
        (health, metrics) on http://127.0.0.1:8580 and keeps its data in ./data.
          --listen HOST:PORT  replaces the first listener's address
          --admin-listen HOST:PORT
                              the admin API's address (also when the file says "admin": null), so several
                              switches can run side by side
          --data DIR          the ledger's data directory (write-ahead log and snapshots)
          --config FILE       a JSON configuration: listeners, loops, shards, latency budget, limits, program
                              (format in specs/configuration.md); --listen and --data override it;
                              an unknown key or a wrong value anywhere in it refuses the start
          --allow-clock-behind  start even though the clock is behind the newest log record (refused otherwise):
                              the ledger keeps that record's time until the clock passes it
          --accept-log-damage start even though the write-ahead log is damaged (refused otherwise, naming the file,
                              offset and sequences): each shard keeps its log up to the damage, sets the rest aside
                              as *.damaged files and logs what was lost as an ERROR. Records after the damage are
                              lost; use it only when the log cannot be repaired (see ledger verify)
        The soft descriptor limit (RLIMIT_NOFILE) is raised to the hard one; a limits.connectionsMax that does not
        fit beside the descriptors the switch and its ledger keep is refused, naming both numbers.
        SIGTERM or SIGINT stops gracefully (stop reading, answer every request already read, snapshot, exit 0); a
        second signal exits at once, which is safe: every approval is already in the write-ahead log.
        SIGHUP re-reads every TLS listener's certificate, key and client authority (new connections get them,
        open ones keep theirs) and the --config file's "rules", put in force if their version is higher than the
        version in force (other settings need a restart); a refused reload (any mistake anywhere in the file) is
        logged and changes nothing.
        """

    /// `notifications-test-source` is for tests and benchmarks and not in the help: it feeds the webhooks a
    /// synthetic source instead of the ledger's events.
    static let valuedOptions: Set<String> = [
        "listen", "admin-listen", "data", "config", "notifications-test-source",
    ]
    static let flagOptions: Set<String> = ["allow-clock-behind", "accept-log-damage"]

    static func run(_ arguments: [String]) -> Int32 {
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return 0
        }
        let configuration: SwitchConfiguration
        switch parse(arguments) {
        case .success(let parsed): configuration = parsed
        case .failure(let problem):
            printError("error: \(problem.message)\n\(usage)")
            return 2
        }
        let log = LogSink()
        // Block the stop signals before any thread starts, so they reach only the sigwait below.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        // A file size limit (ulimit -f) makes a write fail with EFBIG (an upload's 507, a storage fault) rather
        // than kill the switch, as for a full disk.
        signal(SIGXFSZ, SIG_IGN)
        log.info(
            "loyalty-switch starting: loops \(configuration.loopCount), shards \(configuration.shardCount), "
                + "data \(configuration.dataDirectory), budget \(configuration.latencyBudgetMs) ms, "
                + "durable \(configuration.durable)", priority: .essential
        )
        let (before, after) = DescriptorLimit.raiseSoftToHard()
        if after.soft != before.soft {
            log.info(
                "descriptor limit raised from \(before.soft) to \(after.soft) (the hard limit)", priority: .essential)
        }
        if configuration.acceptLogDamage {
            log.error(
                "--accept-log-damage: a damaged write-ahead log will be cut at the damage and the rest set aside; "
                    + "approvals recorded after the damage are lost", priority: .essential)
        }
        let server: SwitchServer
        do {
            server = try SwitchServer(configuration: configuration, log: log)
            try server.start()
        } catch {
            log.error("cannot start: \(error)", priority: .essential)
            return 1
        }
        let configPath = configPath(arguments)
        waitForStopSignals(signals, server: server, log: log) {
            reloadCertificates(server: server, log: log)
            reloadRules(configPath: configPath, server: server, log: log)
        }
        return 0
    }

    /// The --config file (either spelling CommandLineOptions accepts), for SIGHUP to read again.
    static func configPath(_ arguments: [String]) -> String? {
        let options = try? CommandLineOptions(arguments, valued: valuedOptions, flags: flagOptions)
        return options?.values["config"]
    }

    /// SIGHUP: every TLS listener's files again, all or nothing; an error names the file and nothing changes.
    static func reloadCertificates(server: SwitchServer, log: LogSink) {
        guard server.hasTLSListeners else { return }
        do {
            try server.reloadCertificates()
        } catch {
            log.error("SIGHUP: certificates not reloaded, the ones in force stay: \(error)", priority: .essential)
        }
    }

    /// SIGHUP: the rules of the --config file, if their version is newer; anything wrong is logged, nothing changes.
    static func reloadRules(configPath: String?, server: SwitchServer, log: LogSink) {
        guard let configPath else {
            log.warning("SIGHUP: no --config file to reload rules from; nothing changed", priority: .essential)
            return
        }
        do {
            let configuration = try SwitchConfiguration.load(path: configPath)
            guard let rules = configuration.rules else {
                if !server.hasTLSListeners {
                    log.warning("SIGHUP: \(configPath) has no rules; nothing changed", priority: .essential)
                }
                return
            }
            try server.reloadRules(rules)
        } catch {
            log.error("SIGHUP: rules not reloaded, nothing changed: \(error)", priority: .essential)
        }
    }

    /// SIGHUP: reload; first stop signal: graceful shutdown on another thread; second: exit at once.
    static func waitForStopSignals(
        _ signals: sigset_t, server: SwitchServer, log: LogSink, reload: () -> Void
    ) {
        var signals = signals
        var received: Int32 = 0
        while true {
            sigwait(&signals, &received)
            if received != SIGHUP { break }
            reload()
        }
        log.info("signal \(received): stopping (send it again to exit at once)", priority: .essential)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            server.shutdown()
            done.signal()
        }
        let stopSignals = signals
        let watcher = Thread {
            var second: Int32 = SIGHUP
            var again = stopSignals
            while second == SIGHUP { sigwait(&again, &second) }
            log.warning("second signal \(second): exiting at once", priority: .essential)
            _exit(1)
        }
        watcher.start()
        done.wait()
    }

    static func parse(_ arguments: [String]) -> Result<SwitchConfiguration, UsageError> {
        do {
            let options = try CommandLineOptions(arguments, valued: valuedOptions, flags: flagOptions)
            guard options.positionals.isEmpty else {
                throw UsageError(message: "unexpected argument \(options.positionals[0])")
            }
            var configuration = SwitchConfiguration()
            if let path = options.values["config"] {
                do {
                    configuration = try SwitchConfiguration.load(path: path)
                } catch {
                    throw UsageError(message: error.description)
                }
            }
            if let listen = options.values["listen"] {
                guard let address = SocketAddress(listen) else {
                    throw UsageError(message: "--listen must be HOST:PORT (IPv4)")
                }
                configuration.listeners[0].address = address
            }
            if let adminListen = options.values["admin-listen"] {
                guard let address = SocketAddress(adminListen) else {
                    throw UsageError(message: "--admin-listen must be HOST:PORT (IPv4)")
                }
                var admin = configuration.admin ?? AdminConfiguration()
                admin.address = address
                configuration.admin = admin
            }
            if let data = options.values["data"] { configuration.dataDirectory = data }
            if let test = options.values["notifications-test-source"] {
                let parts = test.split(separator: ":").compactMap { UInt64($0) }
                guard parts.count == 2, parts[1] >= 1 else {
                    throw UsageError(message: "--notifications-test-source must be EVENTS:MEMBERS (MEMBERS >= 1)")
                }
                configuration.notificationTestSource = (parts[0], parts[1])
            }
            configuration.allowClockBehind = options.has("allow-clock-behind")
            configuration.acceptLogDamage = options.has("accept-log-damage")
            return .success(configuration)
        } catch let problem as UsageError {
            return .failure(problem)
        } catch {
            return .failure(UsageError(message: "\(error)"))
        }
    }
}
