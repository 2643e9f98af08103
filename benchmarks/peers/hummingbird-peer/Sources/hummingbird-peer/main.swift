import Hummingbird
import NIOPosix

/// `hummingbird-peer PORT [THREADS]`: answers GET /v1/health with the switch's body, {"status":"ok"}, as
/// application/json. Without THREADS, Hummingbird's default event loop group (one loop per core); with it, a group
/// of that many loops (to match the switch's `loops`). Keep-alive and everything else are Hummingbird's defaults.
let arguments = CommandLine.arguments.dropFirst()
let port = Int(arguments.first ?? "8090") ?? 8090
let router = Router()
router.get("/v1/health") { _, _ -> Response in
    Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
}
let configuration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: port), serverName: nil)
if let threads = arguments.dropFirst().first.flatMap({ Int($0) }) {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let application = Application(router: router, configuration: configuration, eventLoopGroupProvider: .shared(group))
    try await application.runService()
} else {
    let application = Application(router: router, configuration: configuration)
    try await application.runService()
}
