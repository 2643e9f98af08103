/// One complete frame inside a `FrameDecoder`'s buffer.
public struct Frame: Sendable, Equatable {
    /// The ISO 8583 message bytes.
    public let message: Range<Int>
    /// The TPDU bytes when the framing has one.
    public let tpdu: Range<Int>?
}

/// Splits a byte stream into frames. Bytes may arrive in any pieces; a frame is returned once it is whole.
/// The buffer never holds more than one maximum frame plus what one `append` delivered.
public struct FrameDecoder: Sendable {
    public let framing: Framing
    /// Received bytes; frames returned by `next()` are ranges of this array until `compact()`.
    public private(set) var buffer: [UInt8] = []
    var readIndex = 0
    /// Bytes consumed from the stream before `buffer[0]`, so errors can name a stream offset.
    var streamOffset = 0
    /// Zero-length frames seen (some hosts send them as keep-alives; they are skipped).
    public private(set) var emptyFrameCount = 0

    public init(framing: Framing) {
        self.framing = framing
        buffer.reserveCapacity(framing.frameBytesMax + framing.lengthHeader.byteCount)
    }

    /// Bytes received but not yet returned as a frame.
    public var pendingByteCount: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, nil when more bytes are needed. After an error the stream is unusable.
    public mutating func next() throws(FramingError) -> Frame? {
        let headerCount = framing.lengthHeader.byteCount
        while buffer.count - readIndex >= headerCount {
            let announced: Int? = buffer.withUnsafeBytes { framing.readHeader($0, at: readIndex) }
            guard let length = announced else {
                throw FramingError.invalidLengthHeader(offset: streamOffset + readIndex)
            }
            if length > framing.frameBytesMax {
                throw FramingError.frameTooLarge(length: length, maximum: framing.frameBytesMax)
            }
            if length == 0 {
                readIndex += headerCount
                emptyFrameCount += 1
                continue
            }
            if framing.hasTPDU && length < Framing.tpduByteCount {
                throw FramingError.frameShorterThanTPDU(length: length)
            }
            let start = readIndex + headerCount
            guard buffer.count - start >= length else { return nil }
            readIndex = start + length
            precondition(length <= framing.frameBytesMax && readIndex <= buffer.count, "a whole frame within the limit")
            if framing.hasTPDU {
                let messageStart = start + Framing.tpduByteCount
                return Frame(message: messageStart..<readIndex, tpdu: start..<messageStart)
            }
            return Frame(message: start..<readIndex, tpdu: nil)
        }
        return nil
    }

    /// Drops the bytes of frames already returned; ranges from earlier `next()` calls become invalid.
    public mutating func compact() {
        precondition(readIndex >= 0 && readIndex <= buffer.count, "frames returned lie inside the buffer")
        guard readIndex > 0 else { return }
        streamOffset += readIndex
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else {
            buffer.removeSubrange(0..<readIndex)
        }
        readIndex = 0
    }
}
