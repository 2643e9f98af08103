import Loyalty
import Synchronization

/// The loyalty rules every shard decides purchases with, replaced at run time by `Ledger.setRules`.
///
/// A shard looks at the slot once per batch (one uncontended lock), so all purchases of a batch are decided by
/// one version, and a new version applies from the next batch on. Decisions record the version that made them.
final class RulesSlot: Sendable {
    private let state = Mutex<(generation: UInt64, program: Loyalty.Program?)>((0, nil))

    func replace(_ program: Loyalty.Program) {
        state.withLock { $0 = ($0.generation + 1, program) }
    }

    /// The program when it changed since `generation`, with the new generation; nil when unchanged.
    func changed(since generation: UInt64) -> (UInt64, Loyalty.Program?)? {
        state.withLock { current in
            current.generation == generation ? nil : (current.generation, current.program)
        }
    }
}
