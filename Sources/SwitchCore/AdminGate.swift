import AdminAccess
import HTTP

/// What stands before every protected admin route: the token (401 with `WWW-Authenticate: Bearer`), the
/// token's rate (429 with Retry-After) and the role (403). Refused logins are audited by `AccessControl`.
struct AdminGate: Sendable {
    let access: AccessControl

    /// The request's user when it may go on; otherwise the refusal is answered and nil returned.
    func authorize(
        _ request: HTTPRequest, _ responder: HTTPResponder, roles: Set<AdminRole>, action: String
    ) -> AdminUser? {
        precondition(!roles.isEmpty && !action.isEmpty, "a protected route allows some role to do something")
        switch access.authenticate(request.header("authorization")) {
        case .refused(let reason):
            responder.respond(
                problem: HTTPProblem(.unauthorized, detail: "\(reason); send Authorization: Bearer TOKEN"),
                headers: [("WWW-Authenticate", "Bearer")])
            return nil
        case .limited(let seconds):
            responder.respond(
                problem: HTTPProblem(
                    .tooManyRequests,
                    detail: "more than \(access.settings.requestsPerSecondPerToken) requests per second with this "
                        + "token (admin.requestsPerSecondPerToken)"),
                headers: [("Retry-After", String(seconds))])
            return nil
        case .user(let user):
            guard roles.contains(user.role) else {
                let allowed = AdminRole.allCases.filter(roles.contains).map(\.rawValue).joined(separator: ", ")
                responder.respond(
                    problem: HTTPProblem(
                        .forbidden, detail: "role \(user.role.rawValue) may not \(action) (allowed: \(allowed))"))
                return nil
            }
            precondition(roles.contains(user.role), "only an allowed role goes on")
            return user
        }
    }
}

extension AdminGate {
    /// The start of every state-changing `POST`: the user (token, rate, role), the body as JSON or why it is not,
    /// and the claimed `Idempotency-Key`; nil when one of them has answered already.
    func beginChange(
        _ request: HTTPRequest, _ responder: HTTPResponder, roles: Set<AdminRole>, action: String
    ) -> (user: AdminUser, body: Result<JSONValue, HTTPProblem>, idempotent: IdempotentRequest)? {
        guard let user = authorize(request, responder, roles: roles, action: action) else { return nil }
        let body: Result<JSONValue, HTTPProblem> = Result { () throws(HTTPProblem) in try request.jsonBody() }
        guard
            let idempotent = IdempotentRequest.begin(
                request, responder, user: user, access: access, body: try? body.get())
        else { return nil }
        precondition(roles.contains(user.role), "only an allowed role changes anything")
        return (user, body, idempotent)
    }
}

/// A state-changing `POST` under its optional `Idempotency-Key` (operations-v1): a repeat with the same method,
/// path and JSON value of the body gets the remembered status and body and changes nothing; another body is
/// 409; every answer below 500 is remembered, durably, before it is sent.
struct IdempotentRequest {
    /// Keys are 1...255 visible ASCII characters.
    static let keyLengthMax = 255

    let claim: IdempotencyClaim?
    let access: AccessControl
    let deferred: HTTPDeferredResponder

    /// Starts `request`: nil when it was answered already (a replay, a conflict, a bad key, a full store).
    static func begin(
        _ request: HTTPRequest, _ responder: HTTPResponder, user: AdminUser, access: AccessControl,
        body: JSONValue?
    ) -> IdempotentRequest? {
        guard let raw = request.header("idempotency-key") else {
            return IdempotentRequest(claim: nil, access: access, deferred: responder.deferred())
        }
        guard let key = key(raw) else {
            responder.respond(problem: keyProblem)
            return nil
        }
        precondition(!key.isEmpty && key.utf8.count <= keyLengthMax, "a checked Idempotency-Key")
        let path = String(decoding: request.path, as: UTF8.self)
        let digest = IdempotencyDigest.digest(
            method: "\(request.method)", path: path, body: body, rawBody: request.body)
        let decision = access.beginIdempotent(user: user.id, key: key, digest: digest)
        guard case .proceed(let claim) = decision else {
            answer(refused: decision, access: access, responder)
            return nil
        }
        return IdempotentRequest(claim: claim, access: access, deferred: responder.deferred())
    }

    /// The key as sent, when it is 1...`keyLengthMax` visible ASCII characters; nil otherwise (`keyProblem`).
    static func key(_ raw: UnsafeRawBufferPointer) -> String? {
        guard !raw.isEmpty, raw.count <= keyLengthMax, raw.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let key = String(decoding: raw, as: UTF8.self)
        precondition(key.utf8.count == raw.count, "visible ASCII decodes byte for byte")
        return key
    }

    static let keyProblem = HTTPProblem(
        .badRequest, detail: "Idempotency-Key must be 1...\(keyLengthMax) visible ASCII characters")

