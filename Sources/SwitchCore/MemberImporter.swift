import AdminAccess
import Dispatch
import Foundation
import Glibc
import HTTP
import Ledger
import Loyalty
import LoyaltyLedger
import Synchronization
import SystemCalls

/// Runs one member import from a CSV file: reads it in `chunkBytes` pieces, checks each row, and writes the rows
/// in passes of `rowsPerPass` (MemberImportPass) to the ledger, like ISO 8583 traffic (many rows per shard batch,
/// one fdatasync each), then their audit entries as one journal unit per stage. Up to `passesInFlightMax` passes
/// are in flight, each at its own stage, so one pass's enrolments are synced while another's balances or audit
/// entries are: the syncs overlap instead of being waited for in turn. Memory stays bounded whatever the file's
/// size: one chunk, the passes in flight, and the fingerprints of the cards seen (`cardsTrackedMax`).
///
/// Each row goes through the paths of `POST /v1/members` and `POST /v1/members/{id}/adjustments`: an enrolment
/// (`.profile`) stamped for the audit trail, the name, phone and birthday into the member directory in the audit
/// entry's durable unit, then each opening balance as a `migration` adjustment. The ledger keys are derived from
/// the card alone (never from the file), so a card is enrolled once and each of its opening balances recorded
/// once by any import, within the ledger's key retention (`requestKeyRetentionHours`):
/// - a card already enrolled (by an import, the API or a terminal) is not enrolled again: the row is skipped;
/// - an opening balance already recorded for the card (same amount) is a repeat and changes nothing; another
///   amount is rejected (`keyConflict`): correct a balance with an adjustment, not a second import.
/// So a re-run of the same file changes nothing, and a re-run after a crash finishes what the first run left.
final class MemberImporter: @unchecked Sendable {
    static let chunkBytes = 256 << 10
    static let rowsPerPass = 2048
    static let passesInFlightMax = 3
    /// Ledger requests an import has queued at most (a quarter of a shard's default queue, `queueCapacity` 8192),
    /// so terminals' requests still find room while it runs.
    static let requestsInFlightMax = 2048
    /// Cards whose duplicates within one file are found before they reach the ledger (8 bytes each, 16 MiB at
    /// most); past it a duplicate is still caught by the ledger (its enrolment is a repeat: skipped).
    static let cardsTrackedMax = 2_000_000
    /// Rounds of 5 ms a full shard queue may refuse an import's requests before their rows are rejected
    /// ("the ledger stayed overloaded"): the switch is overloaded or closing.
    static let overloadedRetriesMax = 6_000
    static let migrationReason = UInt8(AdminAuditText.adjustmentReasons.firstIndex(of: "migration")! + 1)

    let door: AdminLedger
    /// The stamp's actor and role (actor 0: the command line).
    let actor: UInt64
    let role: UInt8
    let status: Mutex<MemberImportStatus>
    /// The program's calendar when the import starts: the birthdays' (a rules reload meanwhile does not change it).
    let calendar: CalendarSystem
    let clockMs: @Sendable () -> Int64
    /// Set to stop between batches (the switch is stopping): the import ends `interrupted`.
    let stopRequested = Atomic<Bool>(false)
    private var seen = CardFingerprints(capacityMax: MemberImporter.cardsTrackedMax)
    private var reader = CSVRecordReader(fieldBytesMax: MemberImportRow.fieldBytesMax, fieldsMax: 16)
    var pending: [PendingRow] = []
    private var sawHeader = false
    /// The first failure that stops the import (ledger or journal stopped).
    var stopReason: String?
    /// Ledger replies and durable audit units come here; the passes in flight, oldest first.
    let events = MemberImportEvents()
    let replySerial: UInt64
    var passes: [MemberImportPass] = []
    var nextPass: UInt64 = 1
    var requestsInFlight = 0
    var overloadedRounds = 0
    var progress: ((MemberImportStatus) -> Void)?
    /// The thread `run` works on (0 before it starts): the passes, the pending rows and the reader are its alone.
    private var workingThread: UInt = 0

