import AdminAccess
import HTTP
import Ledger

/// One admin change on the ledger, from its request to its answer: the change is logged with its `AdminStamp` in
/// the shard's record, and the 2xx leaves once that batch is durable (the same group commit as authorizations).
/// Its audit entry (same operation id) and the remembered `Idempotency-Key` answer are queued for the journal's
/// own group commit, which syncs them in the background: what the 2xx promises is already rebuildable from the
/// ledger alone. After a crash before the journal's sync, the start-up repair writes the entry from the record
/// (`AdminLedger.repair`), and a repeat of the request finds the change in the ledger's key table (a request with
/// an `Idempotency-Key` is logged under a key made of the user and that key, `AdminLedger.key(claim:)`) and gets
/// the same answer again. A change whose audit entry holds what the record does not (an operator's note, a
/// member's texts) or whose repeat would not reach the ledger (`auditBeforeAnswer`) still waits for the journal
/// before its 2xx. A decline changes nothing, writes no audit entry and is answered (and remembered) as its problem.
struct AdminLedgerWrite {
    let door: AdminLedger
    let user: AdminUser
    let idempotent: IdempotentRequest

    /// Submits `request` stamped with a new operation id; `change` describes the approved change for the audit
    /// entry, `answer` builds the 2xx from the reply, `refusal` names each decline. `member` (its directory place
    /// reserved by the caller) enters the member directory in the audit entry's durable unit, or gives its place
    /// back when the change is refused; `note` is the operator's text in the audit entry. `callerKey` (with the
    /// digest of what the caller asked) replaces the operation's own key when the caller names the change itself
    /// (an event id): a repeat then finds the first in the ledger and gets its answer again, with no new audit
    /// entry. `changeDecided` describes a change the ledger decided (an event's points) from its reply, as the
    /// record the start-up repair reads would. `settled` hears once whether the change counted: true once it is
    /// durable with its audit entry queued (before the answer leaves), false when it was refused or its audit
    /// entry could not be queued. `auditBeforeAnswer`: the 2xx waits for the journal's sync too.
    func run(
        _ request: LedgerRequest, reason: UInt8, change: AdminRecord.Change,
        member: (MemberKey, MemberTexts)? = nil, note: String? = nil,
        callerKey: (key: IdempotencyKey, digest: ContentDigest)? = nil,
        changeDecided: (@Sendable (LedgerReply) -> AdminRecord.Change)? = nil,
        auditBeforeAnswer: Bool = false,
        settled: (@Sendable (Bool) -> Void)? = nil,
        answer: @escaping @Sendable (LedgerReply) -> RememberedAnswer,
        refusal: @escaping @Sendable (LedgerStatus) -> HTTPProblem
    ) {
        precondition(request.tag == 0 && request.admin == nil, "a change is stamped and tagged here")
        var request = request
        let operation = door.newOperation()
        let stamp = AdminAuditText.stamp(user, operation: operation, reason: reason)
        // Not for an enrolment with texts: a repeat after a crash before its unit would be answered with texts the
        // directory never got; under its operation key it is 409 (the card belongs to a member) instead.
        let claimKey = member == nil ? idempotent.claim.map(AdminLedger.key(claim:)) : nil
        request.key = callerKey?.key ?? claimKey?.key ?? AdminLedger.key(operation: operation)
        request.digest = callerKey?.digest ?? claimKey?.digest ?? ContentDigest(high: operation, low: 0)
        request.admin = stamp
        precondition(request.key != .zero && request.admin != nil, "a change goes out under its key, stamped")
        let changeDurable = !auditBeforeAnswer && note == nil && member == nil
        // The ledger answers a repeat by itself when the change is logged under the Idempotency-Key's own key and
        // kept at least as long as this layer remembers answers: no private record (and no second sync) needed.
        let answerKeptByLedger =
            changeDurable && callerKey == nil && claimKey != nil
            && door.ledger.configuration.idempotencyRetentionMs >= door.access.settings.idempotencyRetentionMs
        let cardHash = request.cardHash ?? door.ledger.cardHash(of: request.card)
        let access = door.access
        let idempotent = self.idempotent
        let requestKey = request.key
        door.submit(request) { reply in
            precondition(reply.key == requestKey, "a reply answers the change it was asked for")
            guard reply.status.isApproval else {
                if member != nil { access.releaseMember() }
                settled?(false)
                let named = callerKey == nil && claimKey != nil
                idempotent.refuse(AdminLedgerWrite.problem(reply.status, idempotencyKeyNamed: named, refusal))
                return
            }
            guard !reply.isReplay else {
                settled?(false)
                idempotent.answerReplay(answer(reply))
                return
            }
            let record = AdminRecord(
                stamp: stamp, change: changeDecided?(reply) ?? change, card: cardHash, masked: reply.card, timeMs: 0)
            let (draft, actor) = AdminAuditText.draft(for: record, note: note)
            let remembered = answer(reply)
            precondition(record.stamp.operation == operation, "the audit entry and the record share the operation id")
            let answerWhenDurable = idempotent.answerWhenDurable(remembered)
            do throws(HTTPProblem) {
                try access.appendAudit(
                    [draft], actor: actor, operation: operation, claim: idempotent.claim,
                    answer: idempotent.claim == nil ? nil : remembered, member: member, changeDurable: changeDurable,
                    answerKeptByLedger: answerKeptByLedger,
                    completion: { failure in
                        guard !changeDurable else { return }
                        settled?(failure == nil)
                        answerWhenDurable(failure)
                    })
            } catch {
                if member != nil { access.releaseMember() }
                settled?(false)
                if let claim = idempotent.claim { access.abandon(claim) }
                idempotent.deferred.answer { $0.respond(problem: error) }
                return
            }
            if changeDurable {
                settled?(true)
                answerWhenDurable(nil)
            }
        }
    }

