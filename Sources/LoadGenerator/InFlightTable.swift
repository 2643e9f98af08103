/// One request waiting for its answer, and what a later reversal or refund needs to name it.
struct InFlightRequest {
    /// 0 = free slot (STAN 0 is never used).
    var stan: UInt32 = 0
    var kind = RequestKind.purchase
    /// Counted in the results (sent after warm-up).
    var measured = false
    var intendedNs: UInt64 = 0
    var sentNs: UInt64 = 0
    var cardNumber: Int64 = 0
    var amountMinor: Int64 = 0
    var transmission: Int64 = 0
    var processingCode: Int64 = 0
}

/// The requests in flight on one connection, found by STAN in O(1): the table has at least twice as many slots
/// as requests may be in flight, a request lives at `stan & mask`, and a new STAN skips slots still taken (a slow
/// answer keeps its slot while later STANs move on). STANs run 1...999,999 and wrap.
struct InFlightTable {
    static let stanMax: UInt32 = 999_999
    var slots: [InFlightRequest]
    let mask: Int
    let limit: Int
    private(set) var count = 0
    private(set) var lastStan: UInt32

    init(limit: Int, firstStan: UInt32) {
        var capacity = 2
        while capacity < limit * 2 { capacity <<= 1 }
        slots = [InFlightRequest](repeating: InFlightRequest(), count: capacity)
        mask = capacity - 1
        self.limit = limit
        lastStan = (firstStan == 0 ? 1 : firstStan) - 1
    }

    var isFull: Bool { count >= limit }
    var freeCount: Int { limit - count }

    /// Takes the next free STAN and its slot; the caller fills the slot. At most half the slots are taken,
    /// so the search ends within `capacity / 2 + 1` steps.
    mutating func claim() -> (stan: UInt32, slot: Int) {
        precondition(!isFull, "in-flight table full")
        var stan = lastStan
        for _ in 0...slots.count {
            stan = stan >= InFlightTable.stanMax ? 1 : stan + 1
            if slots[Int(stan) & mask].stan == 0 { break }
        }
        let slot = Int(stan) & mask
        precondition(slots[slot].stan == 0, "no free in-flight slot")
        lastStan = stan
        slots[slot].stan = stan
        count += 1
        return (stan, slot)
    }

    /// The slot of an in-flight request with this STAN, if any.
    @inline(__always)
    func find(stan: UInt32) -> Int? {
        guard stan != 0 && stan <= InFlightTable.stanMax else { return nil }
        let slot = Int(stan) & mask
        return slots[slot].stan == stan ? slot : nil
    }

    mutating func release(_ slot: Int) {
        precondition(slots[slot].stan != 0, "releasing a free slot")
        slots[slot].stan = 0
        count -= 1
    }
}

/// Approved originals that a later reversal or refund may name: a ring, newest on top; the oldest is overwritten
/// when it is full.
struct ApprovedOriginals {
    static let capacity = 1024
    var entries = [InFlightRequest](repeating: InFlightRequest(), count: ApprovedOriginals.capacity)
    var newest = ApprovedOriginals.capacity - 1
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func push(_ original: InFlightRequest) {
        newest = (newest + 1) % ApprovedOriginals.capacity
        entries[newest] = original
        count = min(count + 1, ApprovedOriginals.capacity)
    }

    /// Takes the newest original (each one is reversed or refunded at most once).
    mutating func popNewest() -> InFlightRequest? {
        guard count > 0 else { return nil }
        let original = entries[newest]
        newest = (newest + ApprovedOriginals.capacity - 1) % ApprovedOriginals.capacity
        count -= 1
        return original
    }
}
