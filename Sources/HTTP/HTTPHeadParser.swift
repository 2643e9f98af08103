/// Parses a complete request head (as `HTTPHeadScanner` delimited it) by offsets: nothing is copied, and every
/// malformed class is refused with the status RFC 9110/9112 give it. Pure: no I/O, no allocation but the header
/// field list the caller reuses.
public enum HTTPHeadParser {
    /// Methods longer than this are no method the server knows (501), and need not be read further.
    static let methodBytesMax = 16

    /// `head` runs from the request line through the empty line that ends it (CRLF line ends, as the scanner
    /// checked). `fields` is cleared and receives the header fields.
    public static func parse(
        _ head: UnsafeRawBufferPointer, limits: HTTPLimits, fields: inout [HTTPHeaderField]
    ) throws(HTTPRequestError) -> HTTPRequestHead {
        precondition(head.count >= 4 && head.count <= limits.headerBytesMax, "the scanner bounds the head")
        precondition(head[head.count - 2] == UInt8(ascii: "\r") && head[head.count - 1] == UInt8(ascii: "\n"))
        fields.removeAll(keepingCapacity: true)
        let lineEnd = HTTPBytes.firstIndex(of: UInt8(ascii: "\r"), in: head, from: 0, to: head.count)!
        var request = try requestLine(head, end: lineEnd, limits: limits)
        var position = lineEnd + 2
        while position < head.count - 2 {
            let end = HTTPBytes.firstIndex(of: UInt8(ascii: "\r"), in: head, from: position, to: head.count)!
            guard fields.count < limits.headerCountMax else {
                throw HTTPRequestError(
                    .requestHeaderFieldsTooLarge, "more than \(limits.headerCountMax) header fields (headerCountMax)")
            }
            fields.append(try field(head, start: position, end: end))
            position = end + 2
        }
        precondition(position == head.count - 2, "the head ends with an empty line")
        request.headerCount = fields.count
        request.length = head.count
        try HTTPHeaderInterpretation.apply(fields, in: head, to: &request)
        return request
    }

    /// `METHOD SP request-target SP HTTP-version`, each part checked.
    static func requestLine(
        _ head: UnsafeRawBufferPointer, end: Int, limits: HTTPLimits
    ) throws(HTTPRequestError) -> HTTPRequestHead {
        guard let methodEnd = HTTPBytes.firstIndex(of: UInt8(ascii: " "), in: head, from: 0, to: end), methodEnd > 0
        else { throw HTTPRequestError(.badRequest, "the request line has no method") }
        guard (0..<methodEnd).allSatisfy({ HTTPBytes.isTokenCharacter(head[$0]) }) else {
            throw HTTPRequestError(.badRequest, "the method is not a token")
        }
        guard methodEnd <= methodBytesMax,
            let method = HTTPMethod(bytes: UnsafeRawBufferPointer(rebasing: head[0..<methodEnd]))
        else { throw HTTPRequestError(.notImplemented, "the method is not one this server implements") }
        let targetStart = methodEnd + 1
        guard let targetEnd = HTTPBytes.firstIndex(of: UInt8(ascii: " "), in: head, from: targetStart, to: end),
            targetEnd > targetStart
        else { throw HTTPRequestError(.badRequest, "the request line needs one space, a target, one space, a version") }
        guard targetEnd - targetStart <= limits.targetBytesMax else {
            throw HTTPRequestError(.uriTooLong, "the request target is longer than \(limits.targetBytesMax) bytes")
        }
        let version = try self.version(head, start: targetEnd + 1, end: end)
        var request = HTTPRequestHead(
            method: method, version: version, target: targetStart..<targetEnd, path: targetStart..<targetEnd,
            query: nil, contentLength: 0, hasContentLength: false, keepAlive: version == .http11,
            expectsContinue: false, headerCount: 0, length: 0)
        try HTTPTarget.split(head, &request)
        return request
    }

