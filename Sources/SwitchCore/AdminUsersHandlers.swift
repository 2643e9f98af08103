import AdminAccess
import HTTP

/// `POST /v1/users` `{"name", "role", "merchants"?}` (admin): 201 `{"id", "name", "role", "merchants",
/// "created", "token"}`, the token shown this once; sent only after the `users.create` entry is durable.
final class CreateUserHandler: HTTPHandler {
    let gate: AdminGate

    init(gate: AdminGate) { self.gate = gate }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard
            case (let user, let body, let idempotent)? = gate.beginChange(
                request, responder, roles: [.admin], action: "create users")
        else {
            return
        }
        do throws(HTTPProblem) {
            let (name, role, merchants) = try Self.read(try body.get())
            let new = gate.access.prepareUser(name: name, role: role, merchants: merchants)
            precondition(
                new.user.id.hasPrefix("usr_") && new.user.role == role, "a new user has an id and the role asked")
            var writer = JSONWriter()
            AdminUserJSON.write(new.user, token: new.token, to: &writer)
            let answer = RememberedAnswer(status: 201, contentType: "application/json", body: writer.bytes)
            try gate.access.createUser(
                new, actor: AuditActor(user), answer: answer, claim: idempotent.claim,
                completion: idempotent.answerWhenDurable(answer))
        } catch {
            idempotent.refuse(error)
        }
    }

    /// The body's fields: 400 for a wrong type or an unknown field, 422 for a value that breaks a rule.
    static func read(_ body: JSONValue) throws(HTTPProblem) -> (String, AdminRole, [String]) {
        var fields = try JSONFields(body)
        guard let name = try fields.string("name", lengthMax: AdminUser.nameLengthMax) else {
            throw fields.missing("name")
        }
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw HTTPProblem(.unprocessableContent, detail: "$.name: must be 1...100 printable characters")
        }
        guard let roleText = try fields.string("role", lengthMax: 16) else { throw fields.missing("role") }
        guard let role = AdminRole(rawValue: roleText) else {
            let roles = AdminRole.allCases.map(\.rawValue).joined(separator: ", ")
            throw HTTPProblem(.unprocessableContent, detail: "$.role: must be one of \(roles)")
        }
        let elements = try fields.array("merchants", countMax: AdminUser.merchantsMax) ?? []
        var merchants: [String] = []
        for (index, element) in elements.enumerated() {
            guard let merchant = element.string else {
                throw HTTPProblem(.badRequest, detail: "$.merchants[\(index)]: must be a string")
            }
            guard !merchant.isEmpty, merchant.utf8.count <= AdminUser.merchantLengthMax,
                merchant.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
            else {
                throw HTTPProblem(
                    .unprocessableContent,
                    detail: "$.merchants[\(index)]: must be a field 42 value, 1...15 printable ASCII characters")
            }
            merchants.append(merchant)
        }
        try fields.finish()
        guard role == .merchant || merchants.isEmpty else {
            throw HTTPProblem(.unprocessableContent, detail: "$.merchants: only a merchant user has merchants")
        }
        guard role != .merchant || !merchants.isEmpty else {
            throw HTTPProblem(.unprocessableContent, detail: "$.merchants: a merchant user needs at least one")
        }
        precondition(!name.isEmpty && (role == .merchant) == !merchants.isEmpty, "a checked user")
        precondition(merchants.count <= AdminUser.merchantsMax, "merchants within their limit")
        return (name, role, merchants)
    }
}

/// `GET /v1/users` (admin): `{"items": [...], "next": null}`, oldest first, without tokens or their hashes.
final class ListUsersHandler: HTTPHandler {
    let gate: AdminGate

    init(gate: AdminGate) { self.gate = gate }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin], action: "list users") != nil else { return }
        let users = gate.access.users
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.key("items")
            json.beginArray()
            for user in users { AdminUserJSON.write(user, token: nil, to: &json) }
            json.endArray()
            json.key("next")
            json.null()
            json.endObject()
        }
    }
}

/// `DELETE /v1/users/{id}` (admin): 204 once `users.delete` is durable; the token stops working at once. 409 for
/// the caller's own user, so that at least one admin always remains.
final class DeleteUserHandler: HTTPHandler {
    let gate: AdminGate

    init(gate: AdminGate) { self.gate = gate }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let user = gate.authorize(request, responder, roles: [.admin], action: "delete users") else { return }
        let id = String(decoding: request.parameter(0), as: UTF8.self)
        // An admin deleting its own user could leave the club with no admin and no way back but `admin init`.
        guard id != user.id else {
            responder.respond(
                problem: HTTPProblem(.conflict, detail: "\(id) is the caller's own user; another admin may delete it"))
            return
        }
        precondition(id != user.id, "an admin never deletes its own user")
        let deferred = responder.deferred()
        do throws(HTTPProblem) {
            try gate.access.deleteUser(id: id, actor: AuditActor(user)) { failure in
                deferred.answer { responder in
                    if let failure {
                        responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: failure.message))
                    } else {
                        responder.respond(.noContent, contentType: nil, body: [])
                    }
                }
            }
        } catch {
            responder.respond(problem: error)
        }
    }
}

/// A user as the API shows it.
enum AdminUserJSON {
    static func write(_ user: AdminUser, token: String?, to json: inout JSONWriter) {
        json.beginObject()
        user.writeFields(to: &json)
        json.member("created", user.created)
        if let token { json.member("token", token) }
        json.endObject()
    }
}

/// `GET /v1/audit?after=SEQ&limit=N` (admin, auditor): durable entries after `after` (0 by default), at most
/// `limit` (100 by default, 1...1000), oldest first; `next` is the last seq of the page when more follow.
final class AuditHandler: HTTPHandler {
    static let limitMax: Int64 = 1000
    let gate: AdminGate

    init(gate: AdminGate) { self.gate = gate }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard gate.authorize(request, responder, roles: [.admin, .auditor], action: "read the audit trail") != nil
        else { return }
        let after: Int64
        let limit: Int64
        do throws(HTTPProblem) {
            let query = try QueryParameters.parse(request.query, allowed: ["after", "limit"])
            after = try QueryParameters.integer(query, "after", range: 0...Int64.max) ?? 0
            limit = try QueryParameters.integer(query, "limit", range: 1...Self.limitMax) ?? 100
        } catch {
            responder.respond(problem: error)
            return
        }
        precondition(after >= 0 && (1...Self.limitMax).contains(limit), "a checked page")
        // Changes are answered once the ledger holds them, before their entries are synced: the page waits for
        // the entries queued so far, so a change answered before this request is in it.
        let deferred = responder.deferred()
        let access = gate.access
        access.afterQueuedDurable {
            deferred.answer { responder in Self.respondPage(access, after: after, limit: limit, responder) }
        }
    }

    private static func respondPage(_ access: AccessControl, after: Int64, limit: Int64, _ responder: HTTPResponder) {
        let page: (entries: [AuditEntry], more: Bool)
        do throws(AccessError) {
            page = try access.entries(after: UInt64(after), limit: Int(limit))
        } catch {
            responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: error.message))
            return
        }
        precondition(page.entries.count <= Int(limit), "a page holds at most its limit")
        precondition(!page.more || !page.entries.isEmpty, "more follow only a page with entries")
        responder.respondJSON(.ok) { json in
            json.beginObject()
            json.key("items")
            json.beginArray()
            for entry in page.entries { entry.write(to: &json) }
            json.endArray()
            json.key("next")
            if page.more, let last = page.entries.last { json.integer(Int64(last.seq)) } else { json.null() }
            json.endObject()
        }
    }
}
