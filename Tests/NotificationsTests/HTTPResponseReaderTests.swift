import Testing

@testable import Notifications

/// The client's reading of an answer: framing, bounds and malformed heads, whole and in pieces.
struct HTTPResponseReaderTests {
    /// Feeds `text` in pieces of `piece` bytes; the outcome after the last piece (or the first that is not
    /// `.needMore`).
    static func read(_ text: String, piece: Int, bytesMax: Int = 4096, close: Bool = false) -> HTTPResponseReader.Outcome {
        var reader = HTTPResponseReader(bytesMax: bytesMax)
        let bytes = Array(text.utf8)
        var start = 0
        var outcome = HTTPResponseReader.Outcome.needMore
        while start < bytes.count {
            let end = min(start + piece, bytes.count)
            outcome = bytes[start..<end].withUnsafeBytes { reader.consume($0) }
            if outcome != .needMore { return outcome }
            start = end
        }
        return close ? reader.endOfInput() : outcome
    }

    @Test("Content-Length, chunked, empty 204 and close-delimited answers are whole at their end, fed whole or byte by byte")
    func framings() {
        let cases: [(String, Bool, HTTPResponseReader.Outcome)] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, .complete(status: 200, reusable: true)),
            (
                "HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nTrailer: y\r\n\r\n",
                false, .complete(status: 202, reusable: true)
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\nA\r\n0123456789\r\n0\r\n\r\n", false,
                .complete(status: 200, reusable: true)
            ),
            ("HTTP/1.1 204 No Content\r\n\r\n", false, .complete(status: 204, reusable: true)),
            ("HTTP/1.0 200 OK\r\n\r\nbody until the end", true, .complete(status: 200, reusable: false)),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, .complete(status: 200, reusable: false)),
            ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 No\r\nContent-Length: 0\r\n\r\n", false, .complete(status: 500, reusable: true)),
        ]
        for (text, close, expected) in cases {
            for piece in [text.utf8.count, 1, 7] {
                #expect(Self.read(text, piece: piece, close: close) == expected, "\(text.debugDescription) in \(piece)s")
            }
        }
    }

    @Test("An answer longer than bytesMax is cut, whatever its framing or its pieces")
    func bounded() {
        let body = String(repeating: "x", count: 5000)
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body,
            "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Pad: 1\r\n", count: 600),
            "HTTP/1.0 200 OK\r\n\r\n" + body,
        ] {
            for piece in [1, 1000, 10_000] {
                guard case .failed(let reason) = Self.read(text, piece: piece) else {
                    Issue.record("not cut in pieces of \(piece)")
                    continue
                }
                #expect(reason.contains("responseBytesMax"))
            }
        }
    }

    @Test("Malformed heads, bad chunks, a switch of protocols and a close before the end are failures")
    func malformed() {
        let cases = [
            ("HTTP/2 200 OK\r\n\r\n", false), ("HTTP/1.1 2000 OK\r\n\r\n", false), ("garbage\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", false),
            ("HTTP/1.1 101 Switching Protocols\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true), ("", true), ("HTTP/1.1 200 O", true),
        ]
        for (text, close) in cases {
            let outcome = Self.read(text, piece: 3, close: close)
            guard case .failed = outcome else {
                Issue.record("\(text.debugDescription): \(outcome)")
                continue
            }
        }
    }
}
