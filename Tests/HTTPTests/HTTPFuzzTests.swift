import HTTP
import TestSupport
import Testing

/// Hostile and oddly cut bytes, as the ISO 8583 decoder is tested: the same stream whole, byte by byte and in
/// random pieces gives the same answers; 100,000 mutated requests never crash the connection, and each ends in
/// well-formed answers with a close where the protocol demands one.
@Suite("HTTP fuzzing")
struct HTTPFuzzTests {
    static let mutatedInputs = 100_000
    /// Statuses the server may give to anything a client sends to the test routes.
    static let possibleStatuses: Set<Int> = [200, 400, 404, 405, 408, 411, 413, 414, 417, 431, 501, 505]
    /// Statuses after which the connection closes.
    static let closingStatuses: Set<Int> = [400, 408, 411, 413, 414, 417, 431, 501, 505]

    static let limits: HTTPLimits = {
        var limits = HTTPLimits()
        limits.headerBytesMax = 2048
        limits.targetBytesMax = 512
        limits.headerCountMax = 12
        limits.bodyBytesMax = 1024
        limits.requestsInFlightPerConnectionMax = 4
        return limits
    }()

    /// One valid request: a method, a path the routes know or not, header fields, and a body for POST.
    static func request(using random: inout SplitMix64) -> String {
        let method = ["GET", "GET", "HEAD", "POST", "DELETE"][random.below(5)]
        let path = [
            "/echo/\(random.below(1000))", "/items/a/b", "/nowhere", "/stream", "/echo/x?q=\(random.below(9))",
        ][
            random.below(5)]
        var text = "\(method) \(path) HTTP/1.1\r\nHost: fuzz\r\n"
        for index in 0..<random.below(4) {
            let value = (0..<random.below(20)).map { _ in Character(Unicode.Scalar(UInt8(0x21 + random.below(94)))) }
            text += "X-Field-\(index): \(String(value))\r\n"
        }
        if method == "POST" {
            let body = String(repeating: "b", count: random.below(200))
            text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        } else {
            text += "\r\n"
        }
        return (random.below(8) == 0 ? "\r\n" : "") + text
    }

    /// Output with each `Date` value blanked: the only part of an answer that depends on the wall clock.
    static func normalized(_ output: [UInt8]) -> String {
        var lines = String(decoding: output, as: UTF8.self).components(separatedBy: "\r\n")
        for index in lines.indices where lines[index].hasPrefix("Date: ") { lines[index] = "Date: -" }
        return lines.joined(separator: "\r\n")
    }

    static func run(_ bytes: [UInt8], pieces: [Int]?, server: HTTPServer? = nil) -> HTTPHarness {
        let harness = HTTPHarness(limits: limits)
        harness.send(bytes, pieces: pieces)
        harness.endInput()
        return harness
    }

