import Glibc
import ISO8583
import MallocCounter

// Codec benchmark: pack and unpack of the reference 0200 purchase (issue 2). Run by hand:
//   swift run -c release codec-bench [--iterations N] [--quick]
// Prints a markdown table (median of 7 rounds) to paste into benchmarks/RESULTS.md.

/// The reference 0200 purchase: fields 2,3,4,7,11,12,13,22,24,25,35,37,41,42,49.
let referenceFields: [(Int, String)] = [
    (2, "4761739001010010"), (3, "000000"), (4, "000000012345"), (7, "1125120000"), (11, "000123"),
    (12, "120000"), (13, "1125"), (22, "051"), (24, "001"), (25, "00"),
    (35, "4761739001010010=25121011234567890"), (37, "123456789012"), (41, "TERM0001"),
    (42, "MERCHANT0000001"), (49, "364"),
]

func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Keeps results alive so the optimizer cannot drop the measured work.
nonisolated(unsafe) var sink: UInt64 = 0

@inline(never)
func blackHole(_ value: UInt64) { sink &+= value }

struct Measurement {
    let nanosecondsPerOperation: Double
    let allocationsPerOperation: Double
}

/// `--only NAME` runs a single measurement (for instruction counting under valgrind, which is load-independent).
let onlyName: String? = {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--only"), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}()

/// Runs `body` `iterations` times per round for 7 rounds and keeps the median round.
func measure(_ name: String = "", iterations: Int, _ body: () -> UInt64) -> Measurement {
    if let onlyName, onlyName != name { return Measurement(nanosecondsPerOperation: 0, allocationsPerOperation: 0) }
    for _ in 0..<(iterations / 10) { blackHole(body()) }
    var rounds: [Measurement] = []
    for _ in 0..<7 {
        let allocationsBefore = malloc_counter_total()
        let start = nanoseconds()
        for _ in 0..<iterations { blackHole(body()) }
        let elapsed = nanoseconds() - start
        let allocations = malloc_counter_total() - allocationsBefore
        rounds.append(
            Measurement(
                nanosecondsPerOperation: Double(elapsed) / Double(iterations),
                allocationsPerOperation: Double(allocations) / Double(iterations)))
    }
    return rounds.sorted { $0.nanosecondsPerOperation < $1.nanosecondsPerOperation }[3]
}

func buildReference(_ dialect: Dialect) -> ISOMessage {
    var message = ISOMessage(dialect: dialect, mti: MTI(200)!)
    for (field, value) in referenceFields {
        do { try message.set(field, value) } catch { fatalError("reference field \(field): \(error)") }
    }
    return message
}

func benchmark(_ dialectName: String, iterations: Int) -> [String] {
    guard let dialect = BuiltinDialects.dialect(named: dialectName) else {
        return ["| \(dialectName) | (dialect not built in) | | |"]
    }
    let reference = buildReference(dialect)
    let frame = try! reference.encoded()
    var out = [UInt8]()
    out.reserveCapacity(512)

    let unpack = measure("unpack", iterations: iterations) {
        let message = try! dialect.decode(frame)
        return UInt64(message.length(35)!)
    }
    let unpackAndRead = measure("unpackAndRead", iterations: iterations) {
        let message = try! dialect.decode(frame)
        return UInt64(message.integer(4)!) &+ UInt64(message.integer(11)!) &+ UInt64(message.integer(3)!)
    }
    var reused = ISOMessage(dialect: dialect, mti: nil)
    let unpackInto = measure("unpackInto", iterations: iterations) {
        try! dialect.decode(frame, range: 0..<frame.count, into: &reused)
        return UInt64(reused.length(35)!)
    }
    let unpackIntoAndRead = measure("unpackIntoAndRead", iterations: iterations) {
        try! dialect.decode(frame, range: 0..<frame.count, into: &reused)
        return UInt64(reused.integer(4)!) &+ UInt64(reused.integer(11)!) &+ UInt64(reused.integer(3)!)
    }
    var builder = ISOMessage(dialect: dialect, mti: nil)
    let rebuildAndPack = measure("rebuildAndPack", iterations: iterations) {
        builder.removeAll(mti: MTI(200)!)
        for (field, value) in referenceFields { try! builder.set(field, value) }
        out.removeAll(keepingCapacity: true)
        try! builder.encode(into: &out)
        return UInt64(out.count)
    }
    let pack = measure("pack", iterations: iterations) {
        out.removeAll(keepingCapacity: true)
        try! reference.encode(into: &out)
        return UInt64(out.count)
    }
    let buildAndPack = measure("buildAndPack", iterations: iterations) {
        let message = buildReference(dialect)
        out.removeAll(keepingCapacity: true)
        try! message.encode(into: &out)
        return UInt64(out.count)
    }
    func row(_ name: String, _ value: Measurement) -> String {
        let nanoseconds = String(Int(value.nanosecondsPerOperation.rounded()))
        let allocations = String(Double(Int(value.allocationsPerOperation * 100)) / 100)
        return "| \(dialectName) | \(name) | \(nanoseconds) | \(allocations) |"
    }
    return [
        row("unpack (\(frame.count) bytes)", unpack),
        row("unpack + read 3 numeric fields", unpackAndRead),
        row("unpack into a reused message", unpackInto),
        row("unpack into a reused message + read 3 numeric fields", unpackIntoAndRead),
        row("pack (values already set)", pack),
        row("new message, set 15 fields + pack", buildAndPack),
        row("reused message, set 15 fields + pack", rebuildAndPack),
    ]
}

let arguments = CommandLine.arguments
var iterations = arguments.contains("--quick") ? 20_000 : 1_000_000
if let index = arguments.firstIndex(of: "--iterations"), index + 1 < arguments.count,
    let count = Int(arguments[index + 1])
{
    iterations = count
}
print("| dialect | operation | ns/message | heap allocations/message |")
print("|---|---|---|---|")
for name in ["iso87ascii", "iso87bcd"] {
    for line in benchmark(name, iterations: iterations) { print(line) }
}
