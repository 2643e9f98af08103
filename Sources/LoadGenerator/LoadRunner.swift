import CLinux
import Glibc
import ISO8583
import Network
import SystemCalls

/// Runs one load test on the calling thread: one epoll set over all connections, requests issued on an open-loop
/// schedule or as fast as answers return, every answer checked and timed. One thread on purpose: a load generator
/// must not be the bottleneck, and one thread with no locks and no allocation per request is the cheapest way to
/// drive a socket. Run it pinned to its own core (`taskset -c 0`).
public final class LoadRunner {
    /// Requests issued per loop iteration at most, so reading answers is never starved by sending.
    static let issueBatchMax = 1024
    /// Timeout scans run this often (a scan visits every in-flight slot).
    static let timeoutScanPeriodNs: UInt64 = 10_000_000
    static let connectTimeoutMs = 2000
    static let readBufferBytes = 64 << 10

    let configuration: LoadConfiguration
    var connections: [ClientConnection] = []
    var statistics = LoadStatistics()
    /// Answers of the current second (warm-up included), for the progress line and the timeline.
    var second = LatencyHistogram()
    var secondErrorsBefore: UInt64 = 0
    var secondAnswered: UInt64 = 0
    var timeline: [SecondSample] = []
    var epollDescriptor: Int32 = -1
    var request: ISOMessage
    var response: ISOMessage
    var random: SplitMix64
    let readBuffer: UnsafeMutableRawBufferPointer
    var originalData = [UInt8](repeating: 0x30, count: 42)
    var transmission: Int64 = 0
    var transmissionSecond = 0
    var schedule: OpenLoopSchedule?
    var startNs: UInt64 = 0
    var measureStartNs: UInt64 = 0
    var endNs: UInt64 = 0
    var issuedTotal: UInt64 = 0
    var issuedMeasured: UInt64 = 0
    var inFlightTotal = 0
    var nextConnection = 0
    var stoppedIssuingNs: UInt64 = 0
    var lastMeasuredAnswerNs: UInt64 = 0
    var nextTimeoutScanNs: UInt64 = 0
    var nextProgressNs: UInt64 = 0
    var warmupDone = false
    /// With `configuration.tls`: the client context every connection's handshake uses.
    let tlsContext: TLSClientContext?

    public init(configuration: LoadConfiguration) throws(UsageProblem) {
        self.configuration = configuration
        request = ISOMessage(dialect: configuration.dialect, mti: MTI(200)!)
        response = ISOMessage(dialect: configuration.dialect, mti: nil)
        random = SplitMix64(seed: configuration.seed)
        readBuffer = .allocate(byteCount: LoadRunner.readBufferBytes, alignment: 16)
        do {
            tlsContext = try configuration.tls.map { files throws(TLSConfigurationError) in
                try TLSClientContext(files: files)
            }
        } catch {
            readBuffer.deallocate()
            throw UsageProblem("TLS: \(error)")
        }
        try checkDialect()
    }

    deinit {
        readBuffer.deallocate()
        for connection in connections { connection.closeSocket() }
        if epollDescriptor >= 0 { Glibc.close(epollDescriptor) }
    }

    /// Builds one request of each kind once, so a dialect that lacks a field fails now, with its name.
    func checkDialect() throws(UsageProblem) {
        var scratch = ISOMessage(dialect: configuration.dialect, mti: MTI(200)!)
        var output: [UInt8] = []
        for kind in RequestKind.allCases {
            var original = InFlightRequest()
            original.stan = 1
            original.cardNumber = configuration.cardPool.cardNumber(0)
            do {
                try fill(
                    &scratch, kind: kind, stan: 1, card: original.cardNumber, amount: 1000,
                    terminal: configuration.terminalId(0),
                    original: kind == .reversal || kind == .refund ? original : nil)
                try configuration.framing.appendFrame(encoding: scratch, requestTPDU: nil, to: &output)
            } catch {
                throw UsageProblem("dialect \(configuration.dialect.name) cannot carry a \(kind) request: \(error)")
            }
        }
    }

