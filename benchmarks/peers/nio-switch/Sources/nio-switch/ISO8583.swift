import NIOCore

/// Where a field's value lies in its frame (offsets from the frame's reader index); `prefix` is the length of its
/// LL/LLL prefix, echoed with the value.
struct Span {
    var start: Int
    var count: Int
    var prefix: Int
}

/// Field 90: the original's MTI, STAN, field 7 and acquirer (the trailing 11 zeros are ignored).
struct OriginalData {
    var mti: UInt16
    var stan: UInt32
    var transmission: UInt64
    var acquirer: UInt64
}

/// The parts of a request the peer uses: numbers parsed once, spans for the echoed fields.
struct Request {
    var mti: UInt16 = 0
    var f2: Span?, f3: Span?, f4: Span?, f7: Span?, f11: Span?, f12: Span?, f13: Span?
    var f37: Span?, f41: Span?, f42: Span?, f49: Span?, f70: Span?
    var card: UInt64?
    var processingCode: UInt32?
    var amount: UInt64?
    var transmission: UInt64?
    var stan: UInt32?
    var acquirer: UInt64?
    /// Field 41's 8 bytes, packed.
    var terminal: UInt64?
    var currency: UInt16?
    var original: OriginalData?
}

enum MessageError: Error { case malformed }

/// ISO 8583:1987 "iso87ascii": 4 ASCII digit MTI, binary 8-byte bitmaps, ASCII fields, LL/LLL ASCII length prefixes.
enum ISO8583 {
    enum Length { case fixed(Int), ll(Int), lll(Int) }

    /// The fields this peer knows; any other closes the connection. `numeric` fields must be digits only.
    static func format(_ field: Int) -> (length: Length, numeric: Bool)? {
        switch field {
        case 2: return (.ll(19), true)
        case 3: return (.fixed(6), true)
        case 4: return (.fixed(12), true)
        case 7: return (.fixed(10), true)
        case 11: return (.fixed(6), true)
        case 12: return (.fixed(6), true)
        case 13: return (.fixed(4), true)
        case 32: return (.ll(11), true)
        case 37: return (.fixed(12), false)
        case 38: return (.fixed(6), false)
        case 39: return (.fixed(2), false)
        case 41: return (.fixed(8), false)
        case 42: return (.fixed(15), false)
        case 49: return (.fixed(3), true)
        case 54: return (.lll(120), false)
        case 63: return (.lll(999), false)
        case 70: return (.fixed(3), true)
        case 90: return (.fixed(42), true)
        default: return nil
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(MessageError) -> Request {
        guard bytes.count >= 12 else { throw .malformed }
        var request = Request()
        request.mti = UInt16(try digits(bytes, 0, 4))
        let primary = bytes.loadUnaligned(fromByteOffset: 4, as: UInt64.self).bigEndian
        var position = 12
        var secondary: UInt64 = 0
        if primary & (1 << 63) != 0 {
            guard bytes.count >= 20 else { throw .malformed }
            secondary = bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self).bigEndian
            position = 20
        }
        var bits = primary & ~(1 << 63)
        var base = 1
        for half in 0..<2 {
            if half == 1 { bits = secondary; base = 65 }
            while bits != 0 {
                let zeros = bits.leadingZeroBitCount
                bits &= ~(1 << UInt64(63 - zeros))
                try field(base + zeros, bytes, &position, &request)
            }
        }
        guard position == bytes.count else { throw .malformed }
        return request
    }

    private static func field(
        _ field: Int, _ bytes: UnsafeRawBufferPointer, _ position: inout Int, _ request: inout Request
    ) throws(MessageError) {
        guard let (length, numeric) = format(field) else { throw .malformed }
        var prefix = 0
        var count: Int
        switch length {
        case .fixed(let size): count = size
        case .ll(let max), .lll(let max):
            if case .ll = length { prefix = 2 } else { prefix = 3 }
            guard position + prefix <= bytes.count else { throw .malformed }
            count = Int(try digits(bytes, position, prefix))
            guard count <= max else { throw .malformed }
        }
        let start = position + prefix
        guard start + count <= bytes.count else { throw .malformed }
        position = start + count
        if numeric {
            // Checked here even for fields only echoed; n fields longer than 19 digits are checked, not parsed.
            for index in start..<(start + count) where !(0x30...0x39).contains(bytes[index]) { throw .malformed }
        } else {
            for index in start..<(start + count) where !(0x20...0x7E).contains(bytes[index]) { throw .malformed }
        }
        let span = Span(start: start, count: count, prefix: prefix)
        switch field {
        case 2:
            guard count >= 1 else { throw .malformed }
            request.f2 = span
            request.card = try digits(bytes, start, count)
        case 3:
            request.f3 = span
            request.processingCode = UInt32(try digits(bytes, start, 6))
        case 4:
            request.f4 = span
            request.amount = try digits(bytes, start, 12)
        case 7:
            request.f7 = span
            request.transmission = try digits(bytes, start, 10)
        case 11:
            request.f11 = span
            request.stan = UInt32(try digits(bytes, start, 6))
        case 12: request.f12 = span
        case 13: request.f13 = span
        case 32:
            guard count >= 1 else { throw .malformed }
            request.acquirer = try digits(bytes, start, count)
        case 37: request.f37 = span
        case 41:
            request.f41 = span
            request.terminal = bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self)
        case 42: request.f42 = span
        case 49:
            request.f49 = span
            request.currency = UInt16(try digits(bytes, start, 3))
        case 70: request.f70 = span
        case 90:
            request.original = OriginalData(
                mti: UInt16(try digits(bytes, start, 4)), stan: UInt32(try digits(bytes, start + 4, 6)),
                transmission: try digits(bytes, start + 10, 10), acquirer: try digits(bytes, start + 20, 11))
        default: break  // 38, 39, 54, 63: accepted, not used
        }
    }

