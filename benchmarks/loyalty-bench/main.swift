import Foundation
import Glibc
import Loyalty
import MallocCounter

// Loyalty rule evaluation benchmark (issue 6): nanoseconds and allocations per `Program.evaluate` with a
// realistic program (20 merchants, 5 groups, MCC rates, service codes, stepped store credit, 4 campaigns of which
// 3 are running during the purchase mix's hour). Run by hand:
//   swift run -c release --scratch-path .build-loyalty loyalty-bench [--iterations N]
// Prints a markdown table (median of 7 rounds) to paste into benchmarks/RESULTS.md.

/// 5 groups (4 chains of branches, 1 coalition), 20 merchants spread over them, 4 without a group, rates at every
/// level so that every precedence path is exercised by the purchase mix below. Campaigns: a weekday ×2 everywhere,
/// a restaurant (5812) afternoon bonus, a CHAIN-1 bonus, and a mall ×3 that is not running at the mix's time
/// (2025-11-24, a Monday, from 16:00 UTC).
func realisticProgramJSON() -> String {
    let groups = ["CHAIN-1", "CHAIN-2", "CHAIN-3", "CHAIN-4", "MALL"].map { name in
        #"{"id": "\#(name)", "kind": "\#(name == "MALL" ? "coalition" : "branches")"}"#
    }
    let merchants = (0..<20).map { index in
        let chain = index < 16 ? #""CHAIN-\#(index % 4 + 1)""# : ""
        let mall = index % 3 == 0 ? (chain.isEmpty ? #""MALL""# : #", "MALL""#) : ""
        return #"{"id": "MERCHANT\#(100 + index)", "groups": [\#(chain)\#(mall)]}"#
    }
    return #"""
        {"version": 12, "currency": 364,
         "groups": [\#(groups.joined(separator: ", "))],
         "merchants": [\#(merchants.joined(separator: ", "))],
         "earning": {"minimumPurchaseMinor": 10000, "pointsPerTransactionMax": 5000,
           "default": {"points": 1, "perAmountMinor": 10000},
           "byMerchantCategory": {"5411": {"points": 2, "perAmountMinor": 10000},
                                  "5812": {"points": 3, "perAmountMinor": 10000},
                                  "5541": {"points": 1, "perAmountMinor": 20000},
                                  "8021": {"pointsPerVisit": 20}},
           "byGroup": {"CHAIN-1": {"points": 2, "perAmountMinor": 10000},
                       "MALL": {"points": 4, "perAmountMinor": 10000}},
           "byMerchant": {"MERCHANT105": {"pointsPerVisit": 15}, "MERCHANT117": {"points": 5, "perAmountMinor": 10000}},
           "byServiceCode": {"1001": 50, "1002": 120}},
         "storeCredit": {
           "default": {"steps": [{"fromAmountMinor": 300000, "basisPoints": 1000},
                                 {"fromAmountMinor": 600000, "basisPoints": 1700}]},
           "byGroup": {"CHAIN-2": {"steps": [{"fromAmountMinor": 0, "basisPoints": 200},
                                             {"fromAmountMinor": 1000000, "basisPoints": 500}]}}},
         "campaigns": [
           {"id": "WEEKDAY-X2", "from": "2025-11-01T00:00:00Z", "until": "2025-12-01T00:00:00Z",
            "daysOfWeek": [1, 2, 3, 4, 5], "pointsMultiplierPercent": 200},
           {"id": "AFTERNOON-EAT", "from": "2025-11-01T00:00:00Z", "until": "2025-12-01T00:00:00Z",
            "hours": {"from": 12, "until": 18}, "scope": {"merchantCategories": ["5812"]}, "bonusPoints": 20},
           {"id": "CHAIN-1-BONUS", "from": "2025-11-01T00:00:00Z", "until": "2025-12-01T00:00:00Z",
            "scope": {"groups": ["CHAIN-1"]}, "bonusPoints": 50},
           {"id": "MALL-NOROOZ", "from": "2026-03-20T00:00:00Z", "until": "2026-04-02T00:00:00Z",
            "scope": {"groups": ["MALL"]}, "pointsMultiplierPercent": 300}]}
        """#
}

/// 64 purchases cycling through known and unknown merchants, categories, service codes and points payments.
func purchaseMix() -> [Transaction] {
    let categories: [UInt16] = [5411, 5812, 5541, 8021, 5999, 5311]
    let terminal = ShortIdentifier("TERM0001")!
    return (0..<64).map { index in
        let merchant = ShortIdentifier(index % 8 == 7 ? "UNKNOWN\(index)" : "MERCHANT\(100 + index % 20)")!
        return Transaction(
            amountMinor: Int64(5_000 + (index * 37_919) % 1_500_000), currencyCode: 364,
            merchantCategoryCode: categories[index % categories.count], merchant: merchant, terminal: terminal,
            timeMs: 1_764_000_000_000 + Int64(index) * 60_000, serviceCode: index % 11 == 0 ? 1001 : nil,
            paidWithPointsAmountMinor: index % 5 == 0 ? 2_000 : 0)
    }
}

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Keeps results alive so the optimizer cannot drop the measured work.
nonisolated(unsafe) var sink: Int64 = 0

@inline(never)
func blackHole(_ value: Int64) { sink &+= value }

let iterations: Int = {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--iterations"), index + 1 < arguments.count else { return 2_000_000 }
    return Int(arguments[index + 1]) ?? 2_000_000
}()

let program: Program
do {
    program = try Program(json: Array(realisticProgramJSON().utf8))
} catch {
    fatalError("benchmark program: \(error)")
}
let purchases = purchaseMix()
let member = Member(purchaseCount: 12, purchaseVolumeMinor: 1_200_000, firstPurchaseTimeMs: 1_700_000_000_000, lastPurchaseTimeMs: 1_763_000_000_000)

// Proof that the campaigns are exercised, on stderr so stdout stays the table.
let matched = purchases.filter {
    program.evaluate(transaction: $0, member: member).explanation.campaigns.matchedCount > 0
}
FileHandle.standardError.write(Data("campaigns matched \(matched.count) of \(purchases.count) purchases\n".utf8))

/// Median of 7 rounds of `iterations` evaluations, each round cycling through the purchase mix.
var rounds: [(nanoseconds: Double, allocations: Double)] = []
for round in 0..<8 {
    let allocationsBefore = malloc_counter_total()
    let start = nanoseconds()
    for index in 0..<iterations {
        let decision = program.evaluate(transaction: purchases[index & 63], member: member)
        blackHole(decision.postings.pointsEarned &+ decision.postings.creditEarnedMinor)
    }
    let elapsed = nanoseconds() - start
    let allocations = malloc_counter_total() - allocationsBefore
    if round > 0 {  // round 0 warms caches and branch predictors
        rounds.append((Double(elapsed) / Double(iterations), Double(allocations) / Double(iterations)))
    }
}
let median = rounds.sorted { $0.nanoseconds < $1.nanoseconds }[3]
print("| benchmark | ns/op | allocations/op |")
print("|---|---:|---:|")
let nanosecondsText = String(format: "%.1f", median.nanoseconds)
let allocationsText = String(format: "%.2f", median.allocations)
print(
    "| evaluate (20 merchants, 5 groups, 4 MCC rates, 4 campaigns, 64-purchase mix) | \(nanosecondsText) | \(allocationsText) |"
)
