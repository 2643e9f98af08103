import NIOCore

/// One terminal connection: decodes each frame, answers 0800 itself, asks the ledger about 0200/0400. Immediate
/// answers are written in channelRead and flushed once per read batch in channelReadComplete; answers that wait
/// for the write-ahead log arrive through `deliver` (on this channel's loop) and are flushed once per log round.
final class SwitchHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let ledger: Ledger
    private var context: ChannelHandlerContext?
    private var needsFlush = false

    init(ledger: Ledger) {
        self.ledger = ledger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let request: Request
        do {
            request = try frame.withUnsafeReadableBytes { bytes throws(MessageError) in try ISO8583.parse(bytes) }
        } catch {
            context.close(promise: nil)
            return
        }
        switch request.mti {
        case 800:
            var writer = ResponseWriter(
                allocator: context.channel.allocator, mti: 810, secondaryBitmap: request.f70 != nil)
            writer.echo(7, request.f7, from: frame)
            writer.echo(11, request.f11, from: frame)
            writer.code(.approved)
            writer.echo(70, request.f70, from: frame)
            write(writer.finish(), context: context)
        case 200, 201, 400, 401:
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            switch ledger.authorize(request, frame: frame, allocator: context.channel.allocator, handler: handler) {
            case .answer(let response): write(response, context: context)
            case .queued: break
            }
        default:
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func write(_ response: ByteBuffer, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(response), promise: nil)
        needsFlush = true
    }

    /// An answer released by the write-ahead log (called on this channel's loop).
    func deliver(_ response: ByteBuffer) {
        guard let context else { return }
        write(response, context: context)
    }

    func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }
}