    /// Answers a decision that is not `.proceed`: a repeat's remembered answer, a conflict, a full store.
    static func answer(refused decision: IdempotencyDecision, access: AccessControl, _ responder: HTTPResponder) {
        switch decision {
        case .proceed: preconditionFailure("a claim is not a refusal")
        case .replay(let answer):
            precondition((100...599).contains(answer.status), "a remembered answer has an HTTP status")
            responder.respond(
                Self.status(answer.status), contentType: answer.contentType, body: answer.body,
                headers: [("Idempotency-Replayed", "true")])
        case .conflict(let reason):
            responder.respond(problem: HTTPProblem(.conflict, detail: reason))
        case .full(let seconds):
            responder.respond(
                problem: HTTPProblem(
                    .serviceUnavailable,
                    detail: "\(access.settings.idempotencyKeysMax) Idempotency-Key answers are remembered "
                        + "(admin.idempotencyKeysMax); a new key is taken once the oldest expires"),
                headers: [("Retry-After", String(seconds))])
        }
    }

    /// Answers a refusal that changed nothing: remembered first when it is below 500 and a key was given.
    func refuse(_ problem: HTTPProblem) {
        precondition((400...599).contains(problem.status.code), "a refusal is answered 4xx or 5xx")
        guard let claim, problem.status.code < 500 else {
            if let claim { access.abandon(claim) }
            deferred.answer { $0.respond(problem: problem) }
            return
        }
        var writer = JSONWriter()
        problem.write(to: &writer)
        let answer = RememberedAnswer(
            status: problem.status.code, contentType: HTTPProblem.contentType, body: writer.bytes)
        precondition(
            answer.status < 500 && !answer.body.isEmpty, "only a refusal below 500 is remembered, with its body")
        access.rememberAnswer(claim, answer) { failure in
            deferred.answer { responder in
                if let failure {
                    responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: failure.message))
                } else {
                    responder.respond(problem.status, contentType: answer.contentType, body: answer.body)
                }
            }
        }
    }

    /// Answers a change the ledger already held under the caller's own key (a repeated event id): nothing new to
    /// audit, the answer remembered under the `Idempotency-Key` first when one was given.
    func answerReplay(_ answer: RememberedAnswer) {
        precondition((100...599).contains(answer.status), "a remembered answer has an HTTP status")
        let deferred = self.deferred
        let send: @Sendable (HTTPResponder) -> Void = { responder in
            let status = Self.status(answer.status)
            let headers = [("Idempotency-Replayed", "true")]
            responder.respond(status, contentType: answer.contentType, body: answer.body, headers: headers)
        }
        guard let claim else {
            deferred.answer(send)
            return
        }
        access.rememberAnswer(claim, answer) { failure in
            deferred.answer { responder in
                if let failure {
                    responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: failure.message))
                } else {
                    send(responder)
                }
            }
        }
    }

    /// Answers `answer` once the change is durable (or 503 naming why it is not).
    func answerWhenDurable(_ answer: RememberedAnswer) -> @Sendable (AccessError?) -> Void {
        precondition((200...299).contains(answer.status), "a durable change is answered 2xx")
        let deferred = self.deferred
        return { failure in
            deferred.answer { responder in
                if let failure {
                    responder.respond(problem: HTTPProblem(.serviceUnavailable, detail: failure.message))
                } else {
                    responder.respond(Self.status(answer.status), contentType: answer.contentType, body: answer.body)
                }
            }
        }
    }

    static func status(_ code: Int) -> HTTPStatus {
        let status = HTTPStatus.counted.first { $0.code == code } ?? HTTPStatus(code, "Status")
        precondition(status.code == code, "the status answered is the one remembered")
        return status
    }
}

/// `name=value&…` pairs of a query (values percent-decoded), for the few integer parameters the routes take.
enum QueryParameters {
    /// The pairs, or a 400 naming a parameter not in `allowed` or given twice.
    static func parse(_ query: UnsafeRawBufferPointer?, allowed: Set<String>) throws(HTTPProblem) -> [String: String] {
        guard let query, !query.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: parts[0], as: UTF8.self)
            guard allowed.contains(name) else {
                let names = allowed.sorted().joined(separator: ", ")
                throw HTTPProblem(.badRequest, detail: "query parameter \(name) is unknown (allowed: \(names))")
            }
            guard result[name] == nil else { throw HTTPProblem(.badRequest, detail: "query parameter \(name) twice") }
            result[name] = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
        }
        precondition(result.count <= allowed.count, "each allowed parameter at most once")
        return result
    }

    /// An integer parameter in `range`; 400 when it is not one.
    static func integer(
        _ values: [String: String], _ name: String, range: ClosedRange<Int64>
    ) throws(HTTPProblem) -> Int64? {
        guard let text = values[name] else { return nil }
        guard let number = Int64(text), range.contains(number) else {
            throw HTTPProblem(
                .badRequest,
                detail: "query parameter \(name) must be an integer \(range.lowerBound)...\(range.upperBound)")
        }
        precondition(range.contains(number), "a parameter read is inside its range")
        return number
    }
}

/// What every admin route that reaches the ledger holds: the gate (token, role, body, Idempotency-Key) and the
/// door to the shards. A base class so each route keeps only its own handling. Both are immutable references to
/// thread-safe objects, hence the unchecked Sendable.
class AdminLedgerHandler: @unchecked Sendable {
    let gate: AdminGate
    let door: AdminLedger

    init(gate: AdminGate, door: AdminLedger) {
        self.gate = gate
        self.door = door
    }
}
