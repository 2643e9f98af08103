import AdminAccess
import Foundation
import HTTP

/// The loop's side of a member upload (`POST /v1/imports/members`): checks the first row as soon as it has
/// arrived (refused with 422 when it is not the import's header, the rest of the body dropped, nothing written to
/// keep), and hands every byte to the spool, pausing the connection while the spool's writer is behind.
final class MemberImportUploadSink: HTTPBodySink {
    /// Bytes the first row may take: a header is about 40; a first row with no end within this is refused.
    static let headerBytesMax = 64 << 10

    let spool: MemberImportSpool
    private var reader = CSVRecordReader(fieldBytesMax: MemberImportRow.fieldBytesMax, fieldsMax: 16)
    private var header: CSVRecord?
    private var scanned = 0

    init(spool: MemberImportSpool) {
        self.spool = spool
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

    /// 422 naming row 1, unless the writer answered first (a full disk); the spool and its file are dropped. The
    /// upload's thread answers it once the file is removed and the place given back.
    private func refuse(_ problem: String) {
        spool.refuse(HTTPProblem(.unprocessableContent, detail: "row 1: \(problem)"))
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
/// leaves no file, no status and no row imported; its refusal is answered only after that (`Ending`).
struct MemberImportUpload: Sendable {
    /// An answer that ends the upload with no import (a refusal, or a replay of the key's first answer).
    /// MemberImports sends it once the upload's place is given back, the file already removed: a client that
    /// reads it may send the next upload at once (admin.importsRunningMax).
    enum Ending {
        case problem(HTTPProblem)
        /// The `Idempotency-Key` was answered before (a replay), is in use (409), or no key is free (503).
        case idempotency(IdempotencyDecision)
        /// The switch is stopping; the key's claim, if any, is given back.
        case stopping(IdempotentRequest)
    }

    let spool: MemberImportSpool
    let user: AdminUser
    let key: String?
    let deferred: HTTPDeferredResponder
    let gate: AdminGate
    let door: AdminLedger
    let imports: MemberImports

    /// Writes the upload and, once it is complete, answers 202 and runs its import; or returns the answer that
    /// ends it, to send with `answer` (nil: 202 sent, or nobody to answer).
    func run() -> Ending? {
        switch spool.write() {
        case .cancelled: return nil
        case .refused(let problem), .failed(let problem): return .problem(problem)
        case .complete(let digest, let bytes):
            precondition(digest.count == 32 && bytes <= Int64(spool.bytesMax), "a whole body within its limit, hashed")
            guard spool.claimAnswer() else {
                unlink(spool.path)
                return nil
            }
            return importUploaded(digest: digest)
        }
    }

    /// Sends `ending`; from the upload's thread once its place is given back.
    func answer(_ ending: Ending) {
        switch ending {
        case .problem(let problem): deferred.answer { $0.respond(problem: problem) }
        case .idempotency(let decision):
            let access = gate.access
            deferred.answer { IdempotentRequest.answer(refused: decision, access: access, $0) }
        case .stopping(let idempotent):
            idempotent.refuse(HTTPProblem(.serviceUnavailable, detail: "the switch is stopping; send the file again"))
        }
    }

    private func importUploaded(digest: [UInt8]) -> Ending? {
        var claim: IdempotencyClaim?
        if let key {
            let decision = gate.access.beginIdempotent(user: user.id, key: key, digest: digest)
            guard case .proceed(let granted) = decision else {
                unlink(spool.path)
                return .idempotency(decision)
            }
            claim = granted
        }
        precondition(
            MemberImports.isWellFormed(spool.id) && (key == nil) == (claim == nil), "a named import, its key claimed")
        let stamp = AdminAuditText.stamp(user, operation: 0, reason: 0)
        let importer = MemberImporter(
            door: door, actor: stamp.actor, role: stamp.role, id: spool.id, clockMs: imports.clockMs)
        precondition(importer.id == spool.id, "the import keeps its upload's id")
        let idempotent = IdempotentRequest(claim: claim, access: gate.access, deferred: deferred)
        guard imports.admitUploaded(importer) else {
            unlink(spool.path)
            return .stopping(idempotent)
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
        return nil
    }
}
