import Foundation
import Hummingbird
import NIOPosix
import Synchronization

/// `hummingbird-peer PORT [THREADS] [TOKEN]`: the admin routes benchmarks/admin-http.sh measures, answered as the
/// switch answers them, for a comparison with wrk (never a dependency of the product):
/// - `GET /v1/health`: `{"status":"ok"}`;
/// - `GET /v1/members/{id}`: the member as the switch shows it (one member, `mbr_peer`, with one card);
/// - `POST /v1/members/{id}/adjustments {"asset", "amount", "reason"}`: 201 the movement with the balance after,
///   the body checked as strictly as the switch checks it, an `Idempotency-Key` answer remembered in memory.
/// Both member routes need `Authorization: Bearer TOKEN`. State is in memory only: nothing is written to disk, where
/// the switch answers a change only after its log and audit journal are synced (compare with `durable: false`).
/// Without THREADS, Hummingbird's default event loop group; with it, a group of that many loops.
let arguments = Array(CommandLine.arguments.dropFirst())
let port = arguments.first.flatMap { Int($0) } ?? 8090
let token = arguments.count > 2 ? arguments[2] : "peer"
let memberId = "mbr_peer"

/// The member's balances and the remembered idempotent answers (bounded like the switch's store).
struct PeerLedger {
    static let keysMax = 10_000
    var points: Int64 = 1_000_000
    var credit: Int64 = 0
    var answers: [String: String] = [:]
}
let ledger = Mutex(PeerLedger())

func json(_ status: HTTPResponse.Status, _ text: String, type: String = "application/json") -> Response {
    Response(status: status, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}

func problem(_ status: HTTPResponse.Status, _ detail: String) -> Response {
    json(
        status, #"{"type":"about:blank","title":"\#(status.reasonPhrase)","status":\#(status.code),"detail":"\#(detail)"}"#,
        type: "application/problem+json")
}

func authorized(_ request: Request) -> Bool {
    request.headers[.authorization] == "Bearer \(token)"
}

func memberJSON(points: Int64, credit: Int64) -> String {
    #"{"id":"\#(memberId)","tier":0,"balances":{"points":\#(points),"credit":\#(credit)},"#
        + #""available":{"points":\#(points),"credit":\#(credit)},"cards":[{"id":"crd_peer","#
        + #""masked":"603799******7893","status":"active","kind":"loyalty","memberId":"\#(memberId)"}],"#
        + #""profile":{},"#
        + #""stats":{"purchases":0,"volumeMinor":0}}"#
}

let router = Router()
router.get("/v1/health") { _, _ -> Response in json(.ok, #"{"status":"ok"}"#) }
router.get("/v1/members/:id") { request, context -> Response in
    guard authorized(request) else { return problem(.unauthorized, "send Authorization: Bearer TOKEN") }
    guard context.parameters.get("id") == memberId else { return problem(.notFound, "no member") }
    let (points, credit) = ledger.withLock { ($0.points, $0.credit) }
    return json(.ok, memberJSON(points: points, credit: credit))
}
router.post("/v1/members/:id/adjustments") { request, context -> Response in
    guard authorized(request) else { return problem(.unauthorized, "send Authorization: Bearer TOKEN") }
    guard context.parameters.get("id") == memberId else { return problem(.notFound, "no member") }
    let bytes = try await request.body.collect(upTo: 1 << 20)
    guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any],
        Set(object.keys).isSubset(of: ["asset", "amount", "reason"]),
        let asset = object["asset"] as? String, asset == "points" || asset == "credit",
        let amount = (object["amount"] as? NSNumber)?.int64Value, amount != 0,
        let reason = object["reason"] as? String, ["goodwill", "correction", "migration", "fraud"].contains(reason)
    else { return problem(.unprocessableContent, "$: asset, amount and reason") }
    let key = request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value
    let answer: String? = ledger.withLock { state in
        if let key, let remembered = state.answers[key] { return remembered }
        let after = (asset == "points" ? state.points : state.credit) + amount
        guard after >= 0 else { return nil }
        if asset == "points" { state.points = after } else { state.credit = after }
        let text = #"{"memberId":"\#(memberId)","kind":"adjustment","asset":"\#(asset)","amount":\#(amount),"#
            + #""balanceAfter":\#(after),"reason":"\#(reason)"}"#
        if let key, state.answers.count < PeerLedger.keysMax { state.answers[key] = text }
        return text
    }
    guard let answer else { return problem(.conflict, "$.amount: would make the balance negative") }
    return json(.created, answer)
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
