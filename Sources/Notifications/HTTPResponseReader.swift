/// Reads one HTTP/1.1 answer to a webhook request, bounded: head and body together may not pass `bytesMax`, so
/// a huge or never-ending answer is cut and the try fails. The answer is kept whole (a few KiB); as bytes arrive
/// the search for the head's end and the walk over chunks resume where they stopped, so a receiver trickling
/// bytes one at a time costs linear work, not quadratic. Framing by Content-Length, chunked transfer coding, or
/// the end of the connection; 1xx interim answers are skipped.
struct HTTPResponseReader {
    enum Outcome: Equatable {
        case needMore
        /// A whole answer; `reusable` when the connection may carry the next request.
        case complete(status: Int, reusable: Bool)
        case failed(String)
    }

    let bytesMax: Int
    private(set) var buffer: [UInt8] = []
    /// Where the search for `\r\n\r\n` resumes.
    private var headSearchFrom = 0
    /// The head once whole, and where the body starts.
    private var head: (fields: ResponseHead, bodyStart: Int)?
    /// Where the next chunk-size line starts (chunks before it are whole).
    private var chunkCursor = 0

    init(bytesMax: Int) {
        precondition(bytesMax >= 256, "an answer may have at least 256 bytes")
        self.bytesMax = bytesMax
    }

    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        headSearchFrom = 0
        head = nil
        chunkCursor = 0
    }

    /// Adds bytes from the connection and says whether the answer is whole.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard buffer.count + bytes.count <= bytesMax else {
            return .failed("answer longer than \(bytesMax) bytes (responseBytesMax)")
        }
        buffer.append(contentsOf: bytes)
        return examine(endOfInput: false)
    }

    /// The receiver closed its side: an answer framed by the close is whole now, any other is cut short.
    mutating func endOfInput() -> Outcome {
        let outcome = examine(endOfInput: true)
        if case .needMore = outcome { return .failed(buffer.isEmpty ? "closed without an answer" : "answer cut short") }
        return outcome
    }

    private mutating func examine(endOfInput: Bool) -> Outcome {
        while head == nil {
            guard let headEnd = Self.headEnd(buffer, from: headSearchFrom) else {
                headSearchFrom = max(0, buffer.count - 3)
                return .needMore
            }
            guard let fields = ResponseHead(buffer[0..<headEnd]) else { return .failed("malformed answer head") }
            if fields.status >= 100 && fields.status < 200 {
                guard fields.status != 101 else { return .failed("the receiver switched protocols") }
                buffer.removeSubrange(0..<headEnd)
                headSearchFrom = 0
                continue
            }
            head = (fields, headEnd)
            chunkCursor = headEnd
        }
        return body(endOfInput: endOfInput)
    }

    private mutating func body(endOfInput: Bool) -> Outcome {
        guard let (head, start) = head else { return .needMore }
        let noBody = head.status == 204 || head.status == 304
        if head.chunked && !noBody {
            switch Self.chunkedEnd(buffer, cursor: &chunkCursor) {
            case .none: return .needMore
            case .some(nil): return .failed("malformed chunked body")
            case .some(let end?):
                return .complete(status: head.status, reusable: head.keepAlive && end == buffer.count)
            }
        }
        if let length = head.contentLength ?? (noBody ? 0 : nil) {
            let end = start + length
            guard buffer.count >= end else { return .needMore }
            return .complete(status: head.status, reusable: head.keepAlive && end == buffer.count)
        }
        return endOfInput ? .complete(status: head.status, reusable: false) : .needMore
    }

    /// The offset after `\r\n\r\n`, if the head is complete.
    static func headEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        let first = max(3, start + 3)
        guard first < bytes.count else { return nil }
        for index in first..<bytes.count
        where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    /// Where a chunked body ends: nil while incomplete, `.some(nil)` when malformed. `cursor` moves past each
    /// whole data chunk, so the next call starts there.
    static func chunkedEnd(_ bytes: [UInt8], cursor: inout Int) -> Int?? {
        var offset = cursor
        while true {
            guard let lineEnd = lineEnd(bytes, from: offset) else { return nil }
            var size = 0
            var digits = 0
            for byte in bytes[offset..<lineEnd] {
                guard let value = hexValue(byte) else {
                    if byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ") { break }
                    return .some(nil)
                }
                digits += 1
                guard digits <= 8 else { return .some(nil) }
                size = size << 4 | value
            }
            guard digits > 0 else { return .some(nil) }
            offset = lineEnd + 2
            if size == 0 {
                // Trailer lines until an empty one.
                while true {
                    guard let trailerEnd = self.lineEnd(bytes, from: offset) else { return nil }
                    if trailerEnd == offset { return .some(offset + 2) }
                    offset = trailerEnd + 2
                }
            }
            guard bytes.count >= offset + size + 2 else { return nil }
            guard bytes[offset + size] == 13 && bytes[offset + size + 1] == 10 else { return .some(nil) }
            offset += size + 2
            cursor = offset
        }
    }

    /// The offset of the next `\r\n` at or after `offset`.
    static func lineEnd(_ bytes: [UInt8], from offset: Int) -> Int? {
        var index = offset
        while index + 1 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: return Int(byte - 0x30)
        case 0x41...0x46: return Int(byte - 0x41 + 10)
        case 0x61...0x66: return Int(byte - 0x61 + 10)
        default: return nil
        }
    }
}

/// The parts of an answer's head the client acts on.
struct ResponseHead {
    let status: Int
    let keepAlive: Bool
    let contentLength: Int?
    let chunked: Bool

    /// Parses `HTTP/1.x CODE REASON` and the fields; nil when malformed.
    init?(_ head: ArraySlice<UInt8>) {
        let text = String(decoding: head, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true).makeIterator()
        guard let statusLine = lines.next() else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].count == 3,
            let status = Int(parts[1]), status >= 100, status <= 599
        else { return nil }
        var keepAlive = parts[0] == "HTTP/1.1"
        var contentLength: Int?
        var chunked = false
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t").lowercased()
            switch name {
            case "content-length":
                guard let length = Int(value), length >= 0, contentLength == nil || contentLength == length else {
                    return nil
                }
                contentLength = length
            case "transfer-encoding":
                chunked = value.hasSuffix("chunked")
            case "connection":
                if value.contains("close") { keepAlive = false }
                if value.contains("keep-alive") { keepAlive = true }
            default: break
            }
        }
        self.status = status
        self.keepAlive = keepAlive
        self.contentLength = chunked ? nil : contentLength
        self.chunked = chunked
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let trimmed = drop { set.contains($0) }
        return String(trimmed.reversed().drop { set.contains($0) }.reversed())
    }
}
