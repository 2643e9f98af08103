import NIOCore
import Synchronization

/// The idempotency key: MTI without its repeat digit, field 32, field 41, field 11, field 7.
struct RequestKey: Hashable, Sendable {
    var mti: UInt16
    var stan: UInt32
    var acquirer: UInt64
    var terminal: UInt64
    var transmission: UInt64

    /// Field 38: six digits derived from the key (FNV-1a style mix, the same in every run).
    var approvalCode: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in [UInt64(mti), UInt64(stan), acquirer, terminal, transmission] {
            hash = (hash ^ part) &* 0x0000_0100_0000_01B3
            hash ^= hash >> 29
        }
        return hash % 1_000_000
    }
}

/// What is remembered of a request: the response bytes a repeat gets, its effect (for a reversal) and the log
/// sequence its answer waits for (0: answered without logging).
struct Entry {
    var response: ByteBuffer
    var card: UInt64
    var delta: Int64
    var reversed: Bool
    var sequence: UInt64
}

/// The points ledger. Locking: the simplest acceptable design, ONE ledger for all event loops guarded by one
/// Mutex (Synchronization); the decision, the response's encoding and the append to the write-ahead log's queue
/// all happen under it, so the log holds changes in the order the ledger made them. (Lock order: ledger, then
/// the log's queue; the log thread never takes the ledger's lock.)
final class Ledger: Sendable {
    enum Outcome {
        /// Answer now (balance inquiries, declines, repeats of durable requests).
        case answer(ByteBuffer)
        /// The write-ahead log thread sends the answer after its fdatasync.
        case queued
    }

    struct State: ~Copyable {
        var balances: [UInt64: Int64] = [:]
        var entries: [RequestKey: Entry] = [:]
    }

    let maximumKeys: Int
    let log: WriteAheadLog
    private let state: Mutex<State>

    init(log: WriteAheadLog, maximumKeys: Int) {
        self.log = log
        self.maximumKeys = maximumKeys
        var initial = State()
        initial.balances.reserveCapacity(1 << 16)
        initial.entries.reserveCapacity(min(maximumKeys, 1 << 21))
        state = Mutex(initial)
    }

    /// Decides a 0200/0201 or 0400/0401. `frame` is the request's bytes (for the echoed fields).
    func authorize(
        _ request: Request, frame: ByteBuffer, allocator: ByteBufferAllocator, handler: NIOLoopBound<SwitchHandler>
    ) -> Outcome {
        let isReversal = request.mti / 100 == 4
        let responseMTI = request.mti - request.mti % 10 + 10
        func respond(_ code: ResponseCode, approval: UInt64? = nil, balance: Int64? = nil) -> ByteBuffer {
            var writer = ResponseWriter(allocator: allocator, mti: responseMTI)
            writer.echo(2, request.f2, from: frame)
            writer.echo(3, request.f3, from: frame)
            writer.echo(4, request.f4, from: frame)
            writer.echo(7, request.f7, from: frame)
            writer.echo(11, request.f11, from: frame)
            writer.echo(12, request.f12, from: frame)
            writer.echo(13, request.f13, from: frame)
            writer.echo(37, request.f37, from: frame)
            if let approval { writer.number(38, approval, width: 6) }
            writer.code(code)
            writer.echo(41, request.f41, from: frame)
            writer.echo(42, request.f42, from: frame)
            writer.echo(49, request.f49, from: frame)
            if let balance { writer.balance(balance, currency: request.currency ?? 364) }
            return writer.finish()
        }
        guard let card = request.card, let processingCode = request.processingCode, let stan = request.stan,
            let transmission = request.transmission, let acquirer = request.acquirer, let terminal = request.terminal
        else { return .answer(respond(.formatError)) }
        let key = RequestKey(
            mti: request.mti - request.mti % 2, stan: stan, acquirer: acquirer, terminal: terminal,
            transmission: transmission)

        return state.withLock { state -> Outcome in
            if let entry = state.entries[key] {
                // A repeat: the stored bytes, nothing changes; not before the original's record is durable.
                if entry.sequence <= log.durableSequence.load(ordering: .acquiring) { return .answer(entry.response) }
                let waiter = WriteAheadLog.Completion(loop: handler.eventLoop, handler: handler, response: entry.response)
                return log.append(record: nil, completion: waiter) == nil ? .answer(respond(.timeout)) : .queued
            }
            guard state.entries.count < maximumKeys else { return .answer(respond(.systemError)) }
            let known = state.balances[card]
            guard known != nil || state.balances.count < maximumKeys else { return .answer(respond(.systemError)) }
            let balance = known ?? 0

            var delta: Int64 = 0
            var reverses: RequestKey?
            if isReversal {
                guard let original = request.original else { return .answer(respond(.formatError)) }
                let originalKey = RequestKey(
                    mti: original.mti - original.mti % 2, stan: original.stan, acquirer: original.acquirer,
                    terminal: terminal, transmission: original.transmission)
                guard let originalEntry = state.entries[originalKey], originalEntry.card == card else {
                    return .answer(respond(.unknownOriginal))
                }
                if !originalEntry.reversed {
                    delta = max(0, balance - originalEntry.delta) - balance  // undo, never below 0
                    reverses = originalKey
                }
            } else {
                let points = Int64((request.amount ?? 0) / 100)
                switch processingCode {
                case 0:  // purchase: earn
                    guard request.amount != nil else { return .answer(respond(.formatError)) }
                    delta = points
                case 900_000:  // redeem: spend
                    guard request.amount != nil else { return .answer(respond(.formatError)) }
                    guard balance >= points else {
                        let response = respond(.insufficientFunds)
                        state.entries[key] = Entry(
                            response: response, card: card, delta: 0, reversed: false, sequence: 0)
                        return .answer(response)
                    }
                    delta = -points
                case 200_000:  // refund: take back, down to 0
                    guard request.amount != nil else { return .answer(respond(.formatError)) }
                    delta = -min(points, balance)
                case 310_000:  // balance inquiry: no change, no log
                    return .answer(respond(.approved, approval: key.approvalCode, balance: balance))
                default:
                    return .answer(respond(.invalidTransaction))
                }
            }

            let newBalance = balance + delta
            let response = respond(
                .approved, approval: key.approvalCode, balance: isReversal ? nil : newBalance)
            let completion = WriteAheadLog.Completion(loop: handler.eventLoop, handler: handler, response: response)
            guard let sequence = log.append(record: Record(key: key, card: card, delta: delta), completion: completion)
            else { return .answer(respond(.timeout)) }
            state.balances[card] = newBalance
            state.entries[key] = Entry(response: response, card: card, delta: delta, reversed: false, sequence: sequence)
            if let reverses { state.entries[reverses]?.reversed = true }
            return .queued
        }
    }
}
