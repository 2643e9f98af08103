import Synchronization

/// Handshakes on one TLS listener: completed, and refused by kind. Counted from every loop under one lock (a
/// handshake costs far more than the lock); the numbers are for operators and tests.
public final class TLSStatistics: Sendable {
    struct Counts {
        var completed = 0
        var refused = [Int](repeating: 0, count: TLSHandshakeFailure.allCases.count)
        var deferredSteps = 0
    }

    let counts = Mutex(Counts())

    public var completed: Int { counts.withLock { $0.completed } }
    /// Handshake steps put off to a later loop iteration by `tlsHandshakesPerIterationMax`.
    public var deferredSteps: Int { counts.withLock { $0.deferredSteps } }

    public func refused(_ kind: TLSHandshakeFailure) -> Int { counts.withLock { $0.refused[kind.rawValue] } }

    public var refusedTotal: Int { counts.withLock { $0.refused.reduce(0, +) } }

    func countCompleted() { counts.withLock { $0.completed += 1 } }
    func countRefused(_ kind: TLSHandshakeFailure) { counts.withLock { $0.refused[kind.rawValue] += 1 } }
    func countDeferred() { counts.withLock { $0.deferredSteps += 1 } }

    /// `handshakes completed 12, refused 3 (not TLS 1, protocol version 2), steps deferred 0`: one log line.
    public var summary: String {
        let snapshot = counts.withLock { $0 }
        let parts = TLSHandshakeFailure.allCases.filter { snapshot.refused[$0.rawValue] > 0 }
            .map { "\($0) \(snapshot.refused[$0.rawValue])" }
        let detail = parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        return "handshakes completed \(snapshot.completed), refused \(snapshot.refused.reduce(0, +))\(detail), "
            + "steps deferred \(snapshot.deferredSteps)"
    }
}

/// A TLS listener's settings in force: the current server context, swapped whole by `reload`, and the
/// listener's statistics. New connections take the context in force when they are accepted; connections
/// already open keep the one they started with.
public final class TLSListenerContext: Sendable {
    public let files: TLSServerFiles
    public let statistics = TLSStatistics()
    let current: Mutex<TLSServerContext>

    /// Loads the files; refuses (with the path and OpenSSL's reason) anything that could not serve.
    public init(files: TLSServerFiles) throws(TLSConfigurationError) {
        self.files = files
        current = Mutex(try TLSServerContext(files: files))
    }

    /// The context in force.
    public var context: TLSServerContext { current.withLock { $0 } }

    /// Reads the files again and puts the result in force; on any error the context in force stays.
    @discardableResult
    public func reload() throws(TLSConfigurationError) -> TLSServerContext {
        let fresh = try TLSServerContext(files: files)
        install(fresh)
        return fresh
    }

    /// Puts an already-checked context in force (a reload of several listeners loads all, then installs all).
    public func install(_ fresh: TLSServerContext) {
        precondition(fresh.files == files, "a listener's files change only with a restart")
        current.withLock { $0 = fresh }
    }
}
