import Glibc
import ISO8583
import LoadGenerator
import Network

// A trivial ISO 8583 responder for measuring the load generator's own ceiling: every request is answered at once
// with its response MTI and 39=00, no ledger, no disk. Run by hand or by benchmarks/run.sh:
//   echo-responder [--listen 127.0.0.1:9583] [--loops 1] [--dialect iso87ascii] [--framing binary2|bcd2|ascii4] [--tpdu]
// Stops on SIGINT or SIGTERM.

var listen = "127.0.0.1:9583"
var loops = 1
var dialectName = BuiltinDialects.defaultName
var framing = Framing()
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let argument = arguments.popFirst() {
    switch argument {
    case "--listen": listen = arguments.popFirst() ?? listen
    case "--loops": loops = Int(arguments.popFirst() ?? "") ?? loops
    case "--dialect": dialectName = arguments.popFirst() ?? dialectName
    case "--framing": framing.lengthHeader = Framing.LengthHeader(rawValue: arguments.popFirst() ?? "") ?? .binary2
    case "--tpdu": framing.hasTPDU = true
    default:
        print("usage: echo-responder [--listen HOST:PORT] [--loops N] [--dialect NAME|FILE] [--framing NAME] [--tpdu]")
        exit(2)
    }
}
guard let address = SocketAddress(listen), let dialect = try? Dialect.named(dialectName) else {
    print("echo-responder: bad --listen or --dialect")
    exit(2)
}
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGTERM)
sigaddset(&signals, SIGINT)
pthread_sigmask(SIG_BLOCK, &signals, nil)
let log = LogSink(linesPerSecondMax: 20)
do {
    let group = try EventLoopGroup(loopCount: loops, limits: NetworkLimits(), log: log)
    let port = try group.listen(on: address) { [framing] _ in TrivialResponder(dialect: dialect, framing: framing) }
    group.start()
    print("echo-responder listening on \(address.host):\(port)")
    fflush(nil)  // stdout is read by benchmarks/run.sh from a file while this runs
    var received: Int32 = 0
    sigwait(&signals, &received)
    group.stop()
} catch {
    print("echo-responder: \(error)")
    exit(1)
}
