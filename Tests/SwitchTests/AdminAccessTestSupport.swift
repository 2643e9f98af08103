import Foundation
import Glibc
import TestSupport
import Testing

/// One answer of the admin API as curl saw it.
struct AdminAnswer {
    let code: Int
    let head: String
    let body: String

    /// A header's value (name without case), or nil.
    func header(_ name: String) -> String? {
        for line in head.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name.lowercased() else {
                continue
            }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

/// The users and audit routes driven with curl, and the `admin init` / `audit verify` commands.
enum AdminAccessClient {
    /// `METHOD PATH` with an optional token, JSON body and Idempotency-Key.
    static func call(
        _ port: UInt16, _ method: String, _ path: String, token: String?, body: String? = nil, key: String? = nil
    ) throws -> AdminAnswer {
        var arguments = ["-i", "-X", method, "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
        if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        if let key { arguments += ["-H", "Idempotency-Key: \(key)"] }
        return try answer(arguments, label: "\(method) \(path)")
    }

    /// A POST with a JSON body (and an Idempotency-Key when given), for suites that start the switch themselves.
    static func post(
        _ port: UInt16, _ path: String, token: String, _ body: String, key: String? = nil
    ) throws -> AdminAnswer {
        try call(port, "POST", path, token: token, body: body, key: key)
    }

    /// The card id and member id of `pan` (lookup must answer 200).
    static func cardId(_ port: UInt16, token: String, pan: String) throws -> (card: String, member: String) {
        let answer = try post(port, "/v1/cards/lookup", token: token, #"{"pan":"\#(pan)"}"#)
        guard answer.code == 200, let card = answer.json["card"] as? [String: Any], let id = card["id"] as? String,
            let member = card["memberId"] as? String
        else { throw SwitchTestError("lookup: \(answer.code) \(answer.body)") }
        return (id, member)
    }

    /// Runs curl with `arguments` (which ask for `-i` and `-w "\n%{http_code}"`) and splits what it printed.
    static func answer(_ arguments: [String], label: String) throws -> AdminAnswer {
        let result = try AdminClient.curl(arguments)
        guard result.status == 0, let newline = result.output.lastIndex(of: "\n"),
            let code = Int(result.output[result.output.index(after: newline)...])
        else { throw SwitchTestError("curl \(label) failed: \(result.output)") }
        let text = String(result.output[..<newline])
        guard let split = text.range(of: "\r\n\r\n") else { return AdminAnswer(code: code, head: text, body: "") }
        return AdminAnswer(code: code, head: String(text[..<split.lowerBound]), body: String(text[split.upperBound...]))
    }

    /// Creates a user; returns its id and token (the answer must be 201).
    static func createUser(
        _ port: UInt16, token: String, name: String, role: String, merchants: [String]? = nil
    ) throws -> (id: String, token: String) {
        var body: [String: Any] = ["name": name, "role": role]
        if let merchants { body["merchants"] = merchants }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        let answer = try call(port, "POST", "/v1/users", token: token, body: text)
        guard answer.code == 201, let id = answer.json["id"] as? String, let token = answer.json["token"] as? String
        else { throw SwitchTestError("POST /v1/users \(name): \(answer.code) \(answer.body)") }
        return (id, token)
    }

    /// The trail's entries (admin or auditor token), oldest first.
    static func audit(_ port: UInt16, token: String, after: Int = 0) throws -> [[String: Any]] {
        let answer = try call(port, "GET", "/v1/audit?after=\(after)&limit=1000", token: token)
        guard answer.code == 200, let items = answer.json["items"] as? [[String: Any]] else {
            throw SwitchTestError("GET /v1/audit: \(answer.code) \(answer.body)")
        }
        return items
    }

    static func users(_ port: UInt16, token: String) throws -> [[String: Any]] {
        let answer = try call(port, "GET", "/v1/users", token: token)
        guard answer.code == 200, let items = answer.json["items"] as? [[String: Any]] else {
            throw SwitchTestError("GET /v1/users: \(answer.code) \(answer.body)")
        }
        return items
    }

    /// `loyalty-switch ARGUMENTS`: exit status and everything it printed.
    static func command(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool(try SwitchExecutable.path(), arguments)
    }

    /// `admin init` on `directory`'s data directory; the token it printed.
    static func initialize(_ directory: ScratchDirectory, name: String = "root") throws -> String {
        let result = try command(["admin", "init", "--data", directory.data, "--name", name])
        guard result.status == 0,
            let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("token: ") })
        else { throw SwitchTestError("admin init: \(result.status) \(result.output)") }
        return String(line.dropFirst(7))
    }
}

extension SwitchSettings {
    /// The admin listener on a free port plus `access` keys of the `admin` section.
    static func admin(_ access: [String: Any]) -> SwitchSettings {
        var settings = SwitchSettings()
        var admin: [String: Any] = ["listen": "127.0.0.1:0"]
        for (key, value) in access { admin[key] = value }
        settings.admin = admin
        return settings
    }
}

/// The SIGKILL tests' load: admin_burst.py sends changes from 6 threads; once `count` of them were answered 201
/// (or 60 s passed) the switch is killed. Returns the value of every 201 answer (a user id, a balance).
enum AdminBurst {
    static func killAfter(
        _ count: Int, server: SwitchProcess, directory: ScratchDirectory, token: String, member: String? = nil,
        event: String? = nil
    ) throws -> [String] {
        let outputPath = directory.path + "/burst.out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("admin_burst.py").path
        let burst = try Spawned(
            "python3",
            [script, String(server.adminPort!), token, "6"] + (member.map { [$0] } ?? []) + (event.map { [$0] } ?? []),
            output: .file(outputPath))
        func answered() -> [String] {
            let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
            // 201 for users and adjustments, 200 for gift card loads.
            return text.split(separator: "\n").filter { $0.hasPrefix("201 ") || $0.hasPrefix("200 ") }.map {
                String($0.dropFirst(4))
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while answered().count < count && Date() < deadline && burst.isRunning { usleep(2_000) }
        server.stop()
        // The script ends once the switch is gone (its connections fail); bounded all the same.
        if burst.wait(timeout: 60) == nil { burst.kill() }
        return answered()
    }
}
