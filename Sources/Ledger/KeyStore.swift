import Foundation
import Synchronization
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The remembered requests older than the in-memory ring: an LSM-style store of immutable runs on disk
/// (`KeyRun`) fed by a buffer (`KeyBuffer`), so that a request key, a tombstone and the names a reversal or refund
/// finds its original by are kept for the retention time whatever the traffic, at about 1.3–4 bytes of RAM per
/// key (docs/request-keys.md).
///
/// Consistency with the log: every version in a run was made by a record in the run's sequence range; a snapshot
/// records the last sequence its runs cover (`runsThrough`) and carries the filling buffer, so recovery keeps the
/// runs up to it, deletes newer ones (replay makes them again) and refuses a gap. A run is written off the shard
/// thread; the shard waits only when the previous run is still being written as the next buffer fills.
final class KeyStore: @unchecked Sendable {
    let directory: String
    let shardIndex: Int
    let bufferCapacity: Int
    /// The buffer taking new versions.
    private(set) var filling: KeyBuffer
    /// A full buffer whose run is being written (read-only until then).
    private(set) var frozen: KeyBuffer?
    /// For `ledger verify` (read-only): frozen buffers kept in memory instead of written, oldest first.
    private var unwritten: [KeyBuffer] = []
    private var spare: KeyBuffer?
    /// Runs oldest first: contiguous sequence ranges, `runsFirstSequence ... runsThrough`.
    private(set) var runs: [KeyRun] = [] {
        didSet { probes = runs.map { RunProbe(filter: $0.filter.probe, mayHoldTombstones: $0.mayHoldTombstones) } }
    }
    /// Each run's filter and tombstone flag, as plain values in `runs`' order: a new name's lookup probes them all
    /// without retaining a run (the filters' memory lives as long as the runs in `runs`).
    private var probes: [RunProbe] = []
    private struct RunProbe {
        let filter: KeyFilter.Probe
        let mayHoldTombstones: Bool
    }
    /// The last sequence the runs (and the frozen buffer) cover; 0 when none.
    private(set) var runsThrough: UInt64 = 0
    /// The first sequence of the oldest run kept (older runs expired).
    private(set) var runsFirstSequence: UInt64 = 1
    let readOnly: Bool
    /// Set once the shard thread runs: runs are then written on a helper thread.
    private var writesInBackground = false
    private let written = Mutex<WrittenRun?>(nil)
    private let writeFailures = Atomic<Int>(0)
    /// Runs that could not be written since open (read from any thread).
    var writeFailureCount: Int { writeFailures.load(ordering: .acquiring) }
    /// 1 while no run is being written.
    private let writerIdle = DispatchSemaphore(value: 1)
    /// A read of a run failed its checksum since the last `clearDamage` (the caller must not trust a miss).
    private(set) var sawDamage = false
    /// A run could not be written: the shard must stop (its memory would otherwise outgrow the bound).
    private(set) var failure: LedgerError?
    private var cachedEntry: (run: ObjectIdentifier, index: Int, entry: IdempotencyEntry)?
    /// Runs dropped because every entry in them is past retention; deleted once a snapshot no longer needs them.
    private var expired: [String] = []
    /// The runs a snapshot that is durable relies on end here: only those may be merged (KeyRunCompaction).
    private let durableRunsThrough = Atomic<UInt64>(0)
    private var durableSeen: UInt64 = 0
    /// A run was adopted since the last look for a merge (runs after the durable snapshot may merge too).
    private var runsAdded = false
    /// Where the runs of each snapshot begun since the durable one end, oldest first (shard thread;
    /// `snapshotStarted`). Any of them may be the one a restart loads: a snapshot renamed into place can still fail
    /// (deleting the older files, removing expired runs, syncing the directory), and then the store never hears it
    /// is durable. So no merge spans any of them until a snapshot begun after it is durable.
    private var pendingBoundaries: [UInt64] = []
    static let pendingBoundariesMax = 16
    /// Helper threads' nice values: on busy cores the shard and the ISO loops come first (at a fixed 100k/s the
    /// cores, not the disk, set the tail once runs were compact). A merge is not waited for (nice 10) while merges
    /// keep up; once `mergeBacklogRuns` runs of the first level wait, the next merge starts at the shard's priority
    /// (every new key probes each run: at nice 10 under a saturating load 98 runs piled up by 20M keys and the
    /// shard ran 3× slower). A thread cannot take its priority back unprivileged, so it is chosen per merge. The
    /// run writer is waited for when the next buffer fills first, so it keeps a larger share (nice 5).
    static let mergeNice: Int32 = 10
    static let mergeBacklogRuns = 8
    static let writerNice: Int32 = 5
    /// Past `pendingBoundariesMax` snapshots begun without one durable, the newest boundary not kept (0: none):
    /// runs after the last one kept do not merge until a snapshot through it is durable.
    private var boundariesDroppedThrough: UInt64 = 0
    /// 1 while no merge runs.
    private let compactorIdle = DispatchSemaphore(value: 1)
    private let merged = Mutex<Merged?>(nil)
    /// The runs being merged (shard thread): they neither expire nor merge again until the merge is taken in.
    private var mergingInputs: [ObjectIdentifier] = []
    /// A merged run spans at most this much entry time, so it expires at most this late.
    var mergeSpanMaxMs: Int64 = Int64.max
    /// Merges done and their cost, for the benchmark and logs (read after `waitUntilIdle`).
    private(set) var mergeCount = 0
    private(set) var mergeNanoseconds: UInt64 = 0
    private(set) var mergedBytes: Int64 = 0
    private(set) var mergeFailures: [String] = []

