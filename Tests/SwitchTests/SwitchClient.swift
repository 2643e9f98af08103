import Foundation
import Glibc
import ISO8583

/// A blocking TCP client to 127.0.0.1 with a deadline on every read: 2-byte big-endian length framing, and the
/// project's own codec for the messages. One per thread.
final class SwitchClient {
    let fd: Int32
    let dialect: Dialect
    /// How messages are delimited; a request's TPDU is `requestTPDU`, a response's is kept in `lastTPDU`.
    let framing: Framing
    var requestTPDU: [UInt8] = [0x60, 0x00, 0x01, 0x00, 0x02]
    private(set) var lastTPDU: [UInt8]?
    var received: [UInt8] = []
    var readIndex = 0
    private(set) var isClosed = false

    init(port: UInt16, dialect: Dialect = Wire.dialect, framing: Framing = Framing()) throws {
        self.dialect = dialect
        self.framing = framing
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SwitchTestError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SwitchTestError("connect to 127.0.0.1:\(port): errno \(code)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    /// Half-closes: the switch reads the end of input, and may still answer what it has read.
    func finishWriting() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Writes every byte (blocking, 10 s send timeout).
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw SwitchTestError("send: errno \(errno)")
            }
            offset += written
        }
    }

    /// Sends one message with its length header.
    func send(_ message: ISOMessage) throws {
        try write(frame(try message.encoded()))
    }

    /// A message with this client's length header and, when the framing has one, its TPDU (sent as is).
    func frame(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        framing.appendHeader(length: message.count + (framing.hasTPDU ? Framing.tpduByteCount : 0), to: &out)
        if framing.hasTPDU { out += requestTPDU }
        return out + message
    }

    /// The length a header at `readIndex` announces (the header is buffered).
    func headerLength() throws -> Int {
        let header = received[readIndex..<(readIndex + framing.lengthHeader.byteCount)]
        switch framing.lengthHeader {
        case .binary2:
            return Int(header.first!) << 8 | Int(header.last!)
        case .bcd2:
            return header.reduce(0) { $0 * 100 + Int($1 >> 4) * 10 + Int($1 & 0x0F) }
        case .ascii4:
            guard let value = Int(String(decoding: header, as: UTF8.self)) else {
                throw SwitchTestError("bad ascii4 header")
            }
            return value
        }
    }

    /// Reads until at least `count` unread bytes are buffered or the deadline passes.
    func fill(_ count: Int, deadline: Date) throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while received.count - readIndex < count {
            let remainingMs = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, remainingMs)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { throw SwitchTestError("timed out waiting for a response") }
            let got = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if got < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw SwitchTestError("recv: errno \(errno)")
            }
            guard got > 0 else { throw SwitchTestError("the switch closed the connection") }
            received.append(contentsOf: chunk[0..<got])
        }
    }

    /// The next message's bytes (length header removed).
    func receiveFrame(timeout: Double = 10) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        let headerCount = framing.lengthHeader.byteCount
        try fill(headerCount, deadline: deadline)
        let length = try headerLength()
        try fill(headerCount + length, deadline: deadline)
        var frame = Array(received[(readIndex + headerCount)..<(readIndex + headerCount + length)])
        readIndex += headerCount + length
        if framing.hasTPDU {
            lastTPDU = Array(frame.prefix(Framing.tpduByteCount))
            frame.removeFirst(min(Framing.tpduByteCount, frame.count))
        }
        if readIndex > 1 << 20 {
            received.removeFirst(readIndex)
            readIndex = 0
        }
        return frame
    }

    func receive(timeout: Double = 10) throws -> Reply {
        let bytes = try receiveFrame(timeout: timeout)
        return Reply(bytes: bytes, message: try dialect.decode(bytes))
    }

    /// Sends a request and waits for the next response (use only with one request in flight).
    func exchange(_ message: ISOMessage, timeout: Double = 10) throws -> Reply {
        try send(message)
        return try receive(timeout: timeout)
    }

    /// True when the peer closes (EOF or reset) within `timeout` seconds; bytes that arrive first are discarded.
    func closedByPeer(within timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            guard ready > 0 else { continue }
            let got = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN) { return true }
        }
        return false
    }
}

/// A response as received: the exact bytes and the decoded message.
struct Reply {
    let bytes: [UInt8]
    let message: ISOMessage

    var mti: String { message.mti.map { "\($0)" } ?? "-" }
    var code: String? { message.string(39) }
    func field(_ number: Int) -> String? { message.string(number) }
    /// Field 54 parsed: "amount type/currency" → signed amount.
    var amounts: [String: Int64] { AdditionalAmounts.parse(message.string(54) ?? "").values }
    var available: Int64? { amounts["02/999"] }
    var credited: Int64? { amounts["90/999"] }
    var debited: Int64? { amounts["91/999"] }
}

/// Field 54 as wire contract v1 lays it out: 20-character entries of account type (2), amount type (2), currency
/// (3), sign C/D (1), amount (12).
struct AdditionalAmounts {
    var values: [String: Int64] = [:]
    var entries: [String] = []
    /// Why the text breaks the layout, when it does.
    var problems: [String] = []

    static func parse(_ text: String) -> AdditionalAmounts {
        var result = AdditionalAmounts()
        let characters = Array(text)
        if characters.count % 20 != 0 { result.problems.append("length \(characters.count) is not a multiple of 20") }
        if characters.count > 120 { result.problems.append("more than 6 entries") }
        var start = 0
        while start + 20 <= characters.count {
            let entry = String(characters[start..<(start + 20)])
            result.entries.append(entry)
            let account = entry.prefix(2)
            let type = String(entry.dropFirst(2).prefix(2))
            let currency = String(entry.dropFirst(4).prefix(3))
            let sign = entry.dropFirst(7).first!
            let digits = String(entry.dropFirst(8))
            if !account.allSatisfy(\.isNumber) { result.problems.append("account type '\(account)' in \(entry)") }
            guard sign == "C" || sign == "D", digits.count == 12, digits.allSatisfy(\.isNumber),
                let amount = Int64(digits)
            else {
                result.problems.append("bad entry '\(entry)'")
                start += 20
                continue
            }
            result.values["\(type)/\(currency)"] = sign == "C" ? amount : -amount
            start += 20
        }
        return result
    }
}