    /// Connects, runs warm-up and the measured phase, waits for the last answers, and returns what it measured.
    /// Bounded: the loop ends at the latest two timeouts after the measured phase ends (backlog, then answers).
    public func run() throws(UsageProblem) -> LoadResult {
        try connectAll()
        startNs = monotonicNanoseconds()
        measureStartNs = startNs + configuration.warmupNs
        schedule = configuration.ratePerSecond.map { OpenLoopSchedule(startNs: startNs, ratePerSecond: $0) }
        endNs = measureStartNs + configuration.durationNs
        nextTimeoutScanNs = startNs + LoadRunner.timeoutScanPeriodNs
        nextProgressNs = startNs + 1_000_000_000
        warmupDone = configuration.warmupNs == 0
        let drainDeadlineNs = endNs + 2 * configuration.timeoutNs + 50_000_000
        var events = [UInt32](repeating: 0, count: 256)
        var tokens = [UInt64](repeating: 0, count: 256)
        while true {
            var now = monotonicNanoseconds()
            updateTransmission()
            if stoppedIssuingNs == 0 {
                if issuingDone(now: now) { stoppedIssuingNs = now } else { issue(now: now) }
            }
            flushAll()
            if stoppedIssuingNs != 0 && (inFlightTotal == 0 || now >= drainDeadlineNs) { break }
            if connections.allSatisfy(\.isClosed) { break }
            let count = waitForEvents(now: now, events: &events, tokens: &tokens)
            now = monotonicNanoseconds()
            for position in 0..<count {
                handle(connections[Int(tokens[position])], events: events[position], now: now)
            }
            if tlsContext != nil { readBufferedInput(now: now) }
            periodic(now: now)
        }
        return finish(now: monotonicNanoseconds())
    }

    /// Closed loop stops sending at the end of the measured phase; open loop first sends its backlog (requests
    /// intended before the end that waited for a free slot), for at most one timeout more.
    func issuingDone(now: UInt64) -> Bool {
        if countReached { return true }
        guard now >= endNs else { return false }
        guard let schedule, now < endNs + configuration.timeoutNs else { return true }
        return issuedTotal >= schedule.dueCount(at: endNs - 1)
    }

    var countReached: Bool {
        guard let limit = configuration.requestCount else { return false }
        return issuedMeasured >= limit
    }

    func connectAll() throws(UsageProblem) {
        epollDescriptor = clinux_epoll_create()
        guard epollDescriptor >= 0 else { throw UsageProblem("epoll_create: errno \(errno)") }
        for index in 0..<configuration.connections {
            let (descriptor, session) = try ClientConnection.connect(
                to: configuration.target, timeoutMs: LoadRunner.connectTimeoutMs, tls: tlsContext)
            // Start each terminal's STANs somewhere random, so two runs in the same second do not reuse keys.
            let firstStan = UInt32(random.next(below: UInt64(InFlightTable.stanMax))) + 1
            let connection = ClientConnection(
                index: index, descriptor: descriptor, tls: session, terminalId: configuration.terminalId(index),
                inFlightLimit: configuration.inFlightPerConnection, firstStan: firstStan, framing: configuration.framing
            )
            connections.append(connection)
            let interest = CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP
            guard clinux_epoll_ctl(epollDescriptor, CLINUX_EPOLL_CTL_ADD, descriptor, interest, UInt64(index)) == 0
            else {
                throw UsageProblem("epoll_ctl: errno \(errno)")
            }
        }
    }

    /// Sleeps until the next thing to do: an answer arriving, the next open-loop send, a timeout scan or progress.
    /// epoll's timeout has millisecond steps, so a send due sooner is waited for with `nanosleep` in slices of at
    /// most 100 µs (answers that arrive meanwhile are read after the slice: the measuring error stays under about
    /// 150 µs with the kernel's timer slack), instead of spinning a core that the server under test may need.
    func waitForEvents(now: UInt64, events: inout [UInt32], tokens: inout [UInt64]) -> Int {
        var wakeNs = min(nextTimeoutScanNs, nextProgressNs)
        if stoppedIssuingNs == 0 {
            if let schedule, inFlightTotal < connections.count * configuration.inFlightPerConnection {
                wakeNs = min(wakeNs, schedule.intendedNs(of: issuedTotal))
            }
            wakeNs = min(wakeNs, endNs)
        }
        var timeoutMs: Int32 = 0
        if wakeNs >= now + 1_000_000 {
            timeoutMs = Int32(min((wakeNs - now) / 1_000_000, 10))
        } else if wakeNs > now {
            let sliceNs = min(wakeNs - now, LoadRunner.sleepSliceNs)
            var duration = timespec(tv_sec: 0, tv_nsec: Int(sliceNs))
            nanosleep(&duration, nil)
        }
        let count = retryingInterrupts {
            clinux_epoll_wait(epollDescriptor, &events, &tokens, Int32(events.count), timeoutMs)
        }
        if count < 0 { preconditionFailure("epoll_wait failed: errno \(errno)") }
        return max(Int(count), 0)
    }

    static let sleepSliceNs: UInt64 = 100_000

    /// Field 7 (MMDDhhmmss, UTC) changes once a second; computed then, not per request.
    func updateTransmission() {
        let seconds = time(nil)
        guard seconds != transmissionSecond else { return }
        transmissionSecond = seconds
        var copy = seconds
        var parts = tm()
        gmtime_r(&copy, &parts)
        transmission =
            Int64(parts.tm_mon + 1) * 100_000_000 + Int64(parts.tm_mday) * 1_000_000
            + Int64(parts.tm_hour) * 10_000 + Int64(parts.tm_min) * 100 + Int64(parts.tm_sec)
    }
}
