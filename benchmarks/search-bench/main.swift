import Foundation
import Ledger

// The member search's index at scale (docs/segments.md): RAM per member and the time of one page per filter.
// `swift run -c release search-bench [MEMBERS]` (default 1,000,000). Members get random ids, tiers 0-3, 0-20
// purchases, volumes and last-purchase times over a year, one card each; the index is built directly (as the
// indexer's view load does), then each query is run `repeats` times and its median and worst are printed.

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func nowNs() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

struct Generator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
let yearMs: Int64 = 365 * 86_400_000
let endMs: Int64 = 1_780_000_000_000
var random = Generator(state: 16)
let before = residentBytes()
let index = MemberSearchIndex(membersMax: count, cardsMax: count)
var ids: [CardHash] = []
ids.reserveCapacity(1000)
let buildStart = nowNs()
for number in 0..<count {
    let id = CardHash(high: random.next(), low: random.next())
    if number % 1000 == 0 { ids.append(id) }
    let purchases = UInt32(random.next() % 21)
    let card = CardNumber("603799" + String(1_000_000_000 + number))!.masked
    var row = MemberSearchRow(id: id, firstCard: card, tier: UInt8(random.next() % 4), purchases: purchases)
    if purchases > 0 {
        row.volumeMinor = Int64(random.next() % 100_000_000)
        row.lastPurchaseTimeMs = endMs - Int64(random.next() % UInt64(yearMs))
        row.firstPurchaseTimeMs = row.lastPurchaseTimeMs - Int64(random.next() % UInt64(yearMs))
    }
    index.upsert(row)
    index.addCard(card, member: id)
}
let buildNs = nowNs() - buildStart
let after = residentBytes()
print("members \(index.memberCount), built in \(buildNs / 1_000_000) ms (\(buildNs / UInt64(count)) ns per member)")
print("index RSS \(String(format: "%.1f", Double(after - before) / 1_048_576)) MiB: \(String(format: "%.0f", Double(after - before) / Double(count))) bytes per member (row 56 B, slot map, bucket, suffix)")

func measure(_ name: String, _ filter: MemberSearchFilter, after cursor: CardHash? = nil, limit: Int = 50, repeats: Int = 21) {
    var times: [UInt64] = []
    var result = (rows: [MemberSearchRow](), next: CardHash?.none, scanned: 0)
    for _ in 0..<repeats {
        let start = nowNs()
        result = index.search(filter, after: cursor, limit: limit)
        times.append(nowNs() - start)
    }
    times.sort()
    let median = Double(times[times.count / 2]) / 1_000_000
    let worst = Double(times.last!) / 1_000_000
    print(
        "| \(name) | \(result.rows.count) | \(result.scanned) | \(String(format: "%.3f", median)) | \(String(format: "%.3f", worst)) |")
}

print("| query (limit 50) | rows | members looked at | median ms | worst ms |")
print("|---|---|---|---|---|")
measure("no filter, first page", MemberSearchFilter())
measure("no filter, page after a cursor", MemberSearchFilter(), after: ids[500])
var tier = MemberSearchFilter()
tier.tier = 2
measure("tier=2", tier)
var volume = MemberSearchFilter()
volume.minVolumeMinor = 99_990_000
measure("minVolumeMinor (1 in 10,000 match)", volume)
var none = MemberSearchFilter()
none.minVolumeMinor = Int64.max
measure("no match (a full pass)", none)
var recent = MemberSearchFilter()
recent.lastPurchaseAfterMs = endMs - 86_400_000
recent.tier = 3
measure("tier=3 & lastPurchaseAfter (last day)", recent)
var suffix = MemberSearchFilter()
suffix.cardSuffix = 1234
measure("cardSuffix=1234", suffix)
var members = MemberSearchFilter()
members.members = Array(ids.prefix(3))
measure("phone (3 members)", members)
var all = 0
var cursor: CardHash?
let pagingStart = nowNs()
repeat {
    let page = index.search(MemberSearchFilter(), after: cursor, limit: 500)
    all += page.rows.count
    cursor = page.next
} while cursor != nil
let pagingNs = nowNs() - pagingStart
print("paged through all \(all) members 500 at a time in \(pagingNs / 1_000_000) ms (\(pagingNs / UInt64(max(1, all / 500))) ns per page)")
