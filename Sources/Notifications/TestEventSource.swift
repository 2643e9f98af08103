/// A source for tests and benchmarks (enabled by `serve --notifications-test-source EVENTS:MEMBERS`, never by
/// the configuration file): `EVENTS` events at positions 1...EVENTS, spread round robin over `MEMBERS` members,
/// each member's types taken in turn from the contract's list, each a pure function of its position, so a restarted switch
/// produces the same events with the same ids.
public final class TestEventSource: EventSource {
    public let eventCount: UInt64
    public let memberCount: UInt64
    /// The time of event 1; event n is n milliseconds later.
    public let startMs: Int64

    public init(eventCount: UInt64, memberCount: UInt64, startMs: Int64 = 1_790_000_000_000) {
        precondition(memberCount >= 1, "a test source has members")
        self.eventCount = eventCount
        self.memberCount = memberCount
        self.startMs = startMs
    }

    public func events(after position: UInt64, limit: Int) -> [SourcedEvent] {
        guard position < eventCount, limit > 0 else { return [] }
        let last = min(eventCount, position + UInt64(limit))
        return (position + 1...last).map { SourcedEvent(position: $0, event: event(at: $0)) }
    }

    /// The event at `position`: id `test-POSITION`, member `m-(POSITION mod MEMBERS)`, a running balance.
    public func event(at position: UInt64) -> NotificationEvent {
        let types = NotificationTemplates.eventTypes
        let member = position % memberCount
        let sequence = Int64((position - 1) / memberCount) + 1
        // By the member's own sequence, so every member sees every type whatever the member count.
        let type = types[Int(sequence % Int64(types.count))]
        return NotificationEvent(
            id: "test-\(position)", type: type, timeMs: startMs + Int64(position), memberId: "m-\(member)",
            card: "6037990000\(String(100_000 + member % 900_000))",
            data: [
                EventField("sequence", sequence), EventField("points", Int64(position % 500) + 1),
                EventField("balance", sequence * 100), EventField("days", 30), EventField("tier", "gold"),
                EventField("offer", "20% credit"), EventField("reason", "birthday"), EventField("amount", 500_000),
            ])
    }
}
