import Foundation
import Glibc
import TestSupport

/// A problem in a test's set-up, in words.
public struct NotificationTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// webhook_receiver.py as a child process: Python's http.server checking signatures with Python's hmac and
/// answering 200, 500, late, reset, redirect or huge as told. Its log is one JSON line per request.
public final class WebhookReceiver {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("webhook_receiver.py").path

    public struct Request {
        public let id: String
        public let bodyId: String
        public let member: String
        public let sequence: Int
        public let signatureOk: Bool
        public let answer: String
        public let card: String
        public let text: String

        public init(
            id: String, bodyId: String, member: String, sequence: Int, signatureOk: Bool, answer: String,
            card: String, text: String
        ) {
            self.id = id
            self.bodyId = bodyId
            self.member = member
            self.sequence = sequence
            self.signatureOk = signatureOk
            self.answer = answer
            self.card = card
            self.text = text
        }
    }

    let process: Spawned
    public let logPath: String
    public let port: UInt16

    public init(directory: String, secret: String, arguments: [String] = []) throws {
        let name = "receiver-\(UInt32.random(in: 0...UInt32.max))"
        logPath = directory + "/" + name + ".log"
        let portPath = directory + "/" + name + ".port"
        process = try Spawned(
            "python3", [Self.script, "--secret", secret, "--log", logPath] + arguments, output: .file(portPath))
        var line = ""
        let deadline = Date().addingTimeInterval(30)
        while !line.hasSuffix("\n") && process.isRunning && Date() < deadline {
            usleep(5_000)
            line = (try? String(contentsOfFile: portPath, encoding: .utf8)) ?? ""
        }
        guard let port = UInt16(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.kill()
            throw NotificationTestError("receiver did not print its port in 30 s: \(line)")
        }
        self.port = port
    }

    public func stop() { process.kill() }

    public var url: String { "http://127.0.0.1:\(port)/hooks/loyalty" }

    /// Every request logged so far, in the order the receiver took them.
    public var requests: [Request] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Request(
                id: object["id"] as? String ?? "", bodyId: object["bodyId"] as? String ?? "",
                member: object["member"] as? String ?? "", sequence: object["sequence"] as? Int ?? -1,
                signatureOk: object["signatureOk"] as? Bool ?? false, answer: object["answer"] as? String ?? "",
                card: object["card"] as? String ?? "", text: object["text"] as? String ?? "")
        }
    }

    /// Ids answered "ok" at least once.
    public var acknowledgedIds: Set<String> { Set(requests.filter { $0.answer == "ok" }.map(\.id)) }

    /// Waits at most `timeout` seconds until `condition` holds of the log.
    public func wait(timeout: Double, until condition: ([Request]) -> Bool) -> Bool {
        eventually(timeout: timeout) { condition(requests) }
    }

    /// The first violation of "per member, each request is the event after the last acknowledged one", or nil:
    /// events of a member are never sent ahead of an earlier one's acknowledgement.
    /// With `allowingRepeats`, any acknowledged event may come again (at least once): an answer the receiver sent
    /// after the switch's response timeout is a failed try to the switch, and a restart after SIGKILL re-sends from
    /// its durable progress, which is group-committed and so may lie several acknowledged events back per member.
    public static func orderViolation(_ requests: [Request], allowingRepeats: Bool = false) -> String? {
        var acknowledged: [String: Int] = [:]
        for request in requests {
            let last = acknowledged[request.member] ?? 0
            guard request.sequence == last + 1 || (allowingRepeats && request.sequence <= last) else {
                return "member \(request.member): sequence \(request.sequence) after \(last) was acknowledged"
            }
            if request.answer == "ok" { acknowledged[request.member] = max(last, request.sequence) }
        }
        return nil
    }
}

/// Polls `condition` every 20 ms for at most `timeout` seconds; its last value.
public func eventually(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A scratch directory under /tmp.
public func scratchDirectory(_ name: String = #function) -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }.prefix(40)
    let path = NSTemporaryDirectory() + "notify-\(safe)-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