    private static func digits(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) throws(MessageError)
        -> UInt64
    {
        var value: UInt64 = 0
        for index in start..<(start + count) {
            let digit = bytes[index] &- 0x30
            guard digit < 10 else { throw .malformed }
            value = value * 10 + UInt64(digit)
        }
        return value
    }
}

/// Field 39 values.
struct ResponseCode {
    let first: UInt8
    let second: UInt8

    static let approved = ResponseCode(first: 0x30, second: 0x30)
    static let invalidTransaction = ResponseCode(first: 0x31, second: 0x32)  // 12
    static let unknownOriginal = ResponseCode(first: 0x32, second: 0x35)  // 25
    static let formatError = ResponseCode(first: 0x33, second: 0x30)  // 30
    static let insufficientFunds = ResponseCode(first: 0x35, second: 0x31)  // 51
    static let timeout = ResponseCode(first: 0x39, second: 0x31)  // 91: the write-ahead log's queue is full
    static let systemError = ResponseCode(first: 0x39, second: 0x36)  // 96: the ledger is full

    var isApproval: Bool { first == 0x30 && second == 0x30 }
}

/// A small fixed-format encoder: the 2-byte length, MTI, bitmap(s), then fields written in number order by the
/// caller; `finish` fills in the bitmap and the length.
struct ResponseWriter {
    private(set) var buffer: ByteBuffer
    private var primary: UInt64 = 0
    private var secondary: UInt64 = 0
    private let hasSecondary: Bool

    init(allocator: ByteBufferAllocator, mti: UInt16, secondaryBitmap: Bool = false) {
        buffer = allocator.buffer(capacity: 192)
        hasSecondary = secondaryBitmap
        buffer.writeInteger(UInt16(0))
        writeDigits(UInt64(mti), width: 4)
        buffer.writeInteger(UInt64(0))
        if secondaryBitmap {
            primary = 1 << 63
            buffer.writeInteger(UInt64(0))
        }
    }

    private mutating func mark(_ field: Int) {
        if field <= 64 { primary |= 1 << UInt64(64 - field) } else { secondary |= 1 << UInt64(128 - field) }
    }

    /// Copies a request field as it came (with its length prefix).
    mutating func echo(_ field: Int, _ span: Span?, from frame: ByteBuffer) {
        guard let span else { return }
        mark(field)
        frame.withUnsafeReadableBytes { bytes in
            _ = buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[(span.start - span.prefix)..<(span.start + span.count)]))
        }
    }

    mutating func number(_ field: Int, _ value: UInt64, width: Int) {
        mark(field)
        writeDigits(value, width: width)
    }

    mutating func code(_ code: ResponseCode) {
        mark(39)
        buffer.writeInteger(code.first)
        buffer.writeInteger(code.second)
    }

    /// Field 54, one 20-character amount: account type 00, amount type 02 (available), currency, C, 12 digits.
    mutating func balance(_ points: Int64, currency: UInt16) {
        mark(54)
        buffer.writeStaticString("0200002")
        writeDigits(UInt64(currency), width: 3)
        buffer.writeStaticString(points < 0 ? "D" : "C")
        writeDigits(points.magnitude, width: 12)
    }

    private mutating func writeDigits(_ value: UInt64, width: Int) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: width) { out in
            var remaining = value
            for index in stride(from: width - 1, through: 0, by: -1) {
                out[index] = UInt8(truncatingIfNeeded: 0x30 + remaining % 10)
                remaining /= 10
            }
            return width
        }
    }

    mutating func finish() -> ByteBuffer {
        buffer.setInteger(UInt16(buffer.readableBytes - 2), at: buffer.readerIndex)
        buffer.setInteger(primary, at: buffer.readerIndex + 6)
        if hasSecondary { buffer.setInteger(secondary, at: buffer.readerIndex + 14) }
        return buffer
    }
}
