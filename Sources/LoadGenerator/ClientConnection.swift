import CLinux
import Glibc
import ISO8583
import Network

/// One TCP connection of a run: its terminal id, the requests in flight on it, its unsent output and the frames it
/// has half received. Owned by the runner's single thread, so nothing here is locked.
final class ClientConnection {
    let index: Int
    let descriptor: Int32
    let terminalId: [UInt8]
    var table: InFlightTable
    var purchases = ApprovedOriginals()
    var redeems = ApprovedOriginals()
    /// Encoded frames not yet written; bounded by the in-flight limit times the largest request.
    var output: [UInt8] = []
    var outputStart = 0
    var decoder: FrameDecoder
    var isClosed = false
    var waitsForWritable = false
    /// The TLS session with `--tls` (handshake done at connect); nil for plain TCP.
    var tls: TLSSession?

    init(
        index: Int, descriptor: Int32, tls: TLSSession?, terminalId: [UInt8], inFlightLimit: Int, firstStan: UInt32,
        framing: Framing
    ) {
        self.index = index
        self.descriptor = descriptor
        self.tls = tls
        self.terminalId = terminalId
        table = InFlightTable(limit: inFlightLimit, firstStan: firstStan)
        decoder = FrameDecoder(framing: framing)
        output.reserveCapacity(inFlightLimit * 256)
    }

    var pendingOutputByteCount: Int { output.count - outputStart }

    /// Writes what the socket takes. Returns false when the connection failed (the caller closes it).
    func flush() -> Bool {
        while pendingOutputByteCount > 0 {
            let written = retryingInterrupts {
                output.withUnsafeBytes { raw in writeSome(raw.baseAddress! + outputStart, count: raw.count - outputStart) }
            }
            if written < 0 {
                if errno == EAGAIN { break }
                return false
            }
            outputStart += written
        }
        if pendingOutputByteCount == 0 {
            output.removeAll(keepingCapacity: true)
            outputStart = 0
        }
        return true
    }

    /// send(2), or SSL_write with `--tls`: bytes written, or -1 with errno (EAGAIN when the socket is full).
    /// A TLS write that needs a read first (no renegotiation is allowed, so never in practice) is a failure.
    func writeSome(_ pointer: UnsafeRawPointer, count: Int) -> Int {
        guard let tls else { return Glibc.send(descriptor, pointer, count, Int32(MSG_NOSIGNAL)) }
        switch tls.write(pointer, count: count) {
        case .processed(let written): return written
        case .wantsWrite:
            errno = EAGAIN
            return -1
        case .wantsRead, .endOfStream, .failed:
            errno = EPIPE
            return -1
        }
    }

    /// read(2), or SSL_read with `--tls`: bytes read, 0 at the end of the stream, -1 with errno (EAGAIN: nothing yet).
    func readSome(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let tls else { return Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
        switch tls.read(into: buffer) {
        case .processed(let count): return count
        case .wantsRead, .wantsWrite:
            errno = EAGAIN
            return -1
        case .endOfStream: return 0
        case .failed:
            errno = ECONNRESET
            return -1
        }
    }

    /// Bytes OpenSSL holds that epoll will not announce (TLS read-ahead).
    var hasBufferedInput: Bool { tls?.hasBufferedInput ?? false }

    func closeSocket() {
        guard !isClosed else { return }
        isClosed = true
        tls = nil
        Glibc.close(descriptor)
    }

    /// Opens a TCP connection to `address`: a blocking connect bounded by `timeoutMs` (SO_SNDTIMEO bounds
    /// connect on Linux), the TLS handshake with `tls` (bounded by the same timeout on sends and receives), then
    /// non-blocking with Nagle off, so requests leave as soon as they are written.
    static func connect(
        to address: SocketAddress, timeoutMs: Int, tls: TLSClientContext?
    ) throws(UsageProblem) -> (Int32, TLSSession?) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw UsageProblem("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var storage = address.socketAddressStorage
        let result = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(descriptor)
            throw UsageProblem("cannot connect to \(address): \(String(cString: strerror(error)))")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var session: TLSSession?
        if let tls {
            do {
                session = try tls.connect(descriptor: descriptor)
            } catch {
                Glibc.close(descriptor)
                throw UsageProblem("TLS to \(address): \(error)")
            }
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        return (descriptor, session)
    }
}

extension SocketAddress {
    /// The `sockaddr_in` for this address (SocketAddress keeps its own internal; this file may not touch it).
    var socketAddressStorage: sockaddr_in {
        var storage = sockaddr_in()
        storage.sin_family = sa_family_t(AF_INET)
        storage.sin_port = port.bigEndian
        _ = inet_pton(AF_INET, host, &storage.sin_addr)
        return storage
    }
}