    /// `HTTP/1.1` or `HTTP/1.0`; another well-formed version is 505, anything else 400.
    static func version(_ head: UnsafeRawBufferPointer, start: Int, end: Int) throws(HTTPRequestError) -> HTTPVersion {
        let text = UnsafeRawBufferPointer(rebasing: head[start..<end])
        guard text.count == 8, text.prefix(5).elementsEqual("HTTP/".utf8), HTTPBytes.isDigit(text[5]),
            text[6] == UInt8(ascii: "."), HTTPBytes.isDigit(text[7])
        else { throw HTTPRequestError(.badRequest, "the request line does not end in HTTP/1.1") }
        switch (text[5], text[7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")): return .http11
        case (UInt8(ascii: "1"), UInt8(ascii: "0")): return .http10
        default: throw HTTPRequestError(.httpVersionNotSupported, "only HTTP/1.1 and HTTP/1.0 are served")
        }
    }

    /// `name ":" OWS value OWS`: the name a token with no space before the colon, the value without control
    /// characters; a line starting with whitespace (obsolete line folding) is refused.
    static func field(_ head: UnsafeRawBufferPointer, start: Int, end: Int) throws(HTTPRequestError) -> HTTPHeaderField
    {
        guard start < end, !HTTPBytes.isWhitespace(head[start]) else {
            throw HTTPRequestError(.badRequest, "a header line starts with whitespace (obsolete line folding)")
        }
        guard let colon = HTTPBytes.firstIndex(of: UInt8(ascii: ":"), in: head, from: start, to: end),
            colon > start, (start..<colon).allSatisfy({ HTTPBytes.isTokenCharacter(head[$0]) })
        else { throw HTTPRequestError(.badRequest, "a header field name is not a token followed by a colon") }
        var valueStart = colon + 1
        var valueEnd = end
        while valueStart < valueEnd && HTTPBytes.isWhitespace(head[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && HTTPBytes.isWhitespace(head[valueEnd - 1]) { valueEnd -= 1 }
        guard (valueStart..<valueEnd).allSatisfy({ HTTPBytes.isFieldValueCharacter(head[$0]) }) else {
            throw HTTPRequestError(.badRequest, "a header field value holds a control character")
        }
        return HTTPHeaderField(
            nameStart: Int32(start), nameEnd: Int32(colon), valueStart: Int32(valueStart), valueEnd: Int32(valueEnd))
    }
}

/// Where the path and the query of a request target are.
enum HTTPTarget {
    /// Origin-form (`/path?query`), absolute-form (`http://host/path?query`, which a server must accept) and
    /// asterisk-form (`*`, OPTIONS only). Target bytes are visible ASCII; a fragment is never sent, so `#` is 400.
    static func split(_ head: UnsafeRawBufferPointer, _ request: inout HTTPRequestHead) throws(HTTPRequestError) {
        let target = request.target
        guard target.allSatisfy({ head[$0] > 0x20 && head[$0] < 0x7F && head[$0] != UInt8(ascii: "#") }) else {
            throw HTTPRequestError(.badRequest, "the request target holds a byte that is not visible ASCII, or #")
        }
        if target.count == 1 && head[target.lowerBound] == UInt8(ascii: "*") {
            guard request.method == .options else {
                throw HTTPRequestError(.badRequest, "the target * is for OPTIONS only")
            }
            return
        }
        var pathStart = target.lowerBound
        if head[pathStart] != UInt8(ascii: "/") {
            guard let authorityStart = absoluteFormAuthorityStart(head, target),
                let slash = HTTPBytes.firstIndex(
                    of: UInt8(ascii: "/"), in: head, from: authorityStart, to: target.upperBound)
            else { throw HTTPRequestError(.badRequest, "the request target is not a path, an http URL or *") }
            pathStart = slash
        }
        let question = HTTPBytes.firstIndex(of: UInt8(ascii: "?"), in: head, from: pathStart, to: target.upperBound)
        request.path = pathStart..<(question ?? target.upperBound)
        request.query = question.map { ($0 + 1)..<target.upperBound }
    }

    /// After `http://` or `https://` (the scheme in any case), or nil.
    static func absoluteFormAuthorityStart(_ head: UnsafeRawBufferPointer, _ target: Range<Int>) -> Int? {
        for scheme in ["http://", "https://"] where target.count > scheme.utf8.count {
            let prefix = UnsafeRawBufferPointer(
                rebasing: head[target.lowerBound..<(target.lowerBound + scheme.utf8.count)])
            if HTTPBytes.equalsIgnoringCase(prefix, scheme) { return target.lowerBound + scheme.utf8.count }
        }
        return nil
    }
}
