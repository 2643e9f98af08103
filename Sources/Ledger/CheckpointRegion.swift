import Foundation
import Synchronization
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// Copy-on-write of one table's bytes while a checkpoint is being written (why copy-on-write: `Checkpoint`).
///
/// The bytes `[0, frozenBytes)` of the table as they were when the checkpoint began are cut in chunks of
/// `chunkBytes`, each with a mark: untouched (the table still holds the checkpoint's bytes), saved (the shard
/// copied it into the copy budget before its first write), taken (the checkpoint thread copied it from the table)
/// or lost (the budget ran out: the checkpoint is abandoned). The shard moves a chunk out of untouched before it
/// writes it; the checkpoint thread copies an untouched chunk and then claims it with a compare-exchange,
/// dropping its copy when the shard got there first. So the shard never waits for the checkpoint thread, and the
/// checkpoint thread never keeps bytes the shard wrote after the checkpoint began (the seqlock idea: read, then
/// check that nobody wrote).
final class CheckpointRegion: @unchecked Sendable {
    /// Small, because the shard pays for each chunk it saves and its writes are scattered (a 184-byte member, a
    /// 32-byte lot): 4 KiB chunks made one earn save ~12 KiB and a full batch stall for a second at 1M members
    /// under load (benchmarks/RESULTS.md); at 512 bytes a save is a few cache lines, and the marks and slot
    /// numbers cost 5 bytes per 512 of state.
    static let chunkBytes = 512

    enum Mark: UInt8 {
        case untouched = 0
        case saved = 1
        case taken = 2
        case lost = 3
    }

    let base: UnsafeMutableRawPointer
    let frozenBytes: Int
    let chunkCount: Int
    let budget: CheckpointCopyBudget
    /// Zeroed memory (calloc) is `untouched` everywhere, so starting a checkpoint costs no loop over the chunks.
    private let marks: UnsafeMutablePointer<Atomic<UInt8>>
    /// The budget slot of each saved chunk; written before its mark (release), read after it (acquire).
    private let slots: UnsafeMutablePointer<Int32>
    /// Checkpoint thread only: the chunk it holds and its copy of it (or the budget's).
    private var heldChunk = -1
    private var held: UnsafeRawPointer?
    private let staging: UnsafeMutableRawPointer

    init(base: UnsafeMutableRawPointer, frozenBytes: Int, budget: CheckpointCopyBudget) {
        precondition(frozenBytes >= 0, "a region covers a non-negative length")
        self.base = base
        self.frozenBytes = frozenBytes
        self.budget = budget
        chunkCount = (frozenBytes + Self.chunkBytes - 1) / Self.chunkBytes
        precondition(
            chunkCount * Self.chunkBytes >= frozenBytes && chunkCount * Self.chunkBytes < frozenBytes + Self.chunkBytes,
            "the chunks cover the region exactly")
        guard let markMemory = calloc(max(chunkCount, 1), 1), let slotMemory = malloc(max(chunkCount, 1) * 4),
            let stagingMemory = malloc(Self.chunkBytes)
        else { preconditionFailure("checkpoint region allocation failed") }
        marks = markMemory.bindMemory(to: Atomic<UInt8>.self, capacity: max(chunkCount, 1))
        slots = slotMemory.bindMemory(to: Int32.self, capacity: max(chunkCount, 1))
        staging = stagingMemory
    }

    deinit {
        free(marks)
        free(slots)
        free(staging)
    }

    private func chunkLength(_ chunk: Int) -> Int {
        precondition(chunk >= 0 && chunk < chunkCount, "a chunk of the region")
        let length = min(Self.chunkBytes, frozenBytes - chunk * Self.chunkBytes)
        precondition(length > 0, "every chunk holds a byte of the region")
        return length
    }

    // MARK: Shard thread

    /// Before the shard writes `count` bytes at `offset`: saves each untouched chunk they fall in.
    func willWrite(offset: Int, count: Int) {
        precondition(offset >= 0 && count > 0, "a write covers at least a byte")
        let first = offset / Self.chunkBytes
        let last = min((offset + count - 1) / Self.chunkBytes, chunkCount - 1)
        guard first <= last else { return }
        for chunk in first...last where marks[chunk].load(ordering: .acquiring) == Mark.untouched.rawValue {
            save(chunk)
        }
    }

    private func save(_ chunk: Int) {
        precondition(chunk >= 0 && chunk < chunkCount, "a chunk of the region")
        let startNs = ShardStatistics.now()
        defer { budget.addSave(ShardStatistics.now() - startNs) }
        guard let slot = budget.take() else {
            // Out of budget: the chunk is lost before it is written, so the checkpoint thread cannot use it.
            _ = marks[chunk].compareExchange(
                expected: Mark.untouched.rawValue, desired: Mark.lost.rawValue, ordering: .acquiringAndReleasing)
            return
        }
        precondition(slot >= 0 && Int(slot) < budget.slotCount, "a budget slot")
        budget.pointer(slot).copyMemory(from: base + chunk * Self.chunkBytes, byteCount: chunkLength(chunk))
        slots[chunk] = slot
        let (exchanged, _) = marks[chunk].compareExchange(
            expected: Mark.untouched.rawValue, desired: Mark.saved.rawValue, ordering: .acquiringAndReleasing)
        if !exchanged { budget.giveBack(slot) }
    }