    @Test("the same pipelined stream whole, byte by byte and in random pieces gives byte-identical answers")
    func piecesGiveSameAnswers() {
        for seed in UInt64(1)...40 {
            var random = SplitMix64(seed: seed)
            let count = 1 + random.below(12)
            var stream = (0..<count).map { _ in Self.request(using: &random) }.joined()
            if seed % 4 == 0 { stream += "GET /echo/1 HTTP/1.1\r\nHost: a\r\nBad Field: x\r\n\r\n" }
            let bytes = Array(stream.utf8)
            let whole = Self.run(bytes, pieces: nil)
            let expected = Self.normalized(whole.transport.output)
            #expect(whole.responses.count == count + (seed % 4 == 0 ? 1 : 0), "seed \(seed)")
            #expect(
                Self.normalized(Self.run(bytes, pieces: Array(repeating: 1, count: bytes.count)).transport.output)
                    == expected, "seed \(seed) byte by byte")
            for round in 0..<3 {
                let pieces = randomPieces(bytes.count, pieceMax: 1 + random.below(200), using: &random)
                #expect(
                    Self.normalized(Self.run(bytes, pieces: pieces).transport.output) == expected,
                    "seed \(seed) round \(round)")
            }
        }
    }

    static func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        let special: [UInt8] = [0x0D, 0x0A, 0x00, 0x20, 0x09, 0x3A, 0x7F, 0xFF, 0x2C, 0x30, 0x39]
        switch random.below(8) {
        case 0 where !bytes.isEmpty:
            for _ in 0...random.below(3) { bytes[random.below(bytes.count)] ^= 1 << UInt8(random.below(8)) }
        case 1: bytes.insert(special[random.below(special.count)], at: random.below(bytes.count + 1))
        case 2 where !bytes.isEmpty: bytes.remove(at: random.below(bytes.count))
        case 3: bytes.removeLast(random.below(bytes.count + 1))
        case 4 where !bytes.isEmpty:
            let start = random.below(bytes.count)
            let end = min(bytes.count, start + 1 + random.below(64))
            bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count + 1))
        case 5:
            let fields = [
                "Content-Length: 99999999\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n",
                "Expect: 100-continue\r\n", "Host: b\r\n", "Connection: close\r\n", " folded\r\n", "X:\u{1}\r\n",
            ]
            let field = Array(fields[random.below(fields.count)].utf8)
            let lineStarts = bytes.indices.filter { $0 > 0 && bytes[$0 - 1] == 0x0A }
            bytes.insert(contentsOf: field, at: lineStarts.isEmpty ? 0 : lineStarts[random.below(lineStarts.count)])
        case 6 where !bytes.isEmpty:
            let start = random.below(bytes.count)
            for index in start..<min(bytes.count, start + 1 + random.below(8)) {
                bytes[index] = special[random.below(special.count)]
            }
        default:
            bytes += (0..<(1 + random.below(16))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
    }

    /// What must hold after any input: the output is whole answers only, each with a possible status; a
    /// closing status is the last answer and says Connection: close; the connection is closed at the end.
    static func check(_ harness: HTTPHarness, seed: UInt64) -> String? {
        let (responses, leftover) = ParsedResponse.parseAll(
            harness.transport.output, closed: harness.transport.isClosed)
        if leftover { return "unparseable output \(harness.outputText.prefix(300))" }
        for (index, response) in responses.enumerated() {
            if !possibleStatuses.contains(response.status) { return "status \(response.status)" }
            if closingStatuses.contains(response.status) {
                if index != responses.count - 1 { return "answers after a closing \(response.status)" }
                if response.header("connection") != "close" { return "\(response.status) without Connection: close" }
            }
        }
        return harness.transport.isClosed ? nil : "still open after the end of input and every deadline"
    }

    @Test("100,000 mutated requests in random pieces: no crash, only whole answers, closed when it must be")
    func mutatedRequests() {
        var random = SplitMix64(seed: 0x4854_5450)
        let bases = (0..<64).map { _ in
            Array((0..<(1 + random.below(3))).map { _ in Self.request(using: &random) }.joined().utf8)
        }
        var failures: [String] = []
        let clock = VirtualClock()
        let server = HTTPHarness.server(limits: Self.limits, clock: clock)
        for input in 0..<Self.mutatedInputs where failures.count < 5 {
            let seed = random.next()
            var local = SplitMix64(seed: seed)
            var bytes = bases[local.below(bases.count)]
            for _ in 0...local.below(3) { Self.mutate(&bytes, using: &local) }
            let harness = HTTPHarness(server: server, clock: clock)
            harness.send(
                bytes, pieces: randomPieces(max(bytes.count, 1), pieceMax: 1 + local.below(300), using: &local))
            if input % 2 == 0 {
                harness.endInput()
            } else {
                harness.advance(milliseconds: Self.limits.bodyReadTimeoutMs + 1)
                harness.advance(milliseconds: Self.limits.idleTimeoutMs + 1)
            }
            if let problem = Self.check(harness, seed: seed) {
                failures.append("input \(input) seed \(seed): \(problem)")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
