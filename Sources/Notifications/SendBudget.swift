/// A token bucket over a webhook's sends (`eventsPerSecondMax`): tries, first or retried, spend one token each;
/// tokens come back at the configured rate, at most 50 ms worth waiting. It caps what delivery takes from the
/// loops it shares with ISO 8583 authorizations: measured, delivery at full speed to a local receiver made
/// authorization p99 several times worse on 2 cores (benchmarks/RESULTS.md).
struct SendBudget {
    let perSecond: Int
    let burst: Double
    private var tokens: Double
    private var refilledNs: UInt64

    init(perSecond: Int, nowNs: UInt64) {
        precondition(perSecond >= 1, "a send budget allows at least one send a second")
        self.perSecond = perSecond
        burst = max(1, Double(perSecond) / 20)
        tokens = burst
        refilledNs = nowNs
    }

    /// Takes a token if one is there.
    mutating func take(nowNs: UInt64) -> Bool {
        refill(nowNs)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// When the next token is there (now if one is).
    mutating func nextTokenNs(nowNs: UInt64) -> UInt64 {
        refill(nowNs)
        guard tokens < 1 else { return nowNs }
        return nowNs + UInt64((1 - tokens) * 1e9 / Double(perSecond)) + 1
    }

    private mutating func refill(_ nowNs: UInt64) {
        guard nowNs > refilledNs else { return }
        tokens = min(burst, tokens + Double(nowNs - refilledNs) * Double(perSecond) / 1e9)
        refilledNs = nowNs
    }
}