    /// The problem for a decline: the handler's own wording first, then the ledger's common answers.
    /// `idempotencyKeyNamed`: the request was logged under its `Idempotency-Key`, so a key conflict is that key's.
    static func problem(
        _ status: LedgerStatus, idempotencyKeyNamed: Bool = false, _ refusal: (LedgerStatus) -> HTTPProblem
    ) -> HTTPProblem {
        let problem: HTTPProblem =
            switch status {
            case .keyConflict where idempotencyKeyNamed:
                HTTPProblem(.conflict, detail: "this Idempotency-Key was used with another request body")
            case .overloaded:
                HTTPProblem(.serviceUnavailable, detail: "the ledger shard's queue is full; retry")
            case .systemError:
                HTTPProblem(.serviceUnavailable, detail: "the ledger shard stopped after an I/O failure; restart it")
            case .capacityExceeded:
                HTTPProblem(.conflict, detail: "a ledger table is full (members, cards, lots or transfers)")
            default:
                refusal(status)
            }
        precondition((400...599).contains(problem.status.code), "a decline is answered 4xx or 5xx")
        return problem
    }
}

/// Reads of a card and its member: an `inspect` request to the card's shard, answered from its inspection.
enum AdminLedgerRead {
    static func inspect(
        _ door: AdminLedger, cardHash: CardHash, responder: HTTPResponder,
        answer: @escaping @Sendable (CardInspection?, HTTPResponder) -> Void
    ) {
        let deferred = responder.deferred()
        var request = LedgerRequest(
            tag: 0, key: .zero, digest: ContentDigest(high: 0, low: 0), card: AdminLedgerRead.placeholder,
            operation: .inspect)
        request.cardHash = cardHash
        let ledger = door.ledger
        precondition(request.cardHash == cardHash && request.tag == 0, "an inspection by card hash")
        door.submit(request) { reply in
            let inspection = reply.status == .approved ? ledger.takeInspection(tag: reply.tag) : nil
            guard reply.status == .approved || reply.status == .unknownCard else {
                let problem = AdminLedgerWrite.problem(reply.status) { status in
                    HTTPProblem(.serviceUnavailable, detail: "the ledger answered \(status)")
                }
                deferred.answer { $0.respond(problem: problem) }
                return
            }
            deferred.answer { answer(inspection, $0) }
        }
    }

    /// The card number a request named by hash carries (never read).
    static let placeholder = CardNumber("0000000000")!
}

extension AdminLedger {
    /// A request by card hash (the admin API names cards by id); `card` is a placeholder the ledger does not read.
    static func request(cardHash: CardHash, operation: LedgerOperation) -> LedgerRequest {
        var request = LedgerRequest(
            tag: 0, key: .zero, digest: ContentDigest(high: 0, low: 0), card: AdminLedgerRead.placeholder,
            operation: operation)
        request.cardHash = cardHash
        precondition(request.tag == 0 && request.cardHash == cardHash, "a request by card hash, its tag the door's")
        return request
    }
}
