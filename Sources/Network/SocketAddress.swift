import Glibc

/// An IPv4 address and port, parsed from `HOST:PORT` (HOST a dotted quad or `localhost`).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    let address: UInt32

    /// Parses `HOST:PORT`; nil with no valid host or port.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = String(text[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        var parsed = in_addr()
        guard inet_pton(AF_INET, host, &parsed) == 1 else { return nil }
        self.host = host
        self.port = port
        self.address = parsed.s_addr
    }

    init(_ storage: sockaddr_in) {
        var copy = storage.sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &copy, &text, socklen_t(INET_ADDRSTRLEN))
        host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        port = UInt16(bigEndian: storage.sin_port)
        address = storage.sin_addr.s_addr
    }

    var socketAddress: sockaddr_in {
        var storage = sockaddr_in()
        storage.sin_family = sa_family_t(AF_INET)
        storage.sin_port = port.bigEndian
        storage.sin_addr.s_addr = address
        return storage
    }

    /// True for 127.0.0.0/8: tools that generate load refuse any other target unless told explicitly.
    public var isLoopback: Bool { UInt32(bigEndian: address) >> 24 == 127 }

    public var description: String { "\(host):\(port)" }
}
