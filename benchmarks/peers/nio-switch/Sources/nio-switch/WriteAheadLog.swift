#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import Synchronization

/// The write-ahead log: ONE dedicated thread does group commit. Event loops append records (under the ledger's
/// lock, so the log's order is the ledger's order) together with the response each record's request waits for;
/// the thread takes everything appended since its last round, writes it with one pwrite(2), fdatasync(2)s, and
/// only then hands the responses back to their event loops, one `execute` per loop per round.
///
/// Hand-off: a pthread mutex + condition variable. The queue is bounded (`capacity` pending requests): beyond it
/// `append` refuses and the caller answers 91. The file is preallocated in 64 MiB steps (posix_fallocate) so
/// that most rounds' fdatasync has no file size to update. There is no recovery: the peer starts empty (the
/// file is truncated at start), the log is written so that the comparison pays the same durability cost.
final class WriteAheadLog: @unchecked Sendable {
    struct Completion: Sendable {
        let loop: any EventLoop
        let handler: NIOLoopBound<SwitchHandler>
        let response: ByteBuffer
    }

    /// Record: type 1, MTI class, terminal, acquirer, STAN, field 7, card, delta: 48 bytes, little-endian.
    static let recordSize = 48
    static let preallocationStep: Int64 = 64 << 20

    let capacity: Int
    /// The sequence of the last record made durable (a repeat of anything at or below it is answered at once).
    let durableSequence = Atomic<UInt64>(0)

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`:
    private var pendingBytes: [UInt8] = []
    private var pendingCompletions: [Completion] = []
    private var lastSequence: UInt64 = 0
    private var stopping = false
    private var running = false
    // The thread's own:
    private let descriptor: Int32
    private var offset: Int64 = 0
    private var allocated: Int64 = 0
    private var thread: pthread_t?
    private var rounds = 0
    private var records = 0

    init(directory: String, capacity: Int) throws {
        self.capacity = capacity
        mkdir(directory, 0o755)
        let path = directory + "/nio-switch.wal"
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "open \(path)") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        pendingBytes.reserveCapacity(Self.recordSize * 4096)
        pendingCompletions.reserveCapacity(4096)
    }

    func start() {
        pthread_mutex_lock(mutex)
        running = true
        pthread_mutex_unlock(mutex)
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let log = Unmanaged<WriteAheadLog>.fromOpaque(context!).takeRetainedValue()
            log.run()
            return nil
        }, context)
        precondition(result == 0, "pthread_create: \(result)")
        self.thread = thread
    }

    /// Appends one record (nil: none, the request only waits for what is already queued to be durable) and the
    /// response sent after its fdatasync. Returns the record's sequence, or nil when the queue is full or stopped.
    func append(record: Record?, completion: Completion) -> UInt64? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard running, !stopping, pendingCompletions.count < capacity else { return nil }
        if let record {
            lastSequence += 1
            record.append(to: &pendingBytes)
        }
        if pendingCompletions.isEmpty { pthread_cond_signal(condition) }
        pendingCompletions.append(completion)
        return lastSequence
    }

    /// Commits what is queued, delivers its responses and ends the thread.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    /// After `stop`: group commits and records written.
    var summary: String {
        let perRound = rounds > 0 ? Double(records) / Double(rounds) : 0
        return "write-ahead log: \(records) records in \(rounds) rounds (write + fdatasync), "
            + "\((perRound * 10).rounded() / 10) per round"
    }

    private func run() {
        var bytes: [UInt8] = []
        var completions: [Completion] = []
        bytes.reserveCapacity(Self.recordSize * 4096)
        completions.reserveCapacity(4096)
        while true {
            pthread_mutex_lock(mutex)
            while pendingCompletions.isEmpty && !stopping { pthread_cond_wait(condition, mutex) }
            if pendingCompletions.isEmpty {
                running = false
                pthread_mutex_unlock(mutex)
                return
            }
            swap(&bytes, &pendingBytes)
            swap(&completions, &pendingCompletions)
            let sequence = lastSequence
            pthread_mutex_unlock(mutex)

            if !bytes.isEmpty { commit(bytes) }
            durableSequence.store(sequence, ordering: .releasing)
            deliver(completions)
            bytes.removeAll(keepingCapacity: true)
            completions.removeAll(keepingCapacity: true)
        }
    }

    /// One pwrite and one fdatasync. A failure stops the process: nothing unlogged may be answered as approved.
    private func commit(_ bytes: [UInt8]) {
        let count = Int64(bytes.count)
        if offset + count > allocated {
            let step = max(Self.preallocationStep, count)
            let result = posix_fallocate(descriptor, off_t(allocated), off_t(step))
            if result == 0 { allocated += step }  // else: plain appends (the file system cannot preallocate)
        }
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = pwrite(
                    descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { fatalError("write-ahead log: pwrite failed, errno \(errno)") }
                done += written
            }
        }
        offset += count
        rounds += 1
        records += bytes.count / Self.recordSize
        guard fdatasync(descriptor) == 0 else { fatalError("write-ahead log: fdatasync failed, errno \(errno)") }
    }

    /// Hands the round's responses to their loops: one task per loop writes them all, then flushes each channel.
    private func deliver(_ completions: [Completion]) {
        var groups: [(loop: any EventLoop, items: [Completion])] = []
        for completion in completions {
            if let index = groups.firstIndex(where: { $0.loop === completion.loop }) {
                groups[index].items.append(completion)
            } else {
                groups.append((completion.loop, [completion]))
            }
        }
        for group in groups {
            let items = group.items
            group.loop.execute {
                for item in items { item.handler.value.deliver(item.response) }
                for item in items { item.handler.value.flushIfNeeded() }
            }
        }
    }
}

/// One change to the ledger as it goes to the log.
struct Record {
    var key: RequestKey
    var card: UInt64
    var delta: Int64

    func append(to bytes: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        put(UInt8(1))
        put(UInt8(0))
        put(key.mti)
        put(key.stan)
        put(key.terminal)
        put(key.acquirer)
        put(key.transmission)
        put(card)
        put(delta)
    }
}
