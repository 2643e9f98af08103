import Foundation
import ISO8583
import Loyalty
import Network

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
    /// Idempotency keys remembered per shard (~290 bytes each once used). Under load this, not the retention
    /// time, bounds how long a repeat or a reversal finds its original: 262,144 keys are 2.6 s at 100k/s and
    /// 52 s at 5k/s. Larger tables cost memory and a longer stall while a periodic snapshot copies them (measured:
    /// 2M keys, p99.99 240 ms at saturation), so the default stays the ledger's until snapshots stop copying.
    public var idempotencyKeysPerShard = 1 << 18
    public var network = NetworkLimits()
    public var program = Program()
    /// The loyalty rules (issue 6, docs/loyalty-rules.md). When present, a purchase earns what they decide —
    /// points by merchant, group, category or default, and store credit — instead of `program`'s flat rate.
    /// The ledger logs the amounts decided, so a later rules change never alters a replay.
    public var rules: Loyalty.Program?
    /// How long a graceful shutdown waits for requests in flight before it stops anyway.
    public var shutdownGraceMs = 5000

    public init() {
        listeners = [ListenerConfiguration(address: SocketAddress("127.0.0.1:8583")!)]
    }
}
