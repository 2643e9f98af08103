import Glibc
import HTTP
import Network

// A webhook receiver that answers every `POST /bench` with 200 at once, on our own HTTP/1.1 server: for measuring
// the notification client's delivery rate rather than a Python receiver's (benchmarks/notifications.sh).
//   webhook-sink [--listen 127.0.0.1:9790] [--loops 1]
// Stops on SIGINT or SIGTERM.

final class Acknowledge: HTTPHandler {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        responder.respond(.ok, contentType: nil, body: [])
    }
}

var listen = "127.0.0.1:9790"
var loops = 1
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let argument = arguments.popFirst() {
    switch argument {
    case "--listen": listen = arguments.popFirst() ?? listen
    case "--loops": loops = Int(arguments.popFirst() ?? "") ?? loops
    default:
        print("usage: webhook-sink [--listen HOST:PORT] [--loops N]")
        exit(2)
    }
}
guard let address = SocketAddress(listen) else {
    print("webhook-sink: bad --listen")
    exit(2)
}
// Blocked before the loop threads exist, so they inherit the mask and the main thread's sigwait takes the signal.
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGINT)
sigaddset(&signals, SIGTERM)
pthread_sigmask(SIG_BLOCK, &signals, nil)
let log = LogSink(descriptor: open("/dev/null", O_WRONLY))
let group = try EventLoopGroup(loopCount: loops, limits: NetworkLimits(), log: log)
let router = HTTPRouter()
router.add(.post, "/bench", Acknowledge())
let server = HTTPServer(router: router, limits: HTTPLimits(), loopCount: loops)
let port = try server.listen(on: group, address: address)
group.start()
print("webhook-sink listening on 127.0.0.1:\(port)")
fflush(nil)
var received: Int32 = 0
sigwait(&signals, &received)
group.stop()
