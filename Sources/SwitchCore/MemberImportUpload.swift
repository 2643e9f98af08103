import AdminAccess
import Foundation
import HTTP

/// The loop's side of a member upload (`POST /v1/imports/members`): checks the first row as soon as it has
/// arrived (422 at once when it is not the import's header, the rest of the body dropped, nothing written to
/// keep), and hands every byte to the spool, pausing the connection while the spool's writer is behind.
final class MemberImportUploadSink: HTTPBodySink {
    /// Bytes the first row may take: a header is about 40; a first row with no end within this is refused.
    static let headerBytesMax = 64 << 10

    let spool: MemberImportSpool
    let responder: HTTPResponder
    private var reader = CSVRecordReader(fieldBytesMax: MemberImportRow.fieldBytesMax, fieldsMax: 16)
    private var header: CSVRecord?
    private var scanned = 0

    init(spool: MemberImportSpool, responder: HTTPResponder) {
        self.spool = spool
        self.responder = responder
    }

    func append(_ bytes: UnsafeRawBufferPointer) -> HTTPBodyDemand {
        if header == nil {
            reader.feed(bytes) { record in if header == nil { header = record } }
            scanned += bytes.count
            if header == nil && scanned > Self.headerBytesMax {
                refuse(
                    "the first row does not end within \(Self.headerBytesMax) bytes; it must be the header "
                        + MemberImportRow.columns.joined(separator: ","))
                return .discard
            }
            if let problem = header.flatMap(Self.headerProblem) {
                refuse(problem)
                return .discard
            }
        }
        return spool.offer(bytes)
    }

    func end() {
        if header == nil {
            reader.finish { record in if header == nil { header = record } }
            let problem =
                header.map(Self.headerProblem) ?? "the body is empty; the first row must be the header "
                + MemberImportRow.columns.joined(separator: ",")
            if let problem {
                refuse(problem)
                return
            }
        }
        spool.end()
    }

    func abort(_ reason: HTTPBodyAbort) {
        spool.cancel(reason.description)
    }

    /// 422 naming row 1, unless the writer answered first (a full disk); the spool and its file are dropped.
    private func refuse(_ problem: String) {
        spool.cancel("the header row was refused")
        guard spool.claimAnswer() else { return }
        responder.respond(problem: HTTPProblem(.unprocessableContent, detail: "row 1: \(problem)"))
    }

    /// Why the first record is not the import's header, or nil when it is.
    static func headerProblem(_ record: CSVRecord) -> String? {
        switch record {
        case .malformed(_, _, let reason): return "the header row is malformed: \(reason)"
        case .fields(_, let fields): return MemberImportRow.headerProblem(fields)
        }
    }
}

/// The upload's own thread: writes the body to the spool file as it arrives, then, once all of it is there,
/// settles the `Idempotency-Key` (its digest covers the whole body, so it is known only now), answers 202 with the
/// import's id (remembered under the key first) and runs the import on the file. An upload that did not complete
/// leaves no file, no status and no row imported.
struct MemberImportUpload: Sendable {
    let spool: MemberImportSpool
    let user: AdminUser
    let key: String?
    let deferred: HTTPDeferredResponder
    let gate: AdminGate
    let door: AdminLedger
    let imports: MemberImports

    func run() {
        switch spool.write() {
        case .cancelled: return
        case .failed(let problem):
            guard spool.claimAnswer() else { return }
            deferred.answer { $0.respond(problem: problem) }
        case .complete(let digest, _):
            guard spool.claimAnswer() else {
                unlink(spool.path)
                return
            }
            importUploaded(digest: digest)
        }
    }

    private func importUploaded(digest: [UInt8]) {
        var claim: IdempotencyClaim?
        if let key {
            let decision = gate.access.beginIdempotent(user: user.id, key: key, digest: digest)
            guard case .proceed(let granted) = decision else {
                unlink(spool.path)
                let access = gate.access
                deferred.answer { IdempotentRequest.answer(refused: decision, access: access, $0) }
                return
            }
            claim = granted
        }
        let stamp = AdminAuditText.stamp(user, operation: 0, reason: 0)
        let importer = MemberImporter(
            door: door, actor: stamp.actor, role: stamp.role, id: spool.id, clockMs: imports.clockMs)
        let idempotent = IdempotentRequest(claim: claim, access: gate.access, deferred: deferred)
        guard imports.admitUploaded(importer) else {
            unlink(spool.path)
            idempotent.refuse(HTTPProblem(.serviceUnavailable, detail: "the switch is stopping; send the file again"))
            return
        }
        var json = JSONWriter()
        json.beginObject()
        json.member("id", spool.id)
        json.endObject()
        let answer = RememberedAnswer(status: 202, contentType: "application/json", body: json.bytes)
        if let claim {
            gate.access.rememberAnswer(claim, answer, completion: idempotent.answerWhenDurable(answer))
        } else {
            deferred.answer { $0.respond(.accepted, contentType: answer.contentType, body: answer.body) }
        }
        imports.runUploaded(importer, path: spool.path)
    }
}
