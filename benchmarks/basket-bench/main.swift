import Glibc
import ISO8583
import Ledger
import MallocCounter
import SwitchCore

// Basket benchmark (docs/basket.md): what reading field 48 costs a purchase without a basket, with a service code
// only, and with 3 and 12 basket lines, and what building the lines for the ledger request costs. Run by hand:
//   sh benchmarks/basket-parse.sh            (or: swift run -c release basket-bench [--iterations N])
// Prints a markdown table (median of 7 rounds) to paste into benchmarks/RESULTS.md.

/// The thread's CPU time, not the wall clock: the machine is shared, and CPU time is what a purchase costs.
func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Keeps results alive so the optimizer cannot drop the measured work.
nonisolated(unsafe) var sink: UInt64 = 0

@inline(never)
func blackHole(_ value: UInt64) { sink &+= value }

/// Runs `body` `iterations` times per round for 7 rounds; the median round's ns and allocations per operation.
func measure(iterations: Int, _ body: () -> UInt64) -> (nanoseconds: Double, allocations: Double) {
    for _ in 0..<(iterations / 10) { blackHole(body()) }
    var rounds: [(Double, Double)] = []
    for _ in 0..<7 {
        let allocationsBefore = malloc_counter_total()
        let start = nanoseconds()
        for _ in 0..<iterations { blackHole(body()) }
        let elapsed = nanoseconds() - start
        let allocations = malloc_counter_total() - allocationsBefore
        rounds.append((Double(elapsed) / Double(iterations), Double(allocations) / Double(iterations)))
    }
    return rounds.sorted { $0.0 < $1.0 }[3]
}

func entry(_ value: String) -> String {
    let length = value.utf8.count
    return "IT" + (length < 10 ? "0" : "") + String(length) + value
}

/// A 0200/00 purchase of 1,000,000 with field 48 = `field48` (none when nil).
func purchase(_ field48: String?) -> ISOMessage {
    let dialect = BuiltinDialects.dialect(named: "iso87ascii")!
    var message = ISOMessage(dialect: dialect, mti: MTI(200)!)
    let fields: [(Int, String)] = [
        (2, "6037000000000001"), (3, "000000"), (4, "000001000000"), (7, "1204120000"), (11, "000123"),
        (12, "120000"), (13, "1204"), (18, "5411"), (22, "021"), (25, "00"), (32, "12345678"),
        (37, "RRN000000123"), (41, "TERM0001"), (42, "MERCHANT0000001"), (49, "364"),
    ]
    do {
        for (field, value) in fields { try message.set(field, value) }
        if let field48 { try message.set(48, field48) }
    } catch {
        fatalError("benchmark request: \(error)")
    }
    return message
}

let arguments = CommandLine.arguments
var iterations = arguments.contains("--quick") ? 20_000 : 1_000_000
if let index = arguments.firstIndex(of: "--iterations"), index + 1 < arguments.count,
    let count = Int(arguments[index + 1])
{
    iterations = count
}
let three = entry("MILK-1L;DAIRY;2;90000") + entry("BREAD;BAKERY;1;25000") + entry("KOUROSH-OIL-1L;;3;300000")
let twelve = (1...12).map { entry("SKU-\($0)-ABCDEFGH;CATEGORY-\($0);\($0);\($0 * 10_000)") }.joined()
let cases: [(String, ISOMessage)] = [
    ("no field 48", purchase(nil)), ("field 48 = SC only", purchase("SC041001")),
    ("3 basket lines (\(three.utf8.count) bytes)", purchase(three)),
    ("12 basket lines (\(twelve.utf8.count) bytes)", purchase(twelve)),
]
print("| purchase | step | CPU ns/purchase | heap allocations/purchase |")
print("|---|---|---|---|")
for (name, request) in cases {
    precondition(BasketBenchmark.readField48(ofPurchase: request) >= 0, "\(name) is a valid purchase")
    let read = measure(iterations: iterations) {
        UInt64(bitPattern: Int64(BasketBenchmark.readField48(ofPurchase: request)))
    }
    let both = measure(iterations: iterations) {
        UInt64(BasketBenchmark.readField48(ofPurchase: request) + BasketBenchmark.lines(ofPurchase: request).count)
    }
    func row(_ step: String, _ value: (nanoseconds: Double, allocations: Double)) {
        let allocations = Double(Int(value.allocations * 100)) / 100
        print("| \(name) | \(step) | \(Int(value.nanoseconds.rounded())) | \(allocations) |")
    }
    row("read field 48 (checks, sum rule)", read)
    row("read + build the ledger's lines", both)
}
