import ISO8583
import Metrics
import Network

/// One loop's ISO 8583 metrics: answers by request MTI and response code, the authorization latency and the
/// ledger's part of it, and the requests waiting for the ledger. Written only by the loop's thread (relaxed
/// stores, no lock, no allocation), read by metrics scrapes on any loop, which add up all loops.
final class LoopMetrics: Sendable {
    /// MTI slots: message class 0–9 × request (function 0) or advice (2), then one for anything else.
    static let mtiSlotCount = 21
    /// Response code slots: `00`…`99`, then one for any other field 39.
    static let codeSlotCount = 101
    /// Authorization latency bounds in nanoseconds, 50 µs to 5 s: the budget is 100 ms by default, and the
    /// service time well under a millisecond.
    static let latencyBoundsNs: [UInt64] = [
        50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000,
    ]

    let answers = CounterArray(count: mtiSlotCount * codeSlotCount)
    let latency = Histogram(bounds: latencyBoundsNs)
    /// From a request's hand-over to the ledger to its reply reaching the loop: the ledger's part of `latency`.
    let ledgerWait = Histogram(bounds: latencyBoundsNs)
    /// A gauge: requests of this loop waiting for the ledger, stored once per loop iteration.
    let waitingForLedger = CounterArray(count: 1)

    /// Loop thread: `response` was queued for sending; its request arrived (was decoded) at `arrivalNs`.
    func recordAnswer(_ response: ISOMessage, arrivalNs: UInt64) {
        // Through a stack buffer (`copyValue`, not generic): the generic `withValue` called from this module was
        // not specialized and cost ~1,300 instructions per answer in runtime metadata lookups (callgrind).
        var digits = InlineArray<4, UInt8>(repeating: 0)
        var span = digits.mutableSpan
        let code = span.withUnsafeMutableBytes { buffer -> Int in
            guard let count = response.copyValue(39, into: buffer) else { return Self.codeSlotCount - 1 }
            return Self.codeSlot(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        precondition(code >= 0 && code < Self.codeSlotCount, "a code slot in range")
        answers.add(1, at: Self.mtiSlot(ofResponse: response.mti) * Self.codeSlotCount + code)
        latency.observe(monotonicNanoseconds() &- arrivalNs)
    }

    /// The request's MTI class from its response's (0210 → 0200, 0230 → 0220, 0410 → 0400, 0810 → 0800).
    static func mtiSlot(ofResponse mti: MTI?) -> Int {
        guard let mti, mti.version == 0, mti.function == 1 || mti.function == 3 else { return mtiSlotCount - 1 }
        let slot = mti.messageClass * 2 + (mti.function == 3 ? 1 : 0)
        precondition(slot >= 0 && slot < mtiSlotCount - 1, "a response's MTI slot is one of the classes'")
        return slot
    }

    /// The label of an MTI slot: `0200`, `0220`, …, `other`.
    static func mtiLabel(_ slot: Int) -> String {
        precondition(slot >= 0 && slot < mtiSlotCount, "MTI slot out of range")
        guard slot < mtiSlotCount - 1 else { return "other" }
        return "0\(slot / 2)\(slot % 2 == 0 ? 0 : 2)0"
    }

    static func codeSlot(_ value: UnsafeRawBufferPointer) -> Int {
        guard value.count == 2, let tens = digit(value[0]), let units = digit(value[1]) else {
            return codeSlotCount - 1
        }
        let slot = tens * 10 + units
        precondition(slot >= 0 && slot < codeSlotCount - 1, "two digits name one of 100 code slots")
        return slot
    }

    static func codeLabel(_ slot: Int) -> String {
        precondition(slot >= 0 && slot < codeSlotCount, "code slot out of range")
        guard slot < codeSlotCount - 1 else { return "other" }
        return slot < 10 ? "0\(slot)" : "\(slot)"
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }
}
