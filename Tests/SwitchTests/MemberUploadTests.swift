import Foundation
import Glibc
import Testing

/// Streamed member uploads on the real binary (`POST /v1/imports/members` written to disk as it arrives): a
/// 200,000-row upload in small writes costs the switch far less memory than the file and imports every row;
/// `admin.importBytesMax` is 413; a file size limit mid-upload is 507; a client that goes away or stalls leaves
/// no spool file, no import and its place free.
@Suite("Member uploads", .serialized)
struct MemberUploadTests {
    /// `rows` member rows (card `number` of test `test`, points = number) after the header, as bytes.
    static func rows(_ count: Int, test: Int, from first: Int = 1) -> [UInt8] {
        var bytes = Array((MemberImportTests.header + "\n").utf8)
        bytes.reserveCapacity(count * 64)
        for number in first..<(first + count) {
            bytes += Array(
                "\(MemberImportTests.card(number, test: test)),Member \(number),+98912\(number),,\(number),\n".utf8)
        }
        return bytes
    }

    /// The switch's resident memory (VmRSS of /proc/PID/status), in bytes.
    static func residentBytes(_ server: SwitchProcess) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(server.process.pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { throw SwitchTestError("no VmRSS in /proc status") }
        return kilobytes * 1024
    }

    /// The spool files in `DATA/imports/` and their sizes.
    static func spoolFiles(_ data: String) -> [(name: String, bytes: Int)] {
        let directory = data + "/imports"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".csv") }.map { name in
            let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
            return (name, size)
        }
    }

    /// Polls `condition` every 10 ms, at most `seconds` (a bound on waiting, not a timing assertion).
    static func waitUntil(_ what: String, seconds: Int = 60, _ condition: () throws -> Bool) throws {
        for _ in 0..<(seconds * 100) {
            if try condition() { return }
            usleep(10_000)
        }
        throw SwitchTestError("still waiting for \(what) after \(seconds) s")
    }

    /// The head of an upload of `length` bytes.
    static func head(_ port: UInt16, token: String, length: Int) -> String {
        "POST /v1/imports/members HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: text/csv\r\nContent-Length: \(length)\r\n\r\n"
    }

    /// Polls `GET /v1/imports/{id}` until it is no longer running (at most 10 minutes: a loaded machine).
    static func waitForEnd(_ port: UInt16, token: String, id: String) throws -> [String: Any] {
        var status: [String: Any] = [:]
        try waitUntil("import \(id)", seconds: 600) {
            status = try AdminAccessClient.call(port, "GET", "/v1/imports/\(id)", token: token).json
            return status["state"] as? String != "running"
        }
        return status
    }

    @Test(
        "200,000 rows streamed in 4 KiB writes: while the last byte is held back the switch's RSS has grown by less than half the file; then every row is imported"
    )
    func bigUploadInSmallWrites() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: MemberImportTests.settings())
        defer { server.stop() }
        let port = server.adminPort!
        let count = 200_000
        let file = Self.rows(count, test: 31)
        let before = try Self.residentBytes(server)
        let client = try RawHTTPClient(port: port)
        client.write(Self.head(port, token: admin, length: file.count))
        var offset = 0
        while offset < file.count - 1 {
            let end = min(offset + 4096, file.count - 1)
            try client.write(bytes: Array(file[offset..<end]))
            offset = end
        }
        try Self.waitUntil("the spool to hold all but the last byte") {
            Self.spoolFiles(directory.data).first?.bytes == file.count - 1
        }
        let held = try Self.residentBytes(server)
        #expect(held - before < file.count / 2, "RSS grew \(held - before) bytes for a \(file.count)-byte upload")
        try client.write(bytes: [file[file.count - 1]])
        let answer = client.read(until: "}", count: 1)
        #expect(answer.hasPrefix("HTTP/1.1 202"), "\(answer)")
        let id = try #require(answer.range(of: "imp_").map { String(answer[$0.lowerBound...].prefix(20)) })
        let status = try Self.waitForEnd(port, token: admin, id: id)
        #expect(status["state"] as? String == "done" && status["rowsImported"] as? Int == count, "\(status)")
        for number in [1, count / 2, count] {
            let member = try MemberImportTests.member(port, token: admin, pan: MemberImportTests.card(number, test: 31))
            #expect(MemberImportTests.balances(member).map { [$0.0, $0.1] } == [number, 0])
        }
        #expect(Self.spoolFiles(directory.data).isEmpty, "the spool is removed after the import")
    }

    @Test(
        "admin.importBytesMax: a file of exactly the limit is taken; one byte more is 413 naming the setting, before a byte is written"
    )
    func importBytesMax() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let exact = Self.rows(40, test: 32)
        let (server, admin) = try AdminUsersAndAuditTests.start(
            directory, settings: MemberImportTests.settings(["importBytesMax": exact.count, "bodyBytesMax": 64]))
        defer { server.stop() }
        let port = server.adminPort!
        let path = directory.path + "/exact.csv"
        try Data(exact).write(to: URL(fileURLWithPath: path))
        let taken = try MemberImportTests.upload(port, token: admin, file: path)
        #expect(taken.code == 202, "admin.bodyBytesMax (64) does not bound uploads: \(taken.body)")
        let over = directory.path + "/over.csv"
        try Data(exact + Array("\n".utf8)).write(to: URL(fileURLWithPath: over))
        let refused = try AdminAccessClient.answer(
            [
                "-i", "-X", "POST", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/v1/imports/members",
                "-H", "Authorization: Bearer \(admin)", "-H", "Content-Type: text/csv",
                "-H", "Expect: 100-continue", "--data-binary", "@\(over)",
            ], label: "POST /v1/imports/members over the limit")
        #expect(refused.code == 413 && refused.body.contains("admin.importBytesMax"), "\(refused.body)")
        let status = try Self.waitForEnd(port, token: admin, id: try #require(taken.json["id"] as? String))
        #expect(status["rowsImported"] as? Int == 40)
    }

    @Test(
        "a file size limit reached mid-upload (ulimit -f): 507 naming the spool file, no file left, nothing imported, the next upload taken"
    )
    func fileSizeLimit() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let admin = try AdminAccessClient.initialize(directory)
        // 66 MiB per file: the ledger's 64 MiB log segments fit, a 68 MiB upload does not.
        let limitBlocks = 66 << 11
        let launcher = ["/bin/sh", "-c", "ulimit -f \(limitBlocks); exec \"$0\" \"$@\""]
        let server = try SwitchProcess(directory: directory, settings: MemberImportTests.settings(), launcher: launcher)
        defer { server.stop() }
        let port = server.adminPort!
        let big = directory.path + "/big.csv"
        var bytes = Self.rows(10, test: 33)
        let filler = Array("\(MemberImportTests.card(99, test: 33)),Filler,,,1,\n".utf8)
        bytes.reserveCapacity(68 << 20)
        while bytes.count < 68 << 20 { bytes += filler }
        try Data(bytes).write(to: URL(fileURLWithPath: big))
        let full = try MemberImportTests.upload(port, token: admin, file: big)
        #expect(full.code == 507, "\(full.code) \(full.body)")
        #expect(full.body.contains("File too large") && full.body.contains("/imports/imp_"), "\(full.body)")
        #expect(Self.spoolFiles(directory.data).isEmpty)
        let lookup = try AdminAccessClient.call(
            port, "POST", "/v1/cards/lookup", token: admin, body: #"{"pan":"\#(MemberImportTests.card(1, test: 33))"}"#)
        #expect(lookup.code == 404, "nothing was imported")
        let small = directory.path + "/small.csv"
        try Data(Self.rows(5, test: 34)).write(to: URL(fileURLWithPath: small))
        let next = try MemberImportTests.upload(port, token: admin, file: small)
        #expect(next.code == 202, "\(next.body)")
    }

    @Test(
        "the client goes away mid-upload: the spool file is removed, no import exists, its place is free (importsRunningMax 1)"
    )
    func disconnectMidUpload() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(
            directory, settings: MemberImportTests.settings(["importsRunningMax": 1]))
        defer { server.stop() }
        let port = server.adminPort!
        let file = Self.rows(20_000, test: 35)
        let client = try RawHTTPClient(port: port)
        client.write(Self.head(port, token: admin, length: file.count))
        try client.write(bytes: Array(file[0..<(file.count / 2)]))
        try Self.waitUntil("the spool to hold half the file") {
            Self.spoolFiles(directory.data).first?.bytes == file.count / 2
        }
        client.close()
        try Self.waitUntil("the spool to be removed") { Self.spoolFiles(directory.data).isEmpty }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.data + "/imports")
        #expect(names.isEmpty, "no status file for an upload that never completed: \(names)")
        let lookup = try AdminAccessClient.call(
            port, "POST", "/v1/cards/lookup", token: admin, body: #"{"pan":"\#(MemberImportTests.card(1, test: 35))"}"#)
        #expect(lookup.code == 404)
        let small = directory.path + "/small.csv"
        try Data(Self.rows(3, test: 36)).write(to: URL(fileURLWithPath: small))
        #expect(try MemberImportTests.upload(port, token: admin, file: small).code == 202, "the place is free")
    }

    @Test(
        "an upload that stops sending for bodyReadTimeoutMs is cut: connection closed, spool removed, nothing imported")
    func stalledUpload() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(
            directory, settings: MemberImportTests.settings(["bodyReadTimeoutMs": 500]))
        defer { server.stop() }
        let port = server.adminPort!
        let file = Self.rows(1000, test: 37)
        let client = try RawHTTPClient(port: port)
        client.write(Self.head(port, token: admin, length: file.count))
        try client.write(bytes: Array(file[0..<1000]))
        let answer = client.readUntilClosed()
        #expect(answer.isEmpty, "closed without an answer: \(answer)")
        try Self.waitUntil("the spool to be removed") { Self.spoolFiles(directory.data).isEmpty }
        let lookup = try AdminAccessClient.call(
            port, "POST", "/v1/cards/lookup", token: admin, body: #"{"pan":"\#(MemberImportTests.card(1, test: 37))"}"#)
        #expect(lookup.code == 404)
    }

    @Test("Idempotency-Key over a streamed body: the same file again replays the id; another file under the key is 409")
    func idempotencyKey() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, admin) = try AdminUsersAndAuditTests.start(directory, settings: MemberImportTests.settings())
        defer { server.stop() }
        let port = server.adminPort!
        let first = directory.path + "/first.csv"
        try Data(Self.rows(5, test: 38)).write(to: URL(fileURLWithPath: first))
        let other = directory.path + "/other.csv"
        try Data(Self.rows(6, test: 38)).write(to: URL(fileURLWithPath: other))
        let taken = try MemberImportTests.upload(port, token: admin, file: first, key: "upload-1")
        let again = try MemberImportTests.upload(port, token: admin, file: first, key: "upload-1")
        #expect(taken.code == 202 && again.code == 202 && again.body == taken.body)
        #expect(again.header("idempotency-replayed") == "true")
        let conflict = try MemberImportTests.upload(port, token: admin, file: other, key: "upload-1")
        #expect(conflict.code == 409, "\(conflict.body)")
        let tooLong = String(repeating: "k", count: 256)
        #expect(try MemberImportTests.upload(port, token: admin, file: first, key: tooLong).code == 400)
    }
}

extension RawHTTPClient {
    /// Writes every byte (blocking), or throws when the switch closed the connection.
    func write(bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw SwitchTestError("send: errno \(errno)") }
            offset += sent
        }
    }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }
}