    init(
        door: AdminLedger, actor: UInt64, role: UInt8, id: String, clockMs: @escaping @Sendable () -> Int64
    ) {
        self.door = door
        self.actor = actor
        self.role = role
        self.clockMs = clockMs
        status = Mutex(MemberImportStatus(id: id, startedMs: clockMs()))
        precondition(!id.isEmpty, "an import has an id")
        calendar = (door.ledger.configuration.decider as? LoyaltyDecider)?.program?.calendar.system ?? .gregorian
        replySerial = MemberImportReplies.shared.register(events)
    }

    deinit { MemberImportReplies.shared.unregister(replySerial) }

    var id: String { status.withLock { $0.id } }

    /// The import's state has no locks (only `status` and `stopRequested` are shared): touching it from another
    /// thread than the one running the import is a programmer error, caught here (one load and one compare).
    @inline(__always)
    func preconditionOnWorkingThread(file: StaticString = #fileID, line: UInt = #line) {
        precondition(workingThread == UInt(pthread_self()), "an import touched off its thread", file: file, line: line)
    }

    /// Reads `path` to its end (or until a failure or a stop), calling `progress` after every pass; returns the
    /// final status. Passes in flight are always waited for, so nothing is left half done in memory.
    func run(path: String, progress: (MemberImportStatus) -> Void) -> MemberImportStatus {
        precondition(workingThread == 0, "an import runs once, on one thread")
        workingThread = UInt(pthread_self())
        return withoutActuallyEscaping(progress) { progress in
            self.progress = progress
            defer { self.progress = nil }
            return readRows(path)
        }
    }

    private func readRows(_ path: String) -> MemberImportStatus {
        preconditionOnWorkingThread()
        pending.reserveCapacity(Self.rowsPerPass)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = "\(path): cannot open (\(String(cString: strerror(errno))))"
            return finish { $0.fail(reason, nowMs: clockMs()) }
        }
        defer { close(descriptor) }
        var chunk = [UInt8](repeating: 0, count: Self.chunkBytes)
        var offset: Int64 = 0
        var readFailure: String?
        var readAll = false
        while stopReason == nil && !stopRequested.load(ordering: .relaxed) {
            let count = chunk.withUnsafeMutableBytes { bytes in
                retryingInterrupts { read(descriptor, bytes.baseAddress, bytes.count) }
            }
            if count < 0 {
                readFailure = "\(path): read failed at byte \(offset) (\(String(cString: strerror(errno))))"
                break
            }
            if count == 0 {
                reader.finish { take($0) }
                writePending(all: true)
                readAll = pending.isEmpty
                break
            }
            offset += Int64(count)
            chunk.withUnsafeBytes { bytes in
                reader.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) { take($0) }
            }
            writePending(all: false)
        }
        while !passes.isEmpty { pump() }
        if let readFailure { return finish { $0.fail(readFailure, nowMs: clockMs()) } }
        if !sawHeader && stopReason == nil {
            stopReason = "the file is empty; the first row must be the header "
                + MemberImportRow.columns.joined(separator: ",")
            return finish { $0.fail(stopReason!, nowMs: clockMs(), row: 1) }
        }
        if let stopReason { return finish { $0.fail(stopReason, nowMs: clockMs(), row: sawHeader ? 0 : 1) } }
        precondition(passes.isEmpty && requestsInFlight == 0, "nothing of the import is left in flight")
        if !readAll { return finish { $0.state = .interrupted } }
        return finish { $0.state = .done }
    }

    /// Starts passes of the pending rows (the last, shorter one too with `all`), waiting while
    /// `passesInFlightMax` are in flight.
    private func writePending(all: Bool) {
        preconditionOnWorkingThread()
        while pending.count >= (all ? 1 : Self.rowsPerPass) && stopReason == nil
            && !stopRequested.load(ordering: .relaxed)
        {
            while passes.count >= Self.passesInFlightMax { pump() }
            if stopReason == nil { beginPass() }
        }
        precondition(passes.count <= Self.passesInFlightMax, "passes in flight within their limit")
    }

    /// The final status, returned and not stored: `status` says running until whoever ran the import publishes
    /// the final one (MemberImports does so in the step that frees the import's place).
    private func finish(_ change: (inout MemberImportStatus) -> Void) -> MemberImportStatus {
        var final = status.withLock { $0 }
        change(&final)
        if final.finishedMs == nil { final.finishedMs = clockMs() }
        precondition(
            final.state != .running && final.finishedMs != nil, "a finished import says how it ended, and when")
        return final
    }

    /// One record from the reader: the header checked, a data row checked and queued, or its problem counted.
    private func take(_ record: CSVRecord) {
        preconditionOnWorkingThread()
        guard stopReason == nil else { return }
        guard sawHeader else {
            sawHeader = true
            switch record {
            case .fields(_, let fields): stopReason = MemberImportRow.headerProblem(fields)
            case .malformed(_, _, let reason): stopReason = "the header row is malformed: \(reason)"
            }
            return
        }
        switch record {
        case .malformed(let number, let field, let reason):
            precondition(number >= 2 && field >= 1, "a data row after the header, its fields counted from 1")
            let column = field <= MemberImportRow.columns.count ? MemberImportRow.columns[field - 1] : "row"
            status.withLock {
                $0.rowsRead += 1
                $0.reject(MemberImportRow.Problem(row: number, column: column, reason: reason))
            }
        case .fields(let number, let fields):
            switch MemberImportRow.parse(fields, row: number, calendar: calendar) {
            case .failure(let problem):
                status.withLock {
                    $0.rowsRead += 1
                    $0.reject(problem)
                }
            case .success(let row):
                let hash = door.ledger.cardHash(of: row.card)
                guard seen.insert(hash) else {
                    status.withLock {
                        $0.rowsRead += 1
                        $0.reject(
                            MemberImportRow.Problem(
                                row: number, column: "pan",
                                reason: "card \(row.card.masked) appears earlier in this file; only its first row counts"))
                    }
                    return
                }
                precondition(number >= 2, "a data row comes after the header")
                pending.append((number, row, hash))
            }
        }
    }
}

