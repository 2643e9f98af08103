import Foundation
import Glibc
import Testing

/// Real HTTP clients against the switch's admin API: curl, Python's http.client and urllib, and a raw socket
/// for what clients hide (pipelining, a request cut short). A missing tool fails the test; nothing is skipped.
enum AdminClient {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("admin_client.py").path

    /// `curl -sS` with `arguments`; standard output (with `-i`, the head too) and the exit status.
    static func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool("/usr/bin/curl", ["-sS", "--max-time", "20"] + arguments)
    }

    /// The status code curl saw (`-w %{http_code}`), and the body.
    static func curlStatus(_ arguments: [String]) throws -> (code: Int, body: String) {
        let result = try curl(["-w", "\n%{http_code}"] + arguments)
        guard result.status == 0, let newline = result.output.lastIndex(of: "\n"),
            let code = Int(result.output[result.output.index(after: newline)...])
        else { throw SwitchTestError("curl \(arguments) failed: \(result.output)") }
        return (code, String(result.output[..<newline]))
    }

    /// Runs admin_client.py and decodes its JSON line.
    static func python(_ arguments: [String]) throws -> [String: Any] {
        let result = try runTool("/usr/bin/env", ["python3", script] + arguments)
        guard result.status == 0, let data = result.output.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw SwitchTestError("admin_client.py \(arguments) failed: \(result.output)") }
        return object
    }

    /// `GET PATH` with curl; the body, which must come with 200.
    static func get(_ port: UInt16, _ path: String) throws -> String {
        let (code, body) = try curlStatus(["http://127.0.0.1:\(port)\(path)"])
        guard code == 200 else { throw SwitchTestError("GET \(path): \(code) \(body)") }
        return body
    }

    /// Samples of a Prometheus text: `name{labels}` → value.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// promtool from Debian's prometheus package: its verdict on a scrape (status 0 and no lint output: clean).
    static func promtool(_ text: String) throws -> (status: Int32, output: String) {
        try runTool("/usr/bin/promtool", ["check", "metrics"], input: Data(text.utf8))
    }
}

/// A blocking socket to the admin API, for bytes no client library would send.
final class RawHTTPClient {
    let descriptor: Int32

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw SwitchTestError("connect to 127.0.0.1:\(port): errno \(errno)")
        }
    }

    deinit { Glibc.close(descriptor) }

    func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends `request` whole and reads the answer until the server closes.
    func exchange(_ request: String) -> String {
        write(request)
        return readUntilClosed()
    }

    /// Everything until the server closes (or 20 s without a byte).
    func readUntilClosed() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads until `text` has appeared `count` times (or the server closes, or 20 s pass).
    func read(until text: String, count: Int) -> String {
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.components(separatedBy: text).count - 1 < count {
            let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if got <= 0 { break }
            received += String(decoding: buffer[0..<got], as: UTF8.self)
        }
        return received
    }
}
