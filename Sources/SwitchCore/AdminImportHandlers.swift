import AdminAccess
import Foundation
import HTTP
import Ledger

/// `POST /v1/imports/members` (`text/csv`; operator, admin): the body is streamed to `DATA/imports/ID.csv` as it
/// arrives (MemberImportUpload), and 202 `{"id"}` answers once all of it is there; the rows are then read on the
/// upload's thread (MemberImporter) and `GET /v1/imports/{id}` shows how far it is. Before a byte is written: 415
/// without `text/csv`, 400 for a bad `Idempotency-Key`, 429 while `admin.importsRunningMax` imports run or
/// arrive, 411 without `Content-Length`, 413 above `admin.importBytesMax`; 422 as soon as the first row is not the
/// header `pan,name,phone,birthday,points,credit`; 507 when the disk fills meanwhile.
final class ImportMembersHandler: AdminLedgerHandler, HTTPStreamingHandler, @unchecked Sendable {
    let imports: MemberImports

    init(gate: AdminGate, door: AdminLedger, imports: MemberImports) {
        self.imports = imports
        super.init(gate: gate, door: door)
    }

    var bodyBytesMax: Int { imports.uploadBytesMax }
    var bodyBytesMaxName: String { "admin.importBytesMax" }

    func begin(_ request: HTTPRequest, _ responder: HTTPResponder) -> (any HTTPBodySink)? {
        guard let user = gate.authorize(request, responder, roles: [.admin, .operator], action: "import members")
        else { return nil }
        let contentType = request.header("content-type").map { String(decoding: $0, as: UTF8.self).lowercased() }
        guard let contentType, contentType.hasPrefix("text/csv") else {
            responder.respond(
                problem: HTTPProblem(.unsupportedMediaType, detail: "send the rows as Content-Type: text/csv"))
            return nil
        }
        var key: String?
        if let raw = request.header("idempotency-key") {
            key = IdempotentRequest.key(raw)
            guard key != nil else {
                responder.respond(problem: IdempotentRequest.keyProblem)
                return nil
            }
        }
        precondition(
            key.map { !$0.isEmpty && $0.utf8.count <= IdempotentRequest.keyLengthMax } ?? true, "a checked key")
        let id = MemberImports.newId()
        precondition(!id.isEmpty, "an import has an id")
        let deferred = responder.deferred()
        let spool = MemberImportSpool(
            id: id, path: imports.spoolPath(id), bytesMax: imports.uploadBytesMax, resume: { deferred.resumeBody() })
        let upload = MemberImportUpload(
            spool: spool, user: user, key: key, deferred: deferred, gate: gate, door: door, imports: imports)
        guard imports.startUpload(upload) else {
            responder.respond(
                problem: HTTPProblem(
                    .tooManyRequests,
                    detail: "\(imports.runningMax) imports are running or arriving (admin.importsRunningMax); send "
                        + "this one when one of them is done"),
                headers: [("Retry-After", "10")])
            return nil
        }
        return MemberImportUploadSink(spool: spool)
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
        precondition(!id.isEmpty, "only a named import has a status")
        responder.respondJSON(.ok) { json in status.write(to: &json) }
    }
}