    enum Merged {
        case run(KeyRun, inputs: [ObjectIdentifier], nanoseconds: UInt64)
        case failed(LedgerError, inputs: [ObjectIdentifier])
    }

    enum WrittenRun {
        case run(KeyRun)
        case failed(LedgerError)
    }

    init(directory: String, shardIndex: Int, bufferCapacity: Int, readOnly: Bool) {
        precondition(shardIndex >= 0 && bufferCapacity >= 16, "a shard's store with a buffer of keyBufferEntriesMax")
        self.directory = directory
        self.shardIndex = shardIndex
        self.bufferCapacity = bufferCapacity
        self.readOnly = readOnly
        filling = KeyBuffer(capacity: bufferCapacity)
    }

    /// Versions a record may add (first versions and newer versions of up to three originals), so that a buffer
    /// is never frozen in the middle of one record.
    static let versionsPerRecordMax = 8

    // MARK: Recovery

    /// Opens the runs a snapshot relies on (`first ... through`) and deletes runs outside them (made after the
    /// snapshot, replaced by a compaction, or expired). A gap, a damaged index or a run missing at either end
    /// refuses, naming the file.
    func open(runsFirstSequence first: UInt64, runsThrough through: UInt64) throws(LedgerError) {
        precondition(first >= 1 && first <= through + 1, "the runs cover a range of sequences")
        precondition(runs.isEmpty && filling.isEmpty, "a store is opened once, empty")
        runsFirstSequence = first
        runsThrough = through
        filling.afterSequence = through
        durableRunsThrough.store(through, ordering: .releasing)
        pendingBoundaries = []
        boundariesDroppedThrough = 0
        var found: [(first: UInt64, last: UInt64, name: String)] = []
        for name in try FileIO.listDirectory(directory) {
            if name.hasPrefix("keys-") && name.hasSuffix(".run.tmp") && !readOnly {
                try FileIO.remove(directory + "/" + name)
            }
            guard let (start, end) = KeyRunHeader.range(ofFileName: name) else { continue }
            found.append((start, end, name))
        }
        found.sort { $0.first != $1.first ? $0.first < $1.first : $0.last > $1.last }
        var expected = first
        for run in found {
            let keep = through > 0 && run.first == expected && run.last <= through
            if !keep {
                if !readOnly { try FileIO.remove(directory + "/" + run.name) }
                continue
            }
            runs.append(try KeyRun(path: directory + "/" + run.name, shardIndex: shardIndex))
            expected = run.last + 1
        }
        if through > 0 && expected != through + 1 {
            throw .damagedKeyRun(
                file: directory + "/" + KeyRunHeader.fileName(first: expected, last: through),
                reason: "the snapshot relies on request keys of sequences \(expected)...\(through) and no run holds them")
        }
        precondition(runs.count <= found.count && filling.afterSequence == runsThrough, "the runs kept are listed")
    }

    /// From now on runs are written on a helper thread (called when the shard thread starts).
    func startBackgroundWrites() { writesInBackground = true }

    // MARK: Adding

    /// Called before each record is applied: freezes the buffer when it could not take the record's versions.
    func beginRecord(sequence: UInt64) {
        precondition(sequence > filling.afterSequence, "records come in sequence order after the filling buffer's start")
        adoptWrittenRun()
        if writesInBackground { adoptMergeAndStartNext() }
        guard filling.freeSlots < Self.versionsPerRecordMax || filling.capacity > bufferCapacity else { return }
        freeze(lastSequence: sequence - 1)
        precondition(filling.afterSequence == runsThrough && runsThrough < sequence, "the buffer starts after the runs")
    }

