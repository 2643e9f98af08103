/// Byte classes and comparisons of HTTP/1.1 (RFC 9110, section 5.6), on raw bytes: no strings are built.
enum HTTPBytes {
    /// `tchar`: the characters of a token (method, header field name, connection option).
    static let tokenCharacters: [Bool] = (0...255).map { value in
        let byte = UInt8(value)
        if isDigit(byte) || isLetter(byte) { return true }
        return "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }

    @inline(__always)
    static func isTokenCharacter(_ byte: UInt8) -> Bool { tokenCharacters[Int(byte)] }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    @inline(__always)
    static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    /// SP or HTAB: optional whitespace around values.
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// VCHAR, SP, HTAB and obs-text (0x80–0xFF): what a field value may hold. NUL, other controls and DEL may not.
    @inline(__always)
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool { byte == 0x09 || (byte >= 0x20 && byte != 0x7F) }

    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// The first `byte` in `bytes[from..<to]`.
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        precondition(from >= 0 && to <= bytes.count, "search range inside the bytes")
        var index = from
        while index < to {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    /// ASCII case-insensitive equality with a lowercase literal (header names, tokens).
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: String) -> Bool {
        guard bytes.count == lowercase.utf8.count else { return false }
        var index = 0
        for expected in lowercase.utf8 {
            if lowercased(bytes[index]) != expected { return false }
            index += 1
        }
        return true
    }

    /// A decimal number of 1...18 digits, nothing else; nil otherwise.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty && bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// What the header fields mean for the connection (RFC 9112, sections 6 and 9): the body's length, keep-alive,
/// `Expect`, and the checks that keep request framing unambiguous.
enum HTTPHeaderInterpretation {
    struct Seen {
        var contentLength: Int?
        var hostCount = 0
        var transferEncoding = false
        var chunked = false
        var close = false
        var keepAlive = false
    }

    static func apply(
        _ fields: [HTTPHeaderField], in head: UnsafeRawBufferPointer, to request: inout HTTPRequestHead
    ) throws(HTTPRequestError) {
        var seen = Seen()
        for field in fields {
            let name = UnsafeRawBufferPointer(rebasing: head[field.name])
            let value = UnsafeRawBufferPointer(rebasing: head[field.value])
            if HTTPBytes.equalsIgnoringCase(name, "content-length") {
                try contentLength(value, &seen)
            } else if HTTPBytes.equalsIgnoringCase(name, "transfer-encoding") {
                seen.transferEncoding = true
                seen.chunked = seen.chunked || lastCodingIsChunked(value)
            } else if HTTPBytes.equalsIgnoringCase(name, "connection") {
                connectionOptions(value, &seen)
            } else if HTTPBytes.equalsIgnoringCase(name, "host") {
                seen.hostCount += 1
            } else if HTTPBytes.equalsIgnoringCase(name, "expect") {
                guard HTTPBytes.equalsIgnoringCase(value, "100-continue") else {
                    throw HTTPRequestError(.expectationFailed, "the only expectation served is 100-continue")
                }
                request.expectsContinue = true
            }
        }
        try conclude(seen, &request)
    }

    /// Framing: a request whose body cannot be delimited exactly is never served. The body's limit is the
    /// route's, checked by the connection once it knows the route (`bodyBytesMax`, or a streamed route's own).
    static func conclude(_ seen: Seen, _ request: inout HTTPRequestHead) throws(HTTPRequestError) {
        if request.version == .http11 && seen.hostCount != 1 {
            throw HTTPRequestError(.badRequest, "an HTTP/1.1 request needs exactly one Host header field")
        }
        if seen.transferEncoding {
            if seen.contentLength != nil || request.version == .http10 {
                throw HTTPRequestError(.badRequest, "Transfer-Encoding with Content-Length, or in HTTP/1.0")
            }
            if seen.chunked {
                throw HTTPRequestError(
                    .lengthRequired, "chunked request bodies are not accepted: send the body with Content-Length")
            }
            throw HTTPRequestError(.notImplemented, "the only transfer coding known is chunked, and not for requests")
        }
        request.contentLength = seen.contentLength ?? 0
        request.hasContentLength = seen.contentLength != nil
        request.keepAlive = !seen.close && (request.version == .http11 || seen.keepAlive)
    }

    /// Digits only; a repeat must agree. A value too long to be a length is as refused as one over the limit.
    static func contentLength(_ value: UnsafeRawBufferPointer, _ seen: inout Seen) throws(HTTPRequestError) {
        guard !value.isEmpty, value.allSatisfy(HTTPBytes.isDigit) else {
            throw HTTPRequestError(.badRequest, "Content-Length is not a decimal number")
        }
        guard let length = HTTPBytes.decimal(value) else {
            throw HTTPRequestError(.contentTooLarge, "Content-Length has more than 18 digits")
        }
        if let earlier = seen.contentLength, earlier != length {
            throw HTTPRequestError(.badRequest, "two Content-Length fields disagree")
        }
        seen.contentLength = length
    }

    /// True when the last coding of a `Transfer-Encoding` list is `chunked`.
    static func lastCodingIsChunked(_ value: UnsafeRawBufferPointer) -> Bool {
        var start = 0
        var last = 0..<0
        for index in 0...value.count where index == value.count || value[index] == UInt8(ascii: ",") {
            last = start..<index
            start = index + 1
        }
        var lower = last.lowerBound
        var upper = last.upperBound
        while lower < upper && HTTPBytes.isWhitespace(value[lower]) { lower += 1 }
        while upper > lower && HTTPBytes.isWhitespace(value[upper - 1]) { upper -= 1 }
        return HTTPBytes.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: value[lower..<upper]), "chunked")
    }

    /// `close` and `keep-alive` among the comma-separated options; others are ignored.
    static func connectionOptions(_ value: UnsafeRawBufferPointer, _ seen: inout Seen) {
        var start = 0
        for index in 0...value.count where index == value.count || value[index] == UInt8(ascii: ",") {
            var lower = start
            var upper = index
            while lower < upper && HTTPBytes.isWhitespace(value[lower]) { lower += 1 }
            while upper > lower && HTTPBytes.isWhitespace(value[upper - 1]) { upper -= 1 }
            let option = UnsafeRawBufferPointer(rebasing: value[lower..<upper])
            if HTTPBytes.equalsIgnoringCase(option, "close") { seen.close = true }
            if HTTPBytes.equalsIgnoringCase(option, "keep-alive") { seen.keepAlive = true }
            start = index + 1
        }
    }
}
