import Foundation
import TestSupport
import Glibc
import ISO8583
import Testing

/// Certificates made for one test by fixtures/tls/make-test-certificates.sh with `openssl req`/`x509` (see the
/// script for the files); a missing `openssl` fails the test.
struct TestCertificates {
    let directory: String

    init(in parent: String, serverName: String = "loyalty-switch-test") throws {
        directory = parent + "/certificates-\(serverName)"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/tls/make-test-certificates.sh").path
        let result = try runTool("/bin/bash", [script, directory, serverName])
        guard result.status == 0 else { throw SwitchTestError("make-test-certificates.sh failed: \(result.output)") }
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// A listener's `tls` object serving server.pem, with mutual TLS against ca.pem when `mutual`.
    func listenerTLS(mutual: Bool = false) -> [String: Any] {
        var tls: [String: Any] = ["certificate": path("server.pem"), "privateKey": path("server.key")]
        if mutual { tls["clientCertificateAuthority"] = path("ca.pem") }
        return tls
    }
}

/// Runs a tool with arguments and standard input from /dev/null (or `input`); standard output and error
/// together. Throws when the tool cannot start (a missing tool is a failure, never a skip); kills it after
/// `timeout` seconds.
func runTool(_ path: String, _ arguments: [String], input: Data? = nil, timeout: Double = 60) throws -> (
    status: Int32, output: String
) {
    do {
        return try ChildProcess.run(path, arguments, input: input, timeout: timeout)
    } catch let failure as ChildProcess.Failure {
        throw SwitchTestError(failure.description)
    }
}

/// Python's ssl module as an independent TLS client (Tests/SwitchTests/tls_client.py).
enum PythonTLSClient {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("tls_client.py").path

    struct Result {
        let ok: Bool
        let version: String?
        let answered: Int
        let response: [UInt8]?
        let error: String?
    }

    /// Sends the framed request `frame` `requests` times on each of `connections` connections, one after another.
    static func run(
        port: UInt16, frame: [UInt8], version: String? = nil, authority: String?, certificate: String? = nil,
        key: String? = nil, connections: Int = 1, requests: Int = 1
    ) throws -> Result {
        var arguments = [script, String(port), "--frame", frame.map { String(format: "%02x", $0) }.joined()]
        if let version { arguments += ["--version", version] }
        if let authority { arguments += ["--ca", authority] }
        if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
        arguments += ["--connections", String(connections), "--requests", String(requests)]
        let result = try runTool("/usr/bin/env", ["python3"] + arguments, timeout: 120)
        guard result.status == 0, let line = result.output.split(separator: "\n").last,
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw SwitchTestError("tls_client.py failed (\(result.status)): \(result.output)") }
        let hex = object["response"] as? String
        return Result(
            ok: object["ok"] as? Bool ?? false, version: object["version"] as? String,
            answered: object["answered"] as? Int ?? 0,
            response: hex.map { text in
                stride(from: 0, to: text.count, by: 2).map {
                    let start = text.index(text.startIndex, offsetBy: $0)
                    return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
                }
            },
            error: object["error"] as? String)
    }
}

/// `openssl s_client` against 127.0.0.1:PORT with standard input closed: it completes the handshake, prints
/// the session and leaves. Returns its whole output.
func openSSLClient(port: UInt16, _ options: [String]) throws -> String {
    try runTool("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)"] + options, timeout: 30).output
}

/// A framed 0800 echo (field 70 = 301) of the default dialect, and a check that an answer is its 0810 00.
enum EchoRequest {
    static func frame(stan: Int = 1) throws -> [UInt8] {
        var terminal = Terminal(id: "TLSTEST1", firstStan: stan)
        var message = terminal.message(800)
        try message.set(70, "301")
        return Wire.frame(try message.encoded())
    }

    static func isApproved(_ response: [UInt8]?) -> Bool {
        guard let response, let message = try? Wire.dialect.decode(response) else { return false }
        return message.mti.map { "\($0)" } == "0810" && message.string(39) == "00"
    }
}

/// The counts in the switch's shutdown line `TLS on ADDRESS: handshakes completed N, refused M (...)`.
func tlsSummary(in log: String, port: UInt16) -> (completed: Int, refused: Int, line: String)? {
    guard let line = log.split(separator: "\n").last(where: { $0.contains("TLS on 127.0.0.1:\(port): handshakes") })
    else { return nil }
    func number(after label: String) -> Int? {
        guard let range = line.range(of: label) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
    guard let completed = number(after: "completed "), let refused = number(after: "refused ") else { return nil }
    return (completed, refused, String(line))
}
