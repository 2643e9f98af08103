import Synchronization

/// Reply sinks by small number, so that a queued command is plain data: no reference counting of a shared
/// sink object bouncing between the producer's and the shard's cores on every request.
///
/// Sinks are kept for the ledger's lifetime (a switch has one per event loop), at most `sinksMax`; registering
/// more is a programmer error. Holding them also rules out a reused address being mistaken for an old sink.
final class SinkRegistry: Sendable {
    static let sinksMax = 1024
    static let none: UInt16 = .max
    private let sinks = Mutex<[any LedgerReplySink]>([])

    /// The sink's number, registering it on first use.
    func number(of sink: some LedgerReplySink) -> UInt16 {
        let identifier = ObjectIdentifier(sink)
        return sinks.withLock { sinks in
            for index in sinks.indices where ObjectIdentifier(sinks[index]) == identifier { return UInt16(index) }
            precondition(sinks.count < Self.sinksMax, "more than \(Self.sinksMax) reply sinks: reuse sinks")
            sinks.append(sink)
            return UInt16(sinks.count - 1)
        }
    }

    func sink(_ number: UInt16) -> any LedgerReplySink {
        precondition(number != Self.none, "a reply goes to a registered sink")
        return sinks.withLock { $0[Int(number)] }
    }
}