    // MARK: Checkpoint thread

    /// Copies `count` bytes at `offset` as they were when the checkpoint began. Offsets never go back to an
    /// earlier chunk (each chunk is claimed once); false when a chunk was lost.
    func copy(offset: Int, count: Int, to destination: UnsafeMutableRawPointer) -> Bool {
        precondition(offset >= 0 && count >= 0 && offset + count <= frozenBytes, "checkpoint read outside its region")
        var done = 0
        while done < count {
            let chunk = (offset + done) / Self.chunkBytes
            guard let bytes = hold(chunk) else { return false }
            let within = (offset + done) - chunk * Self.chunkBytes
            let length = min(count - done, chunkLength(chunk) - within)
            precondition(length > 0, "each step of a copy moves a byte")
            (destination + done).copyMemory(from: bytes + within, byteCount: length)
            done += length
        }
        return true
    }

    private func hold(_ chunk: Int) -> UnsafeRawPointer? {
        precondition(chunk >= 0 && chunk < chunkCount, "a chunk of the region")
        if chunk == heldChunk { return held }
        precondition(chunk > heldChunk, "checkpoint chunks are read in order")
        heldChunk = chunk
        held = claim(chunk)
        return held
    }

    /// The chunk's bytes as of the checkpoint's start: the shard's saved copy, or a copy made here and claimed.
    private func claim(_ chunk: Int) -> UnsafeRawPointer? {
        precondition(chunk == heldChunk, "the chunk claimed is the one held")
        var mark = marks[chunk].load(ordering: .acquiring)
        if mark == Mark.untouched.rawValue {
            // The shard may be writing the chunk while it is copied; the exchange below tells whether it did.
            staging.copyMemory(from: base + chunk * Self.chunkBytes, byteCount: chunkLength(chunk))
            let (exchanged, original) = marks[chunk].compareExchange(
                expected: Mark.untouched.rawValue, desired: Mark.taken.rawValue, ordering: .acquiringAndReleasing)
            if exchanged { return UnsafeRawPointer(staging) }
            mark = original
        }
        guard mark == Mark.saved.rawValue else {
            precondition(mark == Mark.lost.rawValue, "a chunk the thread did not take is saved or lost")
            return nil
        }
        return UnsafeRawPointer(budget.pointer(slots[chunk]))
    }

    /// After the checkpoint is written: the chunks it never read are claimed too, so the shard stops saving them.
    func claimRest() {
        for chunk in 0..<chunkCount {
            _ = marks[chunk].compareExchange(
                expected: Mark.untouched.rawValue, desired: Mark.taken.rawValue, ordering: .acquiringAndReleasing)
        }
    }
}

/// The memory a checkpoint may use for chunks the shard saved (`LedgerConfiguration.checkpointCopyBytesMax`):
/// reserved address space (no RAM until touched), handed out by the shard one chunk at a time and taken back
/// whole when the checkpoint ends; its pages stay for the next checkpoint (a page fault per slot would cost the
/// shard as much as the copy), so RAM is at most the most one checkpoint saved, never beyond the limit. When it runs out the checkpoint is abandoned
/// (the log keeps everything; the next checkpoint tries again): the shard never waits and memory never grows.
final class CheckpointCopyBudget: @unchecked Sendable {
    let bytesMax: Int
    let slotCount: Int
    private let memory: UnsafeMutableRawPointer
    /// Shard thread only: slots handed out since the checkpoint began, and whether one was refused.
    private(set) var used = 0
    private(set) var isExhausted = false
    /// Shard thread only: nanoseconds spent saving chunks, and chunks saved, since `takeCost`.
    private var stallNanoseconds: UInt64 = 0
    private(set) var savesPending = 0
    /// The most slots one checkpoint used (for the benchmark and the logs).
    private(set) var usedMax = 0
    /// Bytes from the budget's start made resident ahead of the shard's saves (`populate`), and whether a thread
    /// is doing that now.
    private let populatedBytes = Atomic<Int>(0)
    private let populating = Atomic<Bool>(false)
    /// How far past the most one checkpoint used the next one's pages are made resident. Why ahead at all: a
    /// save that is the first touch of its page faults it in on the shard thread, and on the test machine (whose
    /// host takes free guest memory back) that made 13 % of the commit groups that saved chunks spend over 1 ms
    /// on a checkpoint at 1M members, and none once the pages were resident (benchmarks/RESULTS.md, "Checkpoint
    /// saves into resident pages").
    static let populateAheadBytes = 64 << 20

