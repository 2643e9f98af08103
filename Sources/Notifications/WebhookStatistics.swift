import Metrics

/// What one webhook's delivery has done: counters and gauges of each of its streams (one per ledger shard),
/// each written by its stream's loop alone (`CounterArray`, no lock), summed when health and metrics read them
/// from any thread.
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

    let values: CounterArray
    let streamCount: Int

    init(streams: Int) {
        precondition(streams >= 1, "a webhook has a stream per source")
        streamCount = streams
        values = CounterArray(count: Counter.allCases.count * streams)
    }

    /// Any thread: the counter's latest value, every stream's summed.
    public subscript(_ counter: Counter) -> UInt64 {
        (0..<streamCount).reduce(0) { $0 + values.load(at: $1 * Counter.allCases.count + counter.rawValue) }
    }

    /// The counters one stream writes (from its loop only).
    struct Stream {
        let statistics: WebhookStatistics
        let base: Int

        func add(_ counter: Counter) { statistics.values.add(1, at: base + counter.rawValue) }

        func set(_ counter: Counter, _ value: Int) { statistics.values.set(UInt64(value), at: base + counter.rawValue) }
    }

    func stream(_ index: Int) -> Stream {
        precondition(index >= 0 && index < streamCount, "a stream of this webhook")
        return Stream(statistics: self, base: index * Counter.allCases.count)
    }
}
