/// Finds where a request head ends in bytes that arrive in pieces, looking at each byte once.
///
/// Lines must end in CRLF: a bare LF or a CR without LF is refused at once (400) rather than guessed at, so the
/// server and anything in front of it can never disagree about where a head ends. Up to
/// `leadingEmptyLinesMax` empty lines before the request line are skipped (RFC 9112, section 2.2). A head that
/// outgrows `headerBytesMax` is refused as soon as it does: 414 while the request line is still unfinished,
/// 431 after it.
public struct HTTPHeadScanner: Sendable {
    /// Empty lines tolerated before a request line (some clients send a CRLF after a body).
    public static let leadingEmptyLinesMax = 4

    public enum Outcome: Equatable {
        /// The head is `bytes[start..<end]`; `end` is just after its closing empty line.
        case complete(start: Int, end: Int)
        case incomplete
        case failed(HTTPRequestError)
    }

    let headerBytesMax: Int
    /// Bytes already looked at (relative to the bytes given to `scan`).
    private(set) var scanned = 0
    /// Where the request line starts, after skipped empty lines.
    private(set) var requestStart = 0
    private var lineStart = 0
    private var leadingEmptyLines = 0

    public init(headerBytesMax: Int) {
        precondition(headerBytesMax >= 4, "a head needs room for its line ends")
        self.headerBytesMax = headerBytesMax
    }

    /// True once a byte of the request line has been seen (a skipped empty line does not start a request).
    public var hasStarted: Bool { scanned > requestStart }

    /// Looks at the bytes not scanned yet. `bytes` must start where the first call's did and only grow.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        precondition(scanned <= bytes.count, "the bytes scanned before are gone")
        let carriageReturn = UInt8(ascii: "\r")
        while scanned < bytes.count {
            let index = scanned
            let byte = bytes[index]
            scanned += 1
            if index > 0 && bytes[index - 1] == carriageReturn && byte != UInt8(ascii: "\n") && index > requestStart {
                return .failed(HTTPRequestError(.badRequest, "a CR in the request head is not followed by LF"))
            }
            if index + 1 - requestStart > headerBytesMax { return .failed(tooLarge) }
            if byte == UInt8(ascii: "\n") {
                guard index > requestStart && bytes[index - 1] == carriageReturn else {
                    return .failed(HTTPRequestError(.badRequest, "a line of the request head ends in LF without CR"))
                }
                if let outcome = endOfLine(at: index) { return outcome }
            }
        }
        return .incomplete
    }

    /// A line ended at `index` (its LF): an empty line before the request line is skipped, an empty line after
    /// it ends the head.
    private mutating func endOfLine(at index: Int) -> Outcome? {
        let lineLength = index + 1 - lineStart
        defer { lineStart = index + 1 }
        guard lineLength == 2 else { return nil }
        if lineStart == requestStart {
            leadingEmptyLines += 1
            guard leadingEmptyLines <= Self.leadingEmptyLinesMax else {
                return .failed(HTTPRequestError(.badRequest, "too many empty lines before the request line"))
            }
            requestStart = index + 1
            return nil
        }
        precondition(index + 1 - requestStart <= headerBytesMax, "the head was checked against its limit")
        return .complete(start: requestStart, end: index + 1)
    }

    private var tooLarge: HTTPRequestError {
        if lineStart == requestStart {
            return HTTPRequestError(.uriTooLong, "the request line is longer than \(headerBytesMax) bytes")
        }
        return HTTPRequestError(
            .requestHeaderFieldsTooLarge, "the request head is longer than \(headerBytesMax) bytes (headerBytesMax)")
    }
}
