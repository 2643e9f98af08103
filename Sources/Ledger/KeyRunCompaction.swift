#if canImport(Glibc)
    import Glibc
#endif

/// Merges adjacent key runs into one, off the shard thread, so that a lookup of a new key checks a few filters
/// (about three runs per size level) however many runs were written. Size-tiered: `fanIn` adjacent runs of one
/// level (entries ≈ buffer × fanIn^level) become one of the next level; a merged run never spans more than
/// `spanMaxMs` of entry times, so a run expires at most that long after its oldest key would have.
///
/// A merge reads its inputs sequentially (entries in 1 MiB chunks, name pages one by one, every checksum
/// checked; runs of either version, written in the current one), writes the merged run (newer versions of
/// positions inside it folded into their entries), and only then deletes the inputs: recovery prefers a run
/// that covers others, so a crash at any point loses nothing.
enum KeyRunCompaction {
    static let fanIn = 4

    static func level(_ run: KeyRun, bufferCapacity: Int) -> Int {
        var level = 0
        var size = max(run.header.entryCount / max(bufferCapacity, 1), 1)
        while size >= fanIn {
            size /= fanIn
            level += 1
        }
        precondition(level >= 0 && level < 64, "a run's level")
        return level
    }

    /// The oldest `fanIn` adjacent runs of one level, ending at `through` at most, that no snapshot boundary
    /// (`boundaries`: the sequences through which the durable snapshot and every snapshot begun since rely on runs)
    /// falls between, and whose entries span at most `spanMaxMs`; nil when there is none.
    ///
    /// Never across a boundary: recovery keeps the runs its snapshot covers and deletes the runs after it (the
    /// replay writes them again), so a merged run that held both would be deleted with keys the replay does not
    /// bring back. Runs all after it are as disposable merged as they are apart. Why merge those at all: a new
    /// request's key is looked for in every run (a filter probe each), and between snapshots (2M records by
    /// default) the runs of one buffer each piled up, ~30 of them, the largest user-space cost of the shard at
    /// saturation.
    static func pick(
        _ runs: [KeyRun], bufferCapacity: Int, boundaries: [UInt64], through: UInt64 = .max, spanMaxMs: Int64
    ) -> Range<Int>? {
        guard runs.count >= fanIn else { return nil }
        for start in 0...(runs.count - fanIn) {
            let window = runs[start..<(start + fanIn)]
            let first = level(window.first!, bufferCapacity: bufferCapacity)
            let firstSequence = window.first!.header.firstSequence
            let lastSequence = window.last!.header.lastSequence
            guard window.allSatisfy({ level($0, bufferCapacity: bufferCapacity) == first }),
                lastSequence <= through, boundaries.allSatisfy({ lastSequence <= $0 || firstSequence > $0 }),
                window.last!.header.newestCreatedAtMs - window.first!.header.oldestCreatedAtMs <= spanMaxMs
            else { continue }
            precondition(start >= 0 && start + fanIn <= runs.count, "the picked runs are adjacent runs of the list")
            return start..<(start + fanIn)
        }
        return nil
    }

