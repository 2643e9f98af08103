import Glibc
import Network

/// Where a webhook is: `http://HOST:PORT/PATH` (port 80 when left out, path `/` when left out). HOST is an IPv4
/// literal or a name resolved once, when the switch starts: a name that later moves needs a restart, which is
/// the price of never blocking a loop on DNS.
public struct WebhookAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host as written (sent as the `Host` header).
    public let host: String
    public let port: UInt16
    /// Starts with `/`; the query, if any, is kept.
    public let path: String

    /// Why a URL is refused, in words for a configuration error.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(url: String) throws(Problem) {
        guard url.hasPrefix("http://") else {
            throw Problem(description: "must be http://HOST:PORT/PATH (https is not supported; use a local relay)")
        }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = String(rest.dropFirst(authority.count))
        guard !authority.isEmpty, !authority.contains("@") else {
            throw Problem(description: "must be http://HOST:PORT/PATH with a host (and no user information)")
        }
        var host = String(authority)
        var port: UInt16 = 80
        if let colon = authority.lastIndex(of: ":") {
            guard let number = UInt16(authority[authority.index(after: colon)...]), number > 0 else {
                throw Problem(description: "the port must be 1...65535")
            }
            port = number
            host = String(authority[..<colon])
        }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x2d
                || byte == 0x2e
        }
        guard !host.isEmpty, host.utf8.count <= 253, allowed else {
            throw Problem(description: "the host must be an IPv4 address or a DNS name")
        }
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }), !path.contains("#") else {
            throw Problem(description: "the path must be printable ASCII without spaces or a fragment")
        }
        self.host = host
        self.port = port
        self.path = path.isEmpty ? "/" : path
    }

    public var description: String { "http://\(host):\(port)\(path)" }

    /// The URL as logs, metrics and the admin API show it: a query string (which may carry a token) as `?…`.
    public var displayed: String {
        guard let question = path.firstIndex(of: "?") else { return description }
        return "http://\(host):\(port)\(path[..<question])?…"
    }

    /// The socket address: the literal, or the first IPv4 address the resolver gives for the name (blocking;
    /// called once at start, never on a loop).
    public func resolve() throws(Problem) -> SocketAddress {
        if let literal = SocketAddress("\(host):\(port)") { return literal }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        guard status == 0, let first = list, let address = first.pointee.ai_addr else {
            throw Problem(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        var copy = ipv4
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &copy, &text, socklen_t(INET_ADDRSTRLEN))
        let dotted = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let resolved = SocketAddress("\(dotted):\(port)") else {
            throw Problem(description: "cannot resolve \(host) to an IPv4 address")
        }
        return resolved
    }
}