/// 64-bit fingerprints of card hashes in an open-addressing table that doubles up to `capacityMax` cards; past
/// it nothing more is tracked (`insert` answers true). Two different cards share a fingerprint with probability
/// about n²/2⁶⁵: negligible for a file.
struct CardFingerprints {
    let capacityMax: Int
    private var slots = [UInt64](repeating: 0, count: 1 << 16)
    private var count = 0

    init(capacityMax: Int) {
        precondition(capacityMax >= 1, "a table holds a card")
        self.capacityMax = capacityMax
    }

    /// False when the card was inserted before.
    mutating func insert(_ hash: CardHash) -> Bool {
        let fingerprint = (hash.high ^ (hash.low &* 0x9E37_79B9_7F4A_7C15)) | 1
        precondition(fingerprint != 0, "0 marks an empty slot")
        if let found = slot(of: fingerprint) { return !found.present && place(fingerprint, at: found.index) }
        return true
    }

    private func slot(of fingerprint: UInt64) -> (index: Int, present: Bool)? {
        let mask = slots.count - 1
        precondition(slots.count.nonzeroBitCount == 1, "the table's size is a power of two")
        var index = Int(truncatingIfNeeded: fingerprint >> 7) & mask
        for _ in 0..<slots.count {
            if slots[index] == fingerprint { return (index, true) }
            if slots[index] == 0 { return (index, false) }
            index = (index + 1) & mask
        }
        return nil
    }

    private mutating func place(_ fingerprint: UInt64, at index: Int) -> Bool {
        guard count < capacityMax else { return true }
        precondition(slots[index] == 0, "a fingerprint goes into an empty slot")
        slots[index] = fingerprint
        count += 1
        if count * 2 > slots.count { grow() }
        precondition(count <= capacityMax && count * 2 <= slots.count, "the table stays at most half full")
        return true
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        for fingerprint in old where fingerprint != 0 {
            if let found = slot(of: fingerprint) { slots[found.index] = fingerprint }
        }
        assert(slots.count { $0 != 0 } == count, "growing keeps every fingerprint")
    }
}
