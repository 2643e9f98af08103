#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import NIOCore
import NIOPosix

/// nio-switch --port N --threads N --data DIR
@main
struct NIOSwitch {
    static func main() throws {
        var port = 0
        var threads = System.coreCount
        var data = "./nio-switch-data"
        var arguments = CommandLine.arguments.dropFirst()
        while let option = arguments.popFirst() {
            guard let value = arguments.popFirst() else { usage() }
            switch option {
            case "--port": port = Int(value) ?? -1
            case "--threads": threads = Int(value) ?? 0
            case "--data": data = value
            default: usage()
            }
        }
        guard (0...65535).contains(port), threads >= 1 else { usage() }

        let log = try WriteAheadLog(directory: data, capacity: 65_536)
        log.start()
        let ledger = Ledger(log: log, maximumKeys: 4 << 20)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SwitchHandler(ledger: ledger))
                }
            }
        let server = try bootstrap.bind(host: "127.0.0.1", port: port).wait()
        printError("listening on 127.0.0.1:\(server.localAddress?.port ?? port)")

        // SIGINT/SIGTERM: stop accepting, commit and answer what is queued, close every connection, exit 0.
        var signalSources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            // @Sendable: runs on a Dispatch queue, not on the main actor that `main` is isolated to.
            source.setEventHandler { @Sendable in server.close(promise: nil) }
            source.resume()
            signalSources.append(source)
        }
        try? server.closeFuture.wait()
        log.stop()
        printError(log.summary)
        try? group.syncShutdownGracefully()
        signalSources.forEach { $0.cancel() }
        exit(0)
    }

    static func usage() -> Never {
        printError("usage: nio-switch [--port N (0: any)] [--threads N] [--data DIR]")
        exit(2)
    }

    static func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}
