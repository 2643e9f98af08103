import NIOCore

/// Splits the stream into messages: each is preceded by a 2-byte big-endian length (no TPDU).
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    enum FrameError: Error { case emptyFrame }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) else { return .needMoreData }
        guard length > 0 else { throw FrameError.emptyFrame }
        guard buffer.readableBytes >= 2 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        let frame = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        // A partial frame left at the end of the stream is dropped.
        try decode(context: context, buffer: &buffer)
    }
}
