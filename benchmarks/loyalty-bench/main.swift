import Foundation
import Glibc
import Loyalty
import MallocCounter

// Loyalty rule evaluation benchmark (issue 6): nanoseconds and allocations per `Program.evaluate` with a
// realistic program (20 merchants, 5 groups, MCC rates, service codes, stepped store credit, 4 campaigns of which
// 3 are running during the purchase mix's hour), then the same program with 3 tiers, 5 personalised offers, event
// bonuses and a daily cap, evaluated for 16 members with different histories. With `--persian` the same programs
// say `"calendar": "persian", "utcOffset": "+03:30"` (their times and the members' birthdays rewritten as the
// same instants and days in Jalali Tehran time), to measure the calendar's cost on the evaluator. Run by hand:
//   swift run -c release --scratch-path .build-loyalty loyalty-bench [--iterations N] [--persian]
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

/// The sections that make the program "full": 3 tiers by yearly volume, 5 offers (frequent small spenders,
/// infrequent big spenders, lapsed members, a bonus for regulars, a return offer for new members), every event
/// bonus, a daily cap, redemption and expiry.
func fullProgramJSON() -> String {
    let window = #""from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z""#
    let sections = #"""
        , "tiers": {"windowDays": 365, "by": "volume", "levels": [{"id": "BRONZE", "from": 0},
           {"id": "SILVER", "from": 5000000, "pointsMultiplierPercent": 150, "creditBasisPointsBonus": 100},
           {"id": "GOLD", "from": 20000000, "pointsMultiplierPercent": 200, "creditBasisPointsBonus": 300}]},
         "offers": [
           {"id": "FREQUENT-SMALL", \#(window),
            "eligibility": {"purchasesAtLeast": 3, "averageTicketMaxMinor": 100000, "averageIntervalDaysMax": 14},
            "trigger": {"purchaseAtLeastMinor": 200000}, "reward": {"creditBasisPoints": 2000}, "usesPerMemberMax": 2},
           {"id": "COME-BACK", \#(window),
            "eligibility": {"purchasesAtLeast": 2, "averageTicketMinMinor": 300000, "averageIntervalDaysMin": 30},
            "trigger": {"returnWithinDays": 20}, "reward": {"creditBasisPoints": 2000}, "usesPerMemberMax": 5},
           {"id": "LAPSED", \#(window), "eligibility": {"purchasesAtLeast": 1, "daysSinceLastPurchaseMin": 90},
            "trigger": {"purchaseAtLeastMinor": 0}, "reward": {"bonusPoints": 200}},
           {"id": "REGULAR", \#(window), "eligibility": {"purchasesAtLeast": 10},
            "trigger": {"purchaseAtLeastMinor": 500000}, "reward": {"bonusPoints": 100}, "usesPerMemberMax": 255},
           {"id": "NEW-RETURN", \#(window), "eligibility": {"purchasesAtLeast": 0},
            "trigger": {"returnWithinDays": 7}, "reward": {"bonusPoints": 50}, "usesPerMemberMax": 1}],
         "events": {"enrolmentPoints": 100, "firstPurchasePoints": 50, "birthdayPoints": 500, "birthdayWindowDays": 7,
                    "referrerPoints": 300, "referredFirstPurchasePoints": 200},
         "redemption": {"pointValueMinor": 10, "minimumBalancePoints": 1000, "maximumSharePercent": 50,
                        "creditBeforePoints": true, "partialApproval": true},
         "expiry": {"pointsLifeDays": 365, "creditLifeDays": 180}}
        """#
    let base = realisticProgramJSON()
    let withCap = base.replacingOccurrences(
        of: #""pointsPerTransactionMax": 5000,"#,
        with: #""pointsPerTransactionMax": 5000, "pointsPerMemberPerDayMax": 20000,"#)
    return String(withCap.dropLast(1)) + sections  // drop the closing brace of the base program
}

let persian = CommandLine.arguments.contains("--persian")

/// The Persian calendar in Tehran, for rewriting the benchmark's times and birthdays under `--persian`.
let tehranCalendar: Calendar = {
    var calendar = Calendar(identifier: .persian)
    calendar.timeZone = TimeZone(secondsFromGMT: 12_600)!
    return calendar
}()

/// `json` in the Persian calendar at +03:30: the calendar keys added after the currency and every
/// `YYYY-MM-DDTHH:MM:SSZ` time rewritten as the same instant in Jalali Tehran time.
func persianJSON(_ json: String) -> String {
    let formatter = ISO8601DateFormatter()
    var pieces = json.components(separatedBy: "\"")
    for index in pieces.indices {
        guard pieces[index].count == 20, pieces[index].hasSuffix("Z"), let date = formatter.date(from: pieces[index])
        else { continue }
        let parts = tehranCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let two = { (value: Int?) in String(format: "%02d", value!) }
        pieces[index] =
            "\(parts.year!)-\(two(parts.month))-\(two(parts.day))T\(two(parts.hour)):\(two(parts.minute)):"
            + two(parts.second)
    }
    return pieces.joined(separator: "\"").replacingOccurrences(
        of: #""currency": 364,"#, with: #""currency": 364, "calendar": "persian", "utcOffset": "+03:30","#)
}

/// 16 members: new ones, referred ones, frequent small spenders, infrequent big spenders, gold members, members
/// with a birthday in the mix's week; each history is built by evaluating its purchases with the program.
func membersWithHistory(_ program: Program) -> [Member] {
    let dayMs: Int64 = 86_400_000
    let mixStart: Int64 = 1_764_000_000_000
    let merchant = ShortIdentifier("MERCHANT101")!
    let terminal = ShortIdentifier("TERM0001")!
    return (0..<16).map { index in
        // 26 November 2025, in the mix's week; under --persian the same day in Jalali (5 Azar 1404).
        let (birthMonth, birthDay): (UInt8, UInt8) = persian ? (9, 5) : (11, 26)
        var member = Member(
            birthMonth: index % 4 == 1 ? birthMonth : 0, birthDay: index % 4 == 1 ? birthDay : 0,
            isReferred: index % 5 == 2)
        let purchaseCount = index % 4 == 0 ? 0 : 2 + index * 3
        let intervalDays = Int64(index % 2 == 0 ? 9 : 40)
        let ticketMinor = Int64(index % 2 == 0 ? 50_000 : 1_000_000 + index * 200_000)
        for purchase in 0..<purchaseCount {
            let timeMs = mixStart - Int64(purchaseCount - purchase) * intervalDays * dayMs
            let transaction = Transaction(
                amountMinor: ticketMinor, currencyCode: 364, merchantCategoryCode: 5411, merchant: merchant,
                terminal: terminal, timeMs: timeMs)
            member = program.evaluate(transaction: transaction, member: member).memberAfter
        }
        return member
    }
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

/// `--cpu-time`: the thread's CPU time instead of the wall clock, so time spent descheduled on a machine shared
/// with other builds is not counted (caches and branch predictors still suffer from them).
let clock = CommandLine.arguments.contains("--cpu-time") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(clock, &time)
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
let fullProgram: Program
do {
    let realistic = persian ? persianJSON(realisticProgramJSON()) : realisticProgramJSON()
    let full = persian ? persianJSON(fullProgramJSON()) : fullProgramJSON()
    program = try Program(json: Array(realistic.utf8))
    fullProgram = try Program(json: Array(full.utf8))
} catch {
    fatalError("benchmark program: \(error)")
}
let purchases = purchaseMix()
let member = Member(
    purchaseCount: 12, purchaseVolumeMinor: 1_200_000, firstPurchaseTimeMs: 1_700_000_000_000,
    lastPurchaseTimeMs: 1_763_000_000_000)
let members = membersWithHistory(fullProgram)

// Proof that the rules are exercised, on stderr so stdout stays the table.
let matched = purchases.filter {
    program.evaluate(transaction: $0, member: member).explanation.campaigns.matchedCount > 0
}
var tiers = [0, 0, 0]
var offersApplied = 0
var offersGranted = 0
var eventsPaid = 0
for memberIndex in 0..<16 {
    tiers[fullProgram.tier(of: members[memberIndex], atTimeMs: 1_764_000_000_000)] += 1
    for purchase in purchases {
        let explanation = fullProgram.evaluate(transaction: purchase, member: members[memberIndex]).explanation
        if explanation.offerApplied >= 0 { offersApplied += 1 }
        if explanation.offerGranted >= 0 { offersGranted += 1 }
        if explanation.eventPoints > 0 { eventsPaid += 1 }
    }
}
FileHandle.standardError.write(
    Data(
        """
        calendar \(persian ? "persian, +03:30" : "gregorian, UTC"); \
        campaigns matched \(matched.count) of \(purchases.count) purchases
        full program, 16 members × 64 purchases: members by tier \(tiers), offers applied \(offersApplied), \
        granted \(offersGranted), event bonuses \(eventsPaid)

        """.utf8))

/// Median of 7 rounds of `iterations` evaluations (after a warm-up round), each cycling through the purchase mix
/// and, for the full program, through the 16 members (member changes every 64 purchases).
/// `evaluate` returns what it computed, kept alive by `blackHole`.
func measure(_ evaluate: (Int) -> Int64) -> (nanoseconds: Double, allocations: Double) {
    var rounds: [(nanoseconds: Double, allocations: Double)] = []
    for round in 0..<8 {
        let allocationsBefore = malloc_counter_total()
        let start = nanoseconds()
        for index in 0..<iterations {
            blackHole(evaluate(index))
        }
        let elapsed = nanoseconds() - start
        let allocations = malloc_counter_total() - allocationsBefore
        if round > 0 {  // round 0 warms caches and branch predictors
            rounds.append((Double(elapsed) / Double(iterations), Double(allocations) / Double(iterations)))
        }
    }
    return rounds.sorted { $0.nanoseconds < $1.nanoseconds }[3]
}

/// What a decision earned, as the one number the benchmark keeps alive.
func earned(_ decision: Decision) -> Int64 { decision.postings.pointsEarned &+ decision.postings.creditEarnedMinor }

let campaignsOnly = measure { earned(program.evaluate(transaction: purchases[$0 & 63], member: member)) }
let full = measure { earned(fullProgram.evaluate(transaction: purchases[$0 & 63], member: members[($0 >> 6) & 15])) }
// The calendar's per-purchase question on its own: which year's birthday window holds this instant's local day
// (the one calendar lookup the evaluator makes), over days spread across ten years.
let calendarInUse = fullProgram.calendar
let birthdayQuestion = measure { index in
    let timeMs = 1_600_000_000_000 + Int64(index & 4095) * 77_000_000
    let year = calendarInUse.birthdayYear(holding: calendarInUse.localDay(timeMs), month: 9, day: 5, windowDays: 7)
    return Int64(year ?? 0)
}
print("| benchmark | ns/op | allocations/op |")
print("|---|---:|---:|")
for (name, result) in [
    ("evaluate (20 merchants, 5 groups, 4 MCC rates, 4 campaigns, 64-purchase mix)", campaignsOnly),
    ("evaluate, full program (+ 3 tiers, 5 offers, events, daily cap; 16 members with history)", full),
    (
        "birthday window year of an instant (ClubCalendar.birthdayYear, \(persian ? "persian" : "gregorian"))",
        birthdayQuestion
    ),
] {
    let nanosecondsText = String(format: "%.1f", result.nanoseconds)
    let allocationsText = String(format: "%.2f", result.allocations)
    print("| \(name) | \(nanosecondsText) | \(allocationsText) |")
}