    func addFirst(_ entry: IdempotencyEntry, position: Int64) {
        precondition(position >= 0 && entry.key != .zero, "a remembered key has a position and a name")
        filling.addFirst(entry, position: position)
    }

    /// A newer version of a position that left the ring (runs are immutable, so the read cache stays right).
    func store(_ entry: IdempotencyEntry, position: Int64) {
        precondition(position >= 0 && entry.key != .zero, "a remembered key has a position and a name")
        filling.store(entry, position: position)
    }

    /// Makes room for `extra` more first versions in the filling buffer, past its usual capacity if need be: a
    /// snapshot loaded into a smaller ring (a limit changed, or a format-5 snapshot) moves its oldest entries here.
    /// The oversized buffer is written as a run at the next record.
    func reserveFilling(extra: Int) {
        precondition(extra >= 0, "a count of versions")
        guard filling.freeSlots < extra + Self.versionsPerRecordMax else { return }
        let larger = KeyBuffer(capacity: filling.count + extra + Self.versionsPerRecordMax)
        larger.afterSequence = filling.afterSequence
        for slot in 0..<filling.count {
            restoreFilling(filling.entries[slot], position: filling.positions[slot], isAmendment: filling.isAmendment[slot], into: larger)
        }
        precondition(larger.count == filling.count, "the larger buffer holds every version")
        filling = larger
        precondition(filling.freeSlots >= extra + Self.versionsPerRecordMax, "room for the versions reserved")
    }

    private func freeze(lastSequence: UInt64) {
        guard !filling.isEmpty, lastSequence > filling.afterSequence else { return }
        if frozen != nil { waitForWrittenRun() }
        let buffer = filling
        let next = spare ?? KeyBuffer(capacity: bufferCapacity)
        spare = nil
        next.afterSequence = lastSequence
        filling = next
        runsThrough = lastSequence
        precondition(filling.isEmpty && filling.afterSequence == runsThrough, "a new buffer starts after the frozen one")
        if readOnly {
            unwritten.append(buffer)
            return
        }
        frozen = buffer
        if writesInBackground {
            writerIdle.wait()
            let thread = Thread { [self] in
                setThreadName("ledger-keys-\(shardIndex)")
                setThreadNice(Self.writerNice)
                let result = Self.write(buffer, lastSequence: lastSequence, directory: directory, shard: shardIndex)
                if case .failed = result { writeFailures.add(1, ordering: .releasing) }
                written.withLock { $0 = result }
                writerIdle.signal()
            }
            thread.name = "ledger-keys-\(shardIndex)"
            thread.start()
        } else {
            let result = Self.write(buffer, lastSequence: lastSequence, directory: directory, shard: shardIndex)
            written.withLock { $0 = result }
            adoptWrittenRun()
        }
    }

    /// Waits for the run being written and takes it in.
    private func waitForWrittenRun() {
        writerIdle.wait()
        writerIdle.signal()
        adoptWrittenRun()
    }

    /// Waits until no run is being written (before a snapshot that relies on it is written).
    func waitUntilWritten() {
        writerIdle.wait()
        writerIdle.signal()
    }

    /// Waits for the run writer and a running merge (when the shard stops).
    func waitUntilIdle() {
        waitUntilWritten()
        compactorIdle.wait()
        compactorIdle.signal()
    }

    /// A snapshot relying on runs through `sequence` begins (shard thread): until it or a later one is durable no
    /// merge spans that sequence, since recovery from it would delete a run that straddled it. Not forgotten when
    /// the next one begins: this one may have reached the disk however it ended.
    func snapshotStarted(runsThrough sequence: UInt64) {
        let durable = durableRunsThrough.load(ordering: .acquiring)
        forgetBoundaries(through: durable)
        guard sequence > durable, pendingBoundaries.last != sequence, boundariesDroppedThrough != sequence else {
            return
        }
        precondition(pendingBoundaries.last.map { $0 < sequence } ?? true, "snapshots begin in sequence order")
        if boundariesDroppedThrough == 0 && pendingBoundaries.count < Self.pendingBoundariesMax {
            pendingBoundaries.append(sequence)
        } else {
            boundariesDroppedThrough = sequence
        }
        precondition(pendingBoundaries.count <= Self.pendingBoundariesMax, "boundaries kept are bounded")
    }

