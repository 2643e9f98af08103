import AdminAccess
import Foundation
import HTTP
import Ledger

/// `POST /v1/imports/members` (`text/csv`; operator, admin): 202 `{"id"}` once the upload is spooled to
/// `DATA/imports/ID.csv` and its header checked; the rows are then read on a thread of their own
/// (MemberImporter) and `GET /v1/imports/{id}` shows how far it is. 415 without `text/csv`, 422 when the first row
/// is not the header `pan,name,phone,birthday,points,credit`, 429 while `MemberImports.runningMax` imports run.
/// An upload is bounded by `admin.bodyBytesMax` (413 over it); a bigger file goes through
/// `loyalty-switch import members FILE --data DIR` with the switch stopped, which streams the file.
final class ImportMembersHandler: AdminLedgerHandler, HTTPHandler, @unchecked Sendable {
    let imports: MemberImports

    init(gate: AdminGate, door: AdminLedger, imports: MemberImports) {
        self.imports = imports
        super.init(gate: gate, door: door)
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let user = gate.authorize(request, responder, roles: [.admin, .operator], action: "import members")
        else { return }
        let contentType = request.header("content-type").map { String(decoding: $0, as: UTF8.self).lowercased() }
        guard let contentType, contentType.hasPrefix("text/csv") else {
            responder.respond(
                problem: HTTPProblem(.unsupportedMediaType, detail: "send the rows as Content-Type: text/csv"))
            return
        }
        if let problem = Self.headerProblem(request.body) {
            responder.respond(problem: HTTPProblem(.unprocessableContent, detail: "row 1: \(problem)"))
            return
        }
        guard
            let idempotent = IdempotentRequest.begin(
                request, responder, user: user, access: gate.access, body: nil)
        else { return }
        let id = MemberImports.newId()
        let path = imports.spoolPath(id)
        do {
            try Data(request.body).write(to: URL(fileURLWithPath: path))
        } catch {
            idempotent.refuse(HTTPProblem(.serviceUnavailable, detail: "cannot spool the upload to \(path): \(error)"))
            return
        }
        let stamp = AdminAuditText.stamp(user, operation: 0, reason: 0)
        let importer = MemberImporter(door: door, actor: stamp.actor, role: stamp.role, id: id, clockMs: imports.clockMs)
        guard imports.start(importer, path: path, removeWhenDone: true) else {
            try? FileManager.default.removeItem(atPath: path)
            // Not remembered: the same key may be sent again once an import is done.
            if let claim = idempotent.claim { gate.access.abandon(claim) }
            let problem = HTTPProblem(
                .tooManyRequests,
                detail: "\(imports.runningMax) imports are running; send this one when one of them is done")
            idempotent.deferred.answer { $0.respond(problem: problem, headers: [("Retry-After", "10")]) }
            return
        }
        var json = JSONWriter()
        json.beginObject()
        json.member("id", id)
        json.endObject()
        let answer = RememberedAnswer(status: 202, contentType: "application/json", body: json.bytes)
        guard let claim = idempotent.claim else {
            idempotent.deferred.answer { $0.respond(.accepted, contentType: answer.contentType, body: answer.body) }
            return
        }
        gate.access.rememberAnswer(claim, answer, completion: idempotent.answerWhenDurable(answer))
    }

    /// Why the body's first record is not the import's header, or nil when it is.
    static func headerProblem(_ body: UnsafeRawBufferPointer) -> String? {
        var reader = CSVRecordReader(fieldBytesMax: MemberImportRow.fieldBytesMax, fieldsMax: 16)
        var first: CSVRecord?
        var start = 0
        while first == nil && start < body.count {
            let end = min(start + 4096, body.count)
            reader.feed(UnsafeRawBufferPointer(rebasing: body[start..<end])) { record in
                if first == nil { first = record }
            }
            start = end
        }
        if first == nil { reader.finish { record in if first == nil { first = record } } }
        switch first {
        case nil: return "the body is empty; the first row must be the header pan,name,phone,birthday,points,credit"
        case .malformed(_, _, let reason): return "the header row is malformed: \(reason)"
        case .fields(_, let fields): return MemberImportRow.headerProblem(fields)
        }
    }
}

/// `GET /v1/imports/{id}` (operator, admin): the import's status (MemberImportStatus), also after a restart.
final class ImportStatusHandler: HTTPHandler {
    let gate: AdminGate
    let imports: MemberImports

    init(gate: AdminGate, imports: MemberImports) {
        self.gate = gate
        self.imports = imports
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin, .operator], action: "read imports") != nil else {
            return
        }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        guard let status = imports.status(id) else {
            responder.respond(problem: HTTPProblem(.notFound, detail: "no import \(id.prefix(64))"))
            return
        }
        responder.respondJSON(.ok) { json in status.write(to: &json) }
    }
}
