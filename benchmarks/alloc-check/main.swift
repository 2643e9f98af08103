import Glibc
import ISO8583
import LoadGenerator
import MallocCounter
import Network
import SwitchCore

// Heap allocations per request on the switch's request paths (issue 17 item 3), counted by interposing malloc
// (MallocCounter) in one process that runs the switch (embedded default program, durable, no admin API and no log
// consumers) and the load generator against it over 127.0.0.1, closed loop. The load generator's own allocations
// are measured the same way against the trivial responder and shown beside them. CI runs it on the release build
// with ceilings (.ci/run): a change that adds a malloc per request on a path fails there.
//
//   alloc-check [--seconds S] [--max KIND=N ...]     KIND: purchase, redeem, balance, reversal
//
// Prints one line per path: allocations per request with the switch, with the trivial responder, and their
// difference (the switch's share). Exit 1 when a path's count with the switch is above its --max.

var seconds: UInt64 = 2
var ceilings: [String: Double] = [:]
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let argument = arguments.popFirst() {
    switch argument {
    case "--seconds": seconds = UInt64(arguments.popFirst() ?? "") ?? 0
    case "--max":
        let pair = (arguments.popFirst() ?? "").split(separator: "=")
        guard pair.count == 2, let value = Double(pair[1]) else { seconds = 0; break }
        ceilings[String(pair[0])] = value
    default: seconds = 0
    }
}
guard (1...60).contains(seconds) else {
    print("usage: alloc-check [--seconds 1...60] [--max purchase|redeem|balance|reversal=N ...]")
    exit(2)
}

/// The paths: their mixes (purchase, redeem, balance, reversal, refund percentages). A reversal needs an approved
/// original, so that path runs half purchases (its count is the pair's average).
let paths: [(name: String, mix: [Int])] = [
    ("purchase", [100, 0, 0, 0, 0]), ("redeem", [0, 100, 0, 0, 0]), ("balance", [0, 0, 100, 0, 0]),
    ("reversal", [50, 0, 0, 50, 0]),
]
let dialect = try! Dialect.named(BuiltinDialects.defaultName)

/// Allocations per answered request over a closed-loop run of `seconds` against `port` (after a warm-up run whose
/// allocations are not counted: connections, tables and cards settle there).
func allocationsPerRequest(port: UInt16, mix: [Int], seconds: UInt64) -> (perRequest: Double, answered: UInt64) {
    var configuration = LoadConfiguration(target: SocketAddress("127.0.0.1:\(port)")!, dialect: dialect)
    configuration.connections = 4
    configuration.inFlightPerConnection = 32
    configuration.cardPool = CardPool(size: 1000)
    configuration.mix = try! TransactionMix(percentages: mix)
    configuration.progressDescriptor = nil
    configuration.durationNs = 1_000_000_000
    _ = try! LoadRunner(configuration: configuration).run()
    configuration.durationNs = seconds * 1_000_000_000
    configuration.seed = 2
    let runner = try! LoadRunner(configuration: configuration)
    let before = malloc_counter_total()
    let result = try! runner.run()
    let allocations = malloc_counter_total() - before
    let answered = result.statistics.answered
    guard answered > 0, result.statistics.errorCount == 0 else {
        print("alloc-check: the run had errors or no answers (\(answered) answered)")
        exit(1)
    }
    return (Double(allocations) / Double(answered), answered)
}

let log = LogSink(descriptor: open("/dev/null", O_WRONLY))
// The trivial responder: what the load generator and the event loop cost without the switch.
var baseline: [String: Double] = [:]
do {
    let group = try! EventLoopGroup(loopCount: 1, limits: NetworkLimits(), log: log)
    let port = try! group.listen(on: SocketAddress("127.0.0.1:0")!) { _ in
        TrivialResponder(dialect: dialect, framing: Framing())
    }
    group.start()
    for path in paths { baseline[path.name] = allocationsPerRequest(port: port, mix: path.mix, seconds: seconds).perRequest }
    group.stop()
}

var directoryTemplate = Array("/tmp/alloc-check.XXXXXX".utf8CString)
guard let made = mkdtemp(&directoryTemplate) else {
    print("alloc-check: cannot make a temporary directory")
    exit(1)
}
let directory = String(cString: made)
var configuration = SwitchConfiguration()
configuration.listeners = [ListenerConfiguration(address: SocketAddress("127.0.0.1:0")!)]
configuration.dataDirectory = directory + "/data"
configuration.admin = nil
configuration.history = nil
configuration.search = nil
configuration.sales = nil
let server = try! SwitchServer(configuration: configuration, log: log)
try! server.start()
var failed = false
print("path       allocations/request: switch + loadgen | trivial responder + loadgen | switch's share | answered")
for path in paths {
    let (perRequest, answered) = allocationsPerRequest(port: server.boundPorts[0], mix: path.mix, seconds: seconds)
    let base = baseline[path.name] ?? 0
    var line = "\(path.name.padding(toLength: 10, withPad: " ", startingAt: 0)) "
    line += "\(rounded(perRequest)) | \(rounded(base)) | \(rounded(perRequest - base)) | \(answered)"
    if let ceiling = ceilings[path.name], perRequest > ceiling {
        line += "   ABOVE the ceiling \(ceiling)"
        failed = true
    }
    print(line)
}
server.shutdown()
_ = system("rm -rf '\(directory)'")
exit(failed ? 1 : 0)

func rounded(_ value: Double) -> String {
    let hundredths = (value * 100).rounded()
    let whole = Int(hundredths) / 100
    let fraction = abs(Int(hundredths)) % 100
    return "\(value < 0 && whole == 0 ? "-" : "")\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
}
