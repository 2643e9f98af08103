/// The request methods the server knows (RFC 9110, section 9, plus PATCH and QUERY). Any other token is answered
/// 501. QUERY (the IETF's safe method with a body, draft-ietf-httpbis-safe-method-w-body) is known so that a route
/// that does not take it answers 405 with `Allow`, as it does for PUT or PATCH: no route takes it yet.
public enum HTTPMethod: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case get, head, post, put, delete, patch, options, trace, connect, query

    /// The method's token, as it is written on the wire (methods are case-sensitive: `get` is not GET).
    public var description: String {
        switch self {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .patch: return "PATCH"
        case .options: return "OPTIONS"
        case .trace: return "TRACE"
        case .connect: return "CONNECT"
        case .query: return "QUERY"
        }
    }

    /// Each method's token as bytes, made once.
    static let tokens: [[UInt8]] = HTTPMethod.allCases.map { Array($0.description.utf8) }

    /// The method spelled by `bytes`, compared byte for byte without building a string.
    public init?(bytes: UnsafeRawBufferPointer) {
        for method in HTTPMethod.allCases {
            let token = HTTPMethod.tokens[Int(method.rawValue)]
            if token.count == bytes.count && token.first == bytes.first && token.elementsEqual(bytes) {
                self = method
                return
            }
        }
        return nil
    }
}
