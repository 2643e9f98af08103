/// Exponential back-off with full jitter (the delay before try n+1 is drawn uniformly from 0...min(cap, first ×
/// 2^(n-1))): receivers that fail together do not retry together.
struct RetrySchedule {
    let firstDelayMs: Int
    let delayMaxMs: Int

    /// The ceiling of the delay after `failedTries` failed tries (1 after the first).
    func ceilingMs(afterFailedTries failedTries: Int) -> Int {
        precondition(failedTries >= 1, "a retry follows a failed try")
        let doublings = min(failedTries - 1, 30)
        return min(delayMaxMs, firstDelayMs << doublings)
    }

    /// A delay drawn with `generator` (full jitter).
    func delayMs(afterFailedTries failedTries: Int, using generator: inout some RandomNumberGenerator) -> Int {
        Int.random(in: 0...ceilingMs(afterFailedTries: failedTries), using: &generator)
    }
}