    /// Writes the merge of `runs` (adjacent, oldest first) and deletes them; returns the merged run.
    static func merge(_ runs: [KeyRun], directory: String, shard: Int) throws(LedgerError) -> KeyRun {
        precondition(runs.count >= 2, "a merge needs two runs")
        let withFirsts = runs.filter { $0.header.firstCount > 0 }
        let firstBegin = withFirsts.first?.header.firstBegin ?? 0
        var expected = firstBegin
        for run in withFirsts {
            guard run.header.firstBegin == expected else {
                throw .damagedKeyRun(file: run.path, reason: "first versions do not follow the run before")
            }
            expected += Int64(run.header.firstCount)
        }
        let firstEnd = expected
        precondition(firstEnd >= firstBegin, "first versions cover a range of positions")
        // Newer versions: the newest run's wins (a later run's version is always the later one).
        var newest: [Int64: (run: Int, index: Int)] = [:]
        for (runIndex, run) in runs.enumerated() {
            for (offset, position) in run.amendedPositions.enumerated() {
                newest[position] = (runIndex, run.header.firstCount + offset)
            }
        }
        let outside = newest.keys.filter { $0 < firstBegin }.sorted()
        let builder = try KeyRunBuilder(
            directory: directory, shardIndex: shard, firstSequence: runs.first!.header.firstSequence,
            lastSequence: runs.last!.header.lastSequence, firstBegin: firstBegin,
            firstCount: Int(firstEnd - firstBegin), amendmentCount: outside.count,
            nameCount: runs.reduce(0) { $0 + $1.header.nameCount })
        do throws(LedgerError) {
            try copyFirsts(withFirsts, newest: newest, runs: runs, into: builder)
            for position in outside {
                let (run, index) = newest[position]!
                try builder.appendEntry(try entry(runs[run], index, position), position: position)
            }
            try mergeNames(runs, into: builder)
            let path = try builder.finish()
            for run in runs { try FileIO.remove(run.path) }
            try FileIO.syncDirectory(directory)
            let run = try KeyRun(path: path, shardIndex: shard)
            run.mayHoldTombstones = runs.contains { $0.mayHoldTombstones }
            precondition(
                run.header.firstSequence == runs.first!.header.firstSequence
                    && run.header.lastSequence == runs.last!.header.lastSequence, "a merge covers its inputs' range")
            precondition(
                run.header.entryCount == Int(firstEnd - firstBegin) + outside.count, "a merge holds every position")
            return run
        } catch {
            builder.abandon()
            throw error
        }
    }

    private static func entry(_ run: KeyRun, _ index: Int, _ position: Int64) throws(LedgerError) -> IdempotencyEntry {
        guard let entry = run.readEntry(index, position: position) else {
            throw .damagedKeyRun(file: run.path, reason: "entry \(index) fails its checksum")
        }
        return entry
    }

    /// First versions in position order, each replaced by its newest version when a later run holds one.
    private static func copyFirsts(
        _ inputs: [KeyRun], newest: [Int64: (run: Int, index: Int)], runs: [KeyRun], into builder: KeyRunBuilder
    ) throws(LedgerError) {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: KeyRunBuilder.bufferBytes, alignment: 16)
        defer { chunk.deallocate() }
        precondition(runs.count >= inputs.count, "the inputs are among the runs")
        for run in inputs {
            try run.forEachEntry(upTo: run.header.firstCount, chunk: chunk) {
                (_, position, entry) throws(LedgerError) in
                if let (newer, newerIndex) = newest[position] {
                    try builder.appendEntry(try Self.entry(runs[newer], newerIndex, position), position: position)
                } else {
                    try builder.appendEntry(entry, position: position)
                }
            }
        }
    }

    /// A k-way merge of the inputs' sorted name pages (k = `fanIn`: a linear scan of the heads is enough).
    private static func mergeNames(_ runs: [KeyRun], into builder: KeyRunBuilder) throws(LedgerError) {
        var pages = [Int](repeating: 0, count: runs.count)
        // One page's pairs per input, each array reused page after page: merges now run between snapshots too,
        // and a new array per page (grown pair by pair) was ~0.1 allocation per request of the switch.
        var heads: [[(UInt64, Int64)]] = runs.map { _ in
            var page: [(UInt64, Int64)] = []
            page.reserveCapacity(KeyRunHeader.namesPerPage)
            return page
        }
        var cursors = [Int](repeating: 0, count: runs.count)
        func refill(_ input: Int) throws(LedgerError) {
            while cursors[input] >= heads[input].count && pages[input] < runs[input].header.pageCount {
                var page: [(UInt64, Int64)] = []
                swap(&page, &heads[input])
                page.removeAll(keepingCapacity: true)
                guard runs[input].visitNamePage(pages[input], { page.append(($0, $1)) }) != nil else {
                    throw .damagedKeyRun(file: runs[input].path, reason: "name page \(pages[input]) fails its checksum")
                }
                heads[input] = page
                cursors[input] = 0
                pages[input] += 1
            }
        }
        for input in runs.indices { try refill(input) }
        while true {
            var best: Int?
            for input in runs.indices where cursors[input] < heads[input].count {
                if let current = best, heads[current][cursors[current]] <= heads[input][cursors[input]] { continue }
                best = input
            }
            guard let input = best else { return }
            let (fingerprint, position) = heads[input][cursors[input]]
            try builder.appendName(fingerprint, position: position)
            cursors[input] += 1
            try refill(input)
        }
    }
}
