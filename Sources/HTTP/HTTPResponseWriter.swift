import Glibc

/// Writes response heads, bodies and chunks straight into an output byte array (the connection's, or an
/// answer's own while an earlier answer is still being produced).
enum HTTPResponseWriter {
    /// How the body of a response is delimited.
    enum Framing: Equatable {
        case length(Int)
        /// `Transfer-Encoding: chunked` (HTTP/1.1 clients).
        case chunked
        /// Until the connection closes (HTTP/1.0 clients, which do not read chunks).
        case untilClose
    }

    static func appendHead(
        _ status: HTTPStatus, contentType: String?, framing: Framing, keepAlive: Bool, version: HTTPVersion,
        date: [UInt8], headers: [(String, String)], to output: inout [UInt8]
    ) {
        precondition(framing != .untilClose || !keepAlive, "a body delimited by the close cannot keep the connection")
        precondition(framing != .chunked || version == .http11, "HTTP/1.0 clients do not read chunks")
        output.append(contentsOf: status.statusLine)
        if let contentType {
            append("Content-Type: ", to: &output)
            append(contentType, to: &output)
            append("\r\n", to: &output)
        }
        switch framing {
        case .length(let count):
            precondition(count >= 0, "a body length is not negative")
            append("Content-Length: ", to: &output)
            appendDecimal(count, to: &output)
            append("\r\n", to: &output)
        case .chunked: append("Transfer-Encoding: chunked\r\n", to: &output)
        case .untilClose: break
        }
        append("Date: ", to: &output)
        output.append(contentsOf: date)
        append("\r\n", to: &output)
        for (name, value) in headers {
            precondition(name.utf8.allSatisfy(HTTPBytes.isTokenCharacter), "a header name is a token")
            precondition(value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F }, "a header value has no control bytes")
            append(name, to: &output)
            append(": ", to: &output)
            append(value, to: &output)
            append("\r\n", to: &output)
        }
        if !keepAlive {
            append("Connection: close\r\n", to: &output)
        } else if version == .http10 {
            append("Connection: keep-alive\r\n", to: &output)
        }
        append("\r\n", to: &output)
    }

    /// One chunk: its size in hex, the bytes, CRLF. An empty chunk would end the body, so none is written.
    static func appendChunk(_ bytes: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendHex(bytes.count, to: &output)
        append("\r\n", to: &output)
        output.append(contentsOf: bytes)
        append("\r\n", to: &output)
    }

    static func appendLastChunk(to output: inout [UInt8]) {
        append("0\r\n\r\n", to: &output)
    }

    @inline(__always)
    static func append(_ text: String, to output: inout [UInt8]) {
        output.append(contentsOf: text.utf8)
    }

    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        precondition(value >= 0, "decimal of a non-negative number")
        appendDecimal(UInt64(value), to: &output)
    }

    /// Digits without building a string (up to 20 of them), most significant first.
    static func appendDecimal(_ value: UInt64, to output: inout [UInt8]) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        repeat {
            output.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        } while divisor > 0
    }

    static func appendHex(_ value: Int, to output: inout [UInt8]) {
        precondition(value > 0, "a chunk has bytes")
        let digits = Array("0123456789abcdef".utf8)
        var shift = (Int.bitWidth - value.leadingZeroBitCount + 3) / 4 * 4
        repeat {
            shift -= 4
            output.append(digits[(value >> shift) & 0xF])
        } while shift > 0
    }
}

/// The `Date` header's value (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), rebuilt at most once a second per
/// loop as Hummingbird does: formatting a date per response would cost more than the rest of the head.
struct HTTPDate {
    private var second = -1
    private(set) var bytes: [UInt8] = []

    static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The value for now (the coarse real-time clock: a second's resolution is all the header has).
    mutating func current() -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        if Int(now.tv_sec) != second { refresh(second: Int(now.tv_sec)) }
        return bytes
    }

    mutating func refresh(second: Int) {
        self.second = second
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let text =
            "\(Self.dayNames[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(Self.monthNames[Int(parts.tm_mon)]) "
            + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
        bytes = Array(text.utf8)
        precondition(bytes.count == 29, "an IMF-fixdate has 29 characters")
    }
}