    init(bytesMax: Int) {
        precondition(bytesMax >= CheckpointRegion.chunkBytes, "a checkpoint budget holds at least one chunk")
        self.bytesMax = bytesMax
        slotCount = bytesMax / CheckpointRegion.chunkBytes
        precondition(slotCount >= 1 && slotCount < Int(Int32.max), "a budget's slots are numbered by Int32")
        let mapped = mmap(
            nil, slotCount * CheckpointRegion.chunkBytes, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { preconditionFailure("mmap of the checkpoint budget failed") }
        memory = mapped
    }

    deinit { munmap(memory, slotCount * CheckpointRegion.chunkBytes) }

    /// Shard thread, as a checkpoint starts: makes the budget's pages resident up to `populateAheadBytes` past the
    /// most slots a checkpoint used, on a thread of its own that keeps ahead of the shard's saves, which
    /// take slots from the start. Nothing when they are resident already or a thread is still at it. RAM is then
    /// at most that much past the largest checkpoint's saves, never past `bytesMax`.
    /// `savableBytes` (the checkpoint's state, chunk by chunk) caps it: a small ledger's checkpoint never makes more
    /// resident than its state (a test suite opening hundreds of small ledgers populated 64 MiB each).
    func populateAhead(savableBytes: Int) {
        let target = Self.populateTarget(
            usedBytes: usedMax * CheckpointRegion.chunkBytes, savableBytes: savableBytes,
            budgetBytes: slotCount * CheckpointRegion.chunkBytes)
        guard target > populatedBytes.load(ordering: .relaxed),
            populating.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let thread = Thread { [self] in
            // At the shard's priority: the faults it takes are the shard's own work moved aside (at nice 10 the
            // shard outran it during the first checkpoint and faulted the pages itself).
            setThreadName("checkpoint-ram")
            populate(upTo: target)
            populating.store(false, ordering: .releasing)
        }
        thread.name = "checkpoint-ram"
        thread.start()
    }

    /// Where the resident pages should reach for a checkpoint: `populateAheadBytes` (or the checkpoint's whole
    /// state, when smaller) past the most a checkpoint used, never past the budget; whole pages.
    static func populateTarget(usedBytes: Int, savableBytes: Int, budgetBytes: Int) -> Int {
        precondition(usedBytes >= 0 && savableBytes >= 0 && budgetBytes >= usedBytes, "sizes within the budget")
        let target = pageRounded(min(budgetBytes, usedBytes + min(populateAheadBytes, savableBytes)))
        precondition(target <= pageRounded(budgetBytes), "ahead within the budget")
        return target
    }

    /// A memory page (what MADV_POPULATE_WRITE works in).
    static let pageBytes = 4096

    /// `bytes` rounded up to whole pages (the mapping's last page is whole too).
    static func pageRounded(_ bytes: Int) -> Int {
        precondition(bytes >= 0 && bytes <= Int.max - (pageBytes - 1), "a byte count")
        return (bytes + pageBytes - 1) / pageBytes * pageBytes
    }

    /// Makes the pages below `target` (whole pages) resident, 1 MiB at a time from where the last call stopped
    /// (MADV_POPULATE_WRITE leaves bytes the shard is writing meanwhile as they are).
    func populate(upTo target: Int) {
        precondition(
            target >= 0 && target % Self.pageBytes == 0
                && target <= Self.pageRounded(slotCount * CheckpointRegion.chunkBytes),
            "whole pages of the budget")
        let piece = 1 << 20
        var done = populatedBytes.load(ordering: .relaxed)
        while done < target {
            let count = min(piece, target - done)
            guard MemoryCalls.populateWrite(memory + done, count: count) else { return }
            done += count
            populatedBytes.store(done, ordering: .relaxed)
        }
        precondition(done >= target, "populated through the target")
    }

    /// Bytes made resident ahead so far.
    var populatedByteCount: Int { populatedBytes.load(ordering: .relaxed) }

    func pointer(_ slot: Int32) -> UnsafeMutableRawPointer {
        precondition(slot >= 0 && Int(slot) < slotCount, "a slot of the budget")
        return memory + Int(slot) * CheckpointRegion.chunkBytes
    }

    func take() -> Int32? {
        guard used < slotCount else {
            isExhausted = true
            return nil
        }
        used += 1
        usedMax = max(usedMax, used)
        precondition(used <= slotCount && usedMax <= slotCount, "slots handed out stay within the budget")
        return Int32(used - 1)
    }

    /// The slot just taken was not needed (the checkpoint thread claimed the chunk first).
    func giveBack(_ slot: Int32) {
        precondition(Int(slot) == used - 1, "only the last slot goes back")
        used -= 1
    }

    /// A chunk save (or the attempt, when the budget ran out) took `nanoseconds`.
    func addSave(_ nanoseconds: UInt64) {
        stallNanoseconds &+= nanoseconds
        savesPending += 1
    }

    /// The time spent saving chunks, and the chunks saved, since the last call.
    func takeCost() -> (nanoseconds: UInt64, saves: Int) {
        defer {
            stallNanoseconds = 0
            savesPending = 0
        }
        return (stallNanoseconds, savesPending)
    }

    /// Shard thread, once the checkpoint thread is done with the budget: the next checkpoint starts empty.
    func reset() {
        used = 0
        isExhausted = false
    }
}
