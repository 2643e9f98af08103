import HTTP

/// A user made by `prepareUser` and not yet committed: its token exists only here and in the answer.
public struct NewUser: Sendable {
    public let user: AdminUser
    public let token: String
    let tokenHash: [UInt8]
}

extension AccessControl {
    /// A new user with a fresh id and token (nothing stored yet); the caller builds its answer and commits it.
    public func prepareUser(name: String, role: AdminRole, merchants: [String]) -> NewUser {
        let token = AccessToken.generate()
        let user = AdminUser(
            id: "usr_" + AccessCrypto.hex(AccessCrypto.randomBytes(8)), name: name, role: role,
            merchants: merchants, created: AuditTime.format(milliseconds: max(clockMs(), 0)))
        return NewUser(user: user, token: token, tokenHash: AccessToken.hash(token))
    }

    /// Journals the creation (`users.create`, with the token's hash in the private file) and, with a claim, the
    /// answer to remember; `completion` runs on the journal thread once durable. 409 at `usersMax`, 503 when
    /// the journal cannot take it.
    public func createUser(
        _ new: NewUser, actor: AuditActor, answer: RememberedAnswer, claim: IdempotencyClaim?,
        completion: @escaping @Sendable (AccessError?) -> Void
    ) throws(HTTPProblem) {
        let now = clockMs()
        try state.withLock { state throws(HTTPProblem) in
            guard state.users.count < settings.usersMax else {
                throw HTTPProblem(.conflict, detail: "there are \(settings.usersMax) users already (admin.usersMax)")
            }
            precondition(state.users[new.user.id] == nil, "user ids are random and unique")
            let draft = AuditDraft(
                action: "users.create", target: "users/" + new.user.id, detail: Self.detail(of: new.user))
            var effects: [DurableEffect] = [.userCreated(id: new.user.id)]
            if let claim { effects.append(.remember(claim, answer)) }
            let seq = state.nextSeq
            do throws(AccessError) {
                try commit(
                    &state, [draft], actor: actor, operation: nil, nowMs: now,
                    privateRecords: [.token(user: new.user.id, hash: new.tokenHash)], effects: effects,
                    completion: completion)
            } catch {
                throw HTTPProblem(.serviceUnavailable, detail: error.message)
            }
            state.users[new.user.id] = UserRecord(user: new.user, tokenHash: new.tokenHash, durable: false, seq: seq)
        }
    }

    /// Journals `users.delete` and revokes the user's token at once (before the entry is durable). 404 for an
    /// unknown id.
    public func deleteUser(
        id: String, actor: AuditActor, completion: @escaping @Sendable (AccessError?) -> Void
    ) throws(HTTPProblem) {
        let now = clockMs()
        try state.withLock { state throws(HTTPProblem) in
            guard let record = state.users[id], record.durable else {
                throw HTTPProblem(.notFound, detail: "no user \(id)")
            }
            let detail = AuditDetail.make { json in
                json.member("id", id)
                json.member("name", record.user.name)
                json.member("role", record.user.role.rawValue)
            }
            do throws(AccessError) {
                try commit(
                    &state, [AuditDraft(action: "users.delete", target: "users/" + id, detail: detail)], actor: actor,
                    operation: nil, nowMs: now, completion: completion)
            } catch {
                throw HTTPProblem(.serviceUnavailable, detail: error.message)
            }
            state.users[id] = nil
            state.tokens[record.tokenHash] = nil
            state.buckets[id] = nil
        }
    }

    /// `users.create`'s detail: everything needed to rebuild the user but its token hash (in the private file).
    static func detail(of user: AdminUser) -> JSONValue {
        AuditDetail.make { user.writeFields(to: &$0) }
    }

    /// The user a `users.create` entry describes, or nil when its detail is not one.
    static func user(from entry: AuditEntry) -> AdminUser? {
        guard let members = entry.detail.members else { return nil }
        var values: [String: JSONValue] = [:]
        for (key, value) in members { values[key] = value }
        guard let id = values["id"]?.string, let name = values["name"]?.string,
            let role = values["role"]?.string.flatMap(AdminRole.init(rawValue:)),
            let merchants = values["merchants"]?.elements?.compactMap(\.string)
        else { return nil }
        return AdminUser(id: id, name: name, role: role, merchants: merchants, created: entry.time)
    }

    // MARK: Idempotency

    /// Looks up or claims `key` for `user`; `digest` is SHA-256 of the request's method, path and canonical
    /// body (`IdempotencyDigest`).
    /// The key is kept as `IdempotencyRecord.storedKey(key)`, never as sent: a client may put anything in it,
    /// a card number too, and the private file must hold no full card number.
    public func beginIdempotent(user: String, key: String, digest: [UInt8]) -> IdempotencyDecision {
        let now = clockMs()
        let stored = IdempotencyRecord.storedKey(sent: key)
        return state.withLock { $0.idempotency.begin(user: user, key: stored, digest: digest, nowMs: now) }
    }

    /// Remembers an answer that changed nothing (a 4xx), durably; `completion` runs once it is.
    public func rememberAnswer(
        _ claim: IdempotencyClaim, _ answer: RememberedAnswer, completion: @escaping @Sendable (AccessError?) -> Void
    ) {
        let now = clockMs()
        state.withLock { state in
            do throws(AccessError) {
                try commit(
                    &state, [], actor: .anonymous, operation: nil, nowMs: now, effects: [.remember(claim, answer)],
                    completion: completion)
            } catch {
                state.idempotency.abandon(claim)
                completion(error)
            }
        }
    }

    /// The request ended with 500 or more: nothing is remembered, the key is free.
    public func abandon(_ claim: IdempotencyClaim) {
        state.withLock { $0.idempotency.abandon(claim) }
    }
}

/// What an `Idempotency-Key` compares: the method, the path and the body's JSON value (canonical form), or the
/// body's bytes when it is not JSON.
public enum IdempotencyDigest {
    public static func digest(method: String, path: String, body: JSONValue?, rawBody: UnsafeRawBufferPointer)
        -> [UInt8]
    {
        var bytes = Array("\(method) \(path)\n".utf8)
        if let body {
            bytes += JSONWriter.canonicalBytes(body)
        } else {
            bytes += rawBody
        }
        return AccessCrypto.sha256(bytes)
    }
}