    /// A snapshot through `durable` is durable: the snapshots begun before it are older files than it, never
    /// loaded again, so their boundaries go.
    private func forgetBoundaries(through durable: UInt64) {
        pendingBoundaries.removeAll { $0 <= durable }
        if boundariesDroppedThrough <= durable { boundariesDroppedThrough = 0 }
    }

    /// A snapshot relying on runs through `sequence` is durable (snapshot thread).
    func snapshotDurable(runsThrough sequence: UInt64) {
        precondition(sequence >= durableRunsThrough.load(ordering: .acquiring), "durable snapshots only move forward")
        durableRunsThrough.store(sequence, ordering: .releasing)
    }

    /// Takes in a run written and a merge finished (when the shard stops, after `waitUntilIdle`).
    func adoptFinishedWork() {
        adoptWrittenRun()
        mergeSpanMaxMs = -1  // start no new merge
        adoptMergeAndStartNext()
    }

    // MARK: Merging

    /// Takes a finished merge in (its inputs replaced by the merged run, in place) and starts the next one when
    /// runs or the durable snapshot changed. Shard thread; the merge itself runs on a helper thread.
    private func adoptMergeAndStartNext() {
        if !mergingInputs.isEmpty, let result = merged.withLock({ current -> Merged? in
            defer { current = nil }
            return current
        }) {
            switch result {
            case .run(let run, let inputs, let nanoseconds):
                mergeNanoseconds += nanoseconds
                mergedBytes += run.header.fileBytes
                let start = runs.firstIndex { ObjectIdentifier($0) == inputs[0] }!
                precondition(
                    runs[start..<(start + inputs.count)].map(ObjectIdentifier.init) == inputs, "merged runs moved")
                let replaced = RetiredRuns(Array(runs[start..<(start + inputs.count)]))
                runs.replaceSubrange(start..<(start + inputs.count), with: [run])
                replaced.releaseInBackground(shard: shardIndex)
                mergeCount += 1
            case .failed(let error, _):
                // The inputs stay (a merge deletes them only after the merged run is durable); not retried.
                mergeFailures.append("\(error)")
                mergeSpanMaxMs = -1
            }
            mergingInputs = []
            durableSeen = 0
        }
        let durable = durableRunsThrough.load(ordering: .acquiring)
        guard mergingInputs.isEmpty, durable != durableSeen || runsAdded, mergeSpanMaxMs >= 0 else { return }
        durableSeen = durable
        runsAdded = false
        forgetBoundaries(through: durable)
        guard let range = KeyRunCompaction.pick(
            runs, bufferCapacity: bufferCapacity, boundaries: [durable] + pendingBoundaries,
            through: boundariesDroppedThrough == 0 ? .max : pendingBoundaries.last ?? durable,
            spanMaxMs: mergeSpanMaxMs)
        else { return }
        let inputs = Array(runs[range])
        mergingInputs = inputs.map(ObjectIdentifier.init)
        let identifiers = mergingInputs
        let waiting = runs.reduce(0) { $0 + (KeyRunCompaction.level($1, bufferCapacity: bufferCapacity) == 0 ? 1 : 0) }
        let polite = waiting < Self.mergeBacklogRuns
        compactorIdle.wait()
        let thread = Thread { [self] in
            setThreadName("ledger-merge-\(shardIndex)")
            if polite { setThreadNice(Self.mergeNice) }
            let result: Merged
            let startNs = ShardStatistics.now()
            do throws(LedgerError) {
                let run = try KeyRunCompaction.merge(inputs, directory: directory, shard: shardIndex)
                result = .run(run, inputs: identifiers, nanoseconds: ShardStatistics.now() - startNs)
            } catch {
                result = .failed(error, inputs: identifiers)
            }
            merged.withLock { $0 = result }
            compactorIdle.signal()
        }
        thread.name = "ledger-merge-\(shardIndex)"
        thread.start()
    }

    /// Takes a finished run in (shard thread): it replaces the frozen buffer in lookups.
    private func adoptWrittenRun() {
        guard frozen != nil, let result = written.withLock({ current -> WrittenRun? in
            defer { current = nil }
            return current
        }) else { return }
        switch result {
        case .run(let run):
            precondition(run.header.lastSequence <= runsThrough, "a written run covers frozen sequences only")
            runs.append(run)
            runsAdded = true
            if frozen!.capacity == bufferCapacity {
                frozen!.clear()
                spare = frozen
            }
            frozen = nil
        case .failed(let error):
            // The buffer stays frozen and readable; the shard stops (memory would otherwise grow without bound).
            failure = error
        }
    }

