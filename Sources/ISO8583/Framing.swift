/// How messages are delimited on a TCP stream: a length header before each message, optionally a 5-byte TPDU
/// after it (covered by the length).
public struct Framing: Sendable, Equatable {
    /// The length header in front of every message.
    public enum LengthHeader: String, Sendable, CaseIterable {
        /// 2 bytes, big-endian binary (the default listener of wire contract v1).
        case binary2
        /// 2 bytes of packed decimal, 0000–9999.
        case bcd2
        /// 4 ASCII decimal digits, 0000–9999.
        case ascii4

        public var byteCount: Int { self == .ascii4 ? 4 : 2 }

        /// The largest length the header can express.
        public var lengthMax: Int { self == .binary2 ? 65535 : 9999 }
    }

    /// Bytes of a TPDU: ID (1), destination address (2), source address (2).
    public static let tpduByteCount = 5
    /// The default limit on one message (wire contract v1).
    public static let defaultFrameBytesMax = 8192

    public var lengthHeader: LengthHeader
    public var hasTPDU: Bool
    /// The largest frame accepted (length header value, TPDU included); a larger header closes the connection.
    public var frameBytesMax: Int

    public init(
        lengthHeader: LengthHeader = .binary2, hasTPDU: Bool = false, frameBytesMax: Int = Framing.defaultFrameBytesMax
    ) {
        precondition(frameBytesMax > 0 && frameBytesMax <= lengthHeader.lengthMax, "frameBytesMax out of range")
        self.lengthHeader = lengthHeader
        self.hasTPDU = hasTPDU
        self.frameBytesMax = frameBytesMax
    }

    /// Appends the length header for a payload of `length` bytes (TPDU included).
    public func appendHeader(length: Int, to out: inout [UInt8]) {
        precondition(length >= 0 && length <= lengthHeader.lengthMax, "frame length out of range")
        switch lengthHeader {
        case .binary2:
            out.append(UInt8(length >> 8))
            out.append(UInt8(length & 0xFF))
        case .bcd2:
            let high = length / 100
            let low = length % 100
            out.append(UInt8((high / 10) << 4 | high % 10))
            out.append(UInt8((low / 10) << 4 | low % 10))
        case .ascii4:
            for divisor in [1000, 100, 10, 1] { out.append(UInt8(0x30 + length / divisor % 10)) }
        }
    }

    /// Appends a whole frame: header, the TPDU with source and destination swapped (for a response), and the
    /// message bytes.
    public func appendFrame(message: [UInt8], requestTPDU: [UInt8]?, to out: inout [UInt8]) {
        let tpduCount = hasTPDU ? Framing.tpduByteCount : 0
        let start = out.count
        defer {
            precondition(
                out.count - start == lengthHeader.byteCount + tpduCount + message.count,
                "a frame is its header and the bytes the header announces")
        }
        appendHeader(length: message.count + tpduCount, to: &out)
        if hasTPDU {
            precondition(requestTPDU.map { $0.count == Framing.tpduByteCount } ?? true, "TPDU must be 5 bytes")
            appendSwappedTPDU(requestTPDU.map { Framing.packTPDU($0[...]) }, to: &out)
        }
        out.append(contentsOf: message)
    }

    /// Appends a whole frame for `message` without an intermediate array: header, swapped TPDU, message bytes.
    public func appendFrame(encoding message: ISOMessage, requestTPDU: UInt64?, to out: inout [UInt8]) throws(ISOError)
    {
        let tpduCount = hasTPDU ? Framing.tpduByteCount : 0
        let length = message.encodedByteCount + tpduCount
        guard length <= lengthHeader.lengthMax else {
            throw ISOError(field: 0, offset: 0, reason: .messageTooLarge(size: length, maximum: lengthHeader.lengthMax))
        }
        let start = out.count
        appendHeader(length: length, to: &out)
        if hasTPDU { appendSwappedTPDU(requestTPDU, to: &out) }
        try message.encode(into: &out)
        precondition(out.count - start == lengthHeader.byteCount + length, "the header announces the bytes that follow")
    }

    /// The response TPDU: the request's (packed big-endian in the low 40 bits: id, destination (2), source (2))
    /// with destination and source swapped; a default 60 0000 0000 when there was none.
    func appendSwappedTPDU(_ requestTPDU: UInt64?, to out: inout [UInt8]) {
        let tpdu = requestTPDU ?? 0x60_0000_0000
        out.append(UInt8(truncatingIfNeeded: tpdu >> 32))
        out.append(UInt8(truncatingIfNeeded: tpdu >> 8))
        out.append(UInt8(truncatingIfNeeded: tpdu))
        out.append(UInt8(truncatingIfNeeded: tpdu >> 24))
        out.append(UInt8(truncatingIfNeeded: tpdu >> 16))
    }

    /// A TPDU's 5 bytes as one number (for `appendFrame(encoding:requestTPDU:to:)`).
    public static func packTPDU(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        for byte in bytes.prefix(tpduByteCount) { value = value << 8 | UInt64(byte) }
        return value
    }

    /// Reads the length header at `offset`; nil when the header is not a valid number in its encoding.
    func readHeader(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        precondition(offset >= 0 && offset + lengthHeader.byteCount <= raw.count, "a whole header is buffered")
        switch lengthHeader {
        case .binary2:
            return Int(raw[offset]) << 8 | Int(raw[offset + 1])
        case .bcd2:
            var value = 0
            for index in 0..<2 {
                let byte = raw[offset + index]
                guard byte >> 4 <= 9 && byte & 0xF <= 9 else { return nil }
                value = value * 100 + Int(byte >> 4) * 10 + Int(byte & 0xF)
            }
            return value
        case .ascii4:
            var value = 0
            for index in 0..<4 {
                let digit = Int(raw[offset + index]) - 0x30
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}

/// Why a stream cannot be read any further; the connection should close.
public enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The length header announces more than `frameBytesMax`.
    case frameTooLarge(length: Int, maximum: Int)
    /// The length header is not a number in its encoding.
    case invalidLengthHeader(offset: Int)
    /// A TPDU framing whose frame is shorter than the TPDU.
    case frameShorterThanTPDU(length: Int)

    public var description: String {
        switch self {
        case .frameTooLarge(let length, let maximum): return "frame of \(length) bytes exceeds the limit of \(maximum)"
        case .invalidLengthHeader(let offset): return "invalid length header at stream offset \(offset)"
        case .frameShorterThanTPDU(let length): return "frame of \(length) bytes is shorter than its TPDU"
        }
    }
}
