import HTTP

extension AccessControl {
    /// Takes a place in the member directory for a member about to be enrolled with texts; 409 when the directory
    /// is full (`admin.directoryMembersMax`). The place is filled by `appendAudit(member:)` once durable, or given
    /// back by `releaseMember` when the change is refused.
    public func reserveMember() throws(HTTPProblem) {
        let taken = state.withLock { $0.directory.reserve() }
        guard taken else {
            throw HTTPProblem(
                .conflict,
                detail: "the member directory is full (admin.directoryMembersMax \(settings.directoryMembersMax) "
                    + "members with a name, phone or birthday)")
        }
    }

    /// Gives back a place `reserveMember` took for a change that will not be appended.
    public func releaseMember() {
        state.withLock { $0.directory.release() }
    }

    /// A member's name, phone and birthday as enrolled (durable), or nil when none was given.
    public func memberTexts(_ key: MemberKey) -> MemberTexts? {
        state.withLock { $0.directory[key] }
    }

    /// The members whose phone is `phone` exactly as stored (the member search).
    public func members(withPhone phone: String) -> [MemberKey] {
        state.withLock { $0.directory.phones[phone] ?? [] }
    }

    /// Members in the directory, and places reserved by enrolments in flight.
    public var directoryCounts: (members: Int, reserved: Int) {
        state.withLock { ($0.directory.count, $0.directory.reserved) }
    }
}