    static func write(_ buffer: KeyBuffer, lastSequence: UInt64, directory: String, shard: Int) -> WrittenRun {
        precondition(lastSequence > buffer.afterSequence && !buffer.isEmpty, "a run covers records after its buffer's start")
        var amendments: [(Int64, Int)] = []
        var firsts = [Int](repeating: -1, count: buffer.firstCount)
        var names: [(UInt64, Int64)] = []
        names.reserveCapacity(buffer.count * 2)
        for slot in 0..<buffer.count {
            let position = buffer.positions[slot]
            if buffer.isAmendment[slot] {
                amendments.append((position, slot))
                continue
            }
            firsts[Int(position - buffer.firstBegin)] = slot
            let entry = buffer.entries[slot]
            for kind in [KeyNameKind.key, .reference, .terminalReference] {
                let name = KeyBuffer.name(entry, kind)
                if name != .zero { names.append((kind.fingerprint(name), position)) }
            }
        }
        amendments.sort { $0.0 < $1.0 }
        names.sort { $0 < $1 }
        assert(firsts.allSatisfy { $0 >= 0 }, "every first version has its slot")
        precondition(amendments.count + buffer.firstCount == buffer.count, "every slot is a first or a newer version")
        let builder: KeyRunBuilder
        do throws(LedgerError) {
            builder = try KeyRunBuilder(
                directory: directory, shardIndex: shard, firstSequence: buffer.afterSequence + 1,
                lastSequence: lastSequence, firstBegin: buffer.firstBegin, firstCount: buffer.firstCount,
                amendmentCount: amendments.count, nameCount: names.count)
        } catch {
            return .failed(error)
        }
        do throws(LedgerError) {
            for slot in firsts { try builder.appendEntry(buffer.entries[slot], position: buffer.positions[slot]) }
            for (position, slot) in amendments { try builder.appendEntry(buffer.entries[slot], position: position) }
            for (fingerprint, position) in names { try builder.appendName(fingerprint, position: position) }
            let path = try builder.finish()
            let run = try KeyRun(path: path, shardIndex: shard)
            run.mayHoldTombstones = buffer.holdsTombstone
            return .run(run)
        } catch {
            builder.abandon()
            return .failed(error)
        }
    }

    // MARK: Lookups

    func clearDamage() { sawDamage = false }

    /// The first non-nil `body` over the buffers newest first: the filling one, the frozen one, then (read-only)
    /// the unwritten ones. No array is made: this runs for every key that misses the ring.
    private func firstInBuffers<Value>(_ body: (KeyBuffer) -> Value?) -> Value? {
        if let value = body(filling) { return value }
        if let frozen, let value = body(frozen) { return value }
        for buffer in unwritten.reversed() {
            if let value = body(buffer) { return value }
        }
        return nil
    }

    /// The position of the newest remembered request named `name` (as `kind`), or nil. Levels are searched
    /// newest first, and every position in a newer level is larger than every position in an older one. With
    /// `tombstonesOnly` the runs known to hold no tombstone are passed over: for a lookup whose answer is used only
    /// when it is a tombstone.
    /// Starts loading the filling buffer's slot for `name` (a lookup that misses the ring reads it first).
    func prefetch(_ name: IdempotencyKey) {
        filling.prefetch(name, kind: .key)
        prefetchFilters(KeyNameKind.key.fingerprint(name))
    }

    /// Starts loading the filter block of every run that a lookup of `fingerprint` probes.
    private func prefetchFilters(_ fingerprint: UInt64, tombstonesOnly: Bool = false) {
        probes.withUnsafeBufferPointer { probes in
            for probe in probes where !tombstonesOnly || probe.mayHoldTombstones { probe.filter.prefetch(fingerprint) }
        }
    }

    /// Starts loading the filling buffer's slots that taking in the entry with these names at `position` writes.
    func prefetchMove(
        key: IdempotencyKey, reference: IdempotencyKey, terminalReference: IdempotencyKey, position: Int64
    ) {
        filling.prefetchAdd(key: key, reference: reference, terminalReference: terminalReference, position: position)
    }

