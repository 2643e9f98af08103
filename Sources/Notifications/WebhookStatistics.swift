import Metrics

/// What one webhook's delivery has done: counters and gauges written by its loop alone (`CounterArray`, no
/// lock), read by health and metrics from any thread.
public final class WebhookStatistics: Sendable {
    public enum Counter: Int, CaseIterable, Sendable {
        /// Events acknowledged with a 2xx.
        case delivered
        /// Failed tries followed by a retry.
        case retried
        /// Events moved to the dead-letter list after their last try.
        case deadLettered
        /// Events out of tries kept retrying because the dead-letter list was full.
        case deadLetterListFull
        /// Iterations in which reading paused at `windowEventsMax` or `membersInFlightMax`.
        case windowFull
        /// Gauge: events read and not yet acknowledged or dead-lettered (the window).
        case queueDepth
        /// Gauge: members with events in the window.
        case membersInFlight
    }

    let values = CounterArray(count: Counter.allCases.count)

    init() {}

    /// Any thread: the counter's latest value.
    public subscript(_ counter: Counter) -> UInt64 { values.load(at: counter.rawValue) }

    /// The loop only.
    func add(_ counter: Counter) { values.add(1, at: counter.rawValue) }

    /// The loop only.
    func set(_ counter: Counter, _ value: Int) { values.set(UInt64(value), at: counter.rawValue) }
}
