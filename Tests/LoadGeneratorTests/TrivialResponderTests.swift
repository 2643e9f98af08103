import Foundation
import Glibc
import ISO8583
import Testing

@testable import LoadGenerator

/// The responder the load generator measures against, fed what no load generator sends.
@Suite("Trivial responder")
struct TrivialResponderTests {
    /// Sends `bytes` on a fresh connection; returns what came back before the responder closed, or nil when it
    /// was still open after `timeoutSeconds`.
    static func bytesUntilClose(port: UInt16, sending bytes: [UInt8], timeoutSeconds: Int = 5) throws -> [UInt8]? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(connected == 0, "connect: errno \(errno)")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let sent = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        try #require(sent == bytes.count)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += chunk[0..<count]
            } else if count == 0 || errno == ECONNRESET {
                return received
            } else if errno != EINTR {
                return nil
            }
        }
    }

    @Test("a 0290 (function digit 9) or a 0210 is not answered (no 0300, no 0220): the responder closes")
    func messagesWithoutResponseCloseTheConnection() throws {
        let responder = try TestResponder()
        defer { responder.stop() }
        for mti in [290, 210] {
            var message = ISOMessage(dialect: responder.dialect, mti: MTI(mti))
            try message.set(3, "000000")
            try message.set(11, integer: 1)
            try message.set(41, "TERM0001")
            let encoded = try message.encoded()
            var frame: [UInt8] = []
            responder.framing.appendHeader(length: encoded.count, to: &frame)
            frame += encoded
            let received = try Self.bytesUntilClose(port: responder.port, sending: frame)
            #expect(received == [], "\(MTI(mti)!): \(received.map { "\($0.count) bytes back" } ?? "still open")")
        }
        // Requests are still answered afterwards.
        let configuration = responder.configuration(connections: 1, inFlight: 1, durationMs: 100)
        #expect(try responder.run(configuration).statistics.answered > 0)
    }
}