    func find(_ name: IdempotencyKey, kind: KeyNameKind, tombstonesOnly: Bool = false) -> Int64? {
        if let position = firstInBuffers({ $0.find(name, kind: kind) }) { return position }
        let fingerprint = kind.fingerprint(name)
        prefetchFilters(fingerprint, tombstonesOnly: tombstonesOnly)
        precondition(probes.count == runs.count, "a probe per run")
        for index in runs.indices.reversed() {
            // Most runs end here, on the probe alone; a run is touched only when its filter may hold the name.
            let passes = probes.withUnsafeBufferPointer { probes in
                (!tombstonesOnly || probes[index].mayHoldTombstones) && probes[index].filter.mayContain(fingerprint)
            }
            guard passes else { continue }
            let run = runs[index]
            switch run.positions(of: fingerprint) {
            case .absent: continue
            case .damaged:
                sawDamage = true
                return nil
            case .candidates(let positions):
                for position in positions {
                    guard let index = run.entryIndex(of: position), let entry = read(run, index, position) else {
                        sawDamage = true
                        return nil
                    }
                    if KeyBuffer.name(entry, kind) == name { return position }
                }
            }
        }
        return nil
    }

    /// The newest version of the entry at `position`, or nil when no level holds it (or its run is damaged).
    func entry(at position: Int64) -> IdempotencyEntry? {
        precondition(position >= 0, "a position of the ring")
        if let entry = firstInBuffers({ buffer in buffer.slot(of: position).map { buffer.entries[$0] } }) {
            return entry
        }
        for run in runs.reversed() {
            guard let index = run.entryIndex(of: position) else { continue }
            guard let entry = read(run, index, position) else {
                sawDamage = true
                return nil
            }
            assert(entry.key != .zero, "a run's entry has a name")
            return entry
        }
        return nil
    }

    private func read(_ run: KeyRun, _ index: Int, _ position: Int64) -> IdempotencyEntry? {
        if let cached = cachedEntry, cached.run == ObjectIdentifier(run), cached.index == index {
            return cached.entry
        }
        guard let entry = run.readEntry(index, position: position) else { return nil }
        cachedEntry = (ObjectIdentifier(run), index, entry)
        return entry
    }

    // MARK: Retention and snapshots

    /// Drops the oldest runs whose every entry is past retention at `nowMs` (a snapshot taken now starts replay
    /// no earlier, so no replayed record can need them). Their files go once that snapshot is durable.
    func expireRuns(nowMs: Int64, retentionMs: Int64) {
        while let oldest = runs.first, oldest.header.newestCreatedAtMs + retentionMs < nowMs,
            !mergingInputs.contains(ObjectIdentifier(oldest))
        {
            expired.append(oldest.path)
            runsFirstSequence = oldest.header.lastSequence + 1
            runs.removeFirst()
        }
        precondition(runsFirstSequence >= 1, "sequences start at 1")
    }

    /// The paths of expired runs, to delete after the snapshot that no longer lists them is durable.
    func takeExpiredPaths() -> [String] {
        defer { expired.removeAll() }
        return expired
    }

    /// Versions remembered outside the ring (first versions only: one per remembered request).
    var count: Int {
        runs.reduce(0) { $0 + $1.header.firstCount } + filling.firstCount + (frozen?.firstCount ?? 0)
            + unwritten.reduce(0) { $0 + $1.firstCount }
    }

    /// Restores the filling buffer from a snapshot (entries with their positions and kinds, oldest first).
    func restoreFilling(
        _ entry: IdempotencyEntry, position: Int64, isAmendment: Bool, into buffer: KeyBuffer? = nil
    ) {
        precondition(position >= 0, "a position of the ring")
        let target = buffer ?? filling
        if isAmendment { target.store(entry, position: position) } else { target.addFirst(entry, position: position) }
    }
}

/// A merge's inputs once the shard has let go of them. Their files were unlinked by the merge, so the last close
/// frees their blocks, and ext4 does that inside the close: 80–100 ms per run of a few hundred megabytes, measured
/// on the shard thread as a 360 ms stall of every authorization (benchmarks/RESULTS.md, 2026-12-04). The last
/// references go on a thread of their own instead.
final class RetiredRuns: @unchecked Sendable {
    private var runs: [KeyRun]

    init(_ runs: [KeyRun]) { self.runs = runs }

    func releaseInBackground(shard: Int) {
        let thread = Thread { [self] in
            // Named inside: called outside, it renamed the caller (the shard thread) "ledger-retire-N".
            setThreadName("ledger-retire-\(shard)")
            runs.removeAll()
        }
        thread.name = "ledger-retire-\(shard)"
        thread.start()
    }
}
