import Foundation
import Glibc
import Testing

/// Reports under pressure, on the real binary over real TCP: at most two at once (a third is 503 with
/// Retry-After), a reader that stops reading holds the report back (the switch's memory stays put and ISO keeps
/// answering), and readers that go away give their places back. The members come from a real import, so the
/// reports also show that imported members' cards are masked (first 6 + last 4), not `-`.
@Suite("Report streams", .serialized)
struct ReportStreamTests {
    /// Enough rows that a report outgrows what the kernel buffers for a stalled reader (about 4 MiB sent plus the
    /// reader's window): about 330 bytes a row, 10 MB a report.
    static let memberCount = 30_000

    /// Imports `memberCount` members with long Persian names; returns the imported card numbers.
    static func importMembers(_ harness: AdminHarness) throws -> [String] {
        let name = String(repeating: "ع", count: 90)
        var text = MemberImportTests.header + "\n"
        var pans: [String] = []
        for number in 1...memberCount {
            let pan = MemberImportTests.card(number, test: 61)
            pans.append(pan)
            text += "\(pan),\(name) \(number),+98912\(String(format: "%07d", number)),,,\n"
        }
        try importFile(text, rows: memberCount, harness)
        return pans
    }

    /// Uploads `text` (a header and `rows` rows) as a member import and waits for its end.
    static func importFile(_ text: String, rows: Int, _ harness: AdminHarness) throws {
        let file = harness.directory.path + "/members.csv"
        try MemberImportTests.write(text, to: file)
        let upload = try MemberImportTests.upload(harness.port, token: harness.admin, file: file)
        let id = try #require(upload.json["id"] as? String, "\(upload.body)")
        let end = try MemberImportTests.waitForEnd(harness.port, token: harness.admin, id: id)
        #expect(end["rowsImported"] as? Int == rows, "\(end)")
    }

    static func masked(_ pan: String) -> String { String(pan.prefix(6)) + "******" + String(pan.suffix(4)) }

    @Test("two reports at once: a third is 503 with Retry-After; stalled readers hold their reports back, ISO answers")
    func twoAtOnceWithStalledReaders() throws {
        // Stalled for as long as the test takes (a loaded machine may take minutes): no stalled-reader timeout here.
        var settings = MemberImportTests.settings()
        settings.limits = ["reportStalledReaderTimeoutMs": 3_600_000]
        let harness = try AdminHarness(settings: settings)
        defer { harness.close() }
        let pans = try Self.importMembers(harness)
        let readers = try (0..<2).map { _ in
            try SlowReader(port: harness.port, path: "/v1/reports/members.csv", token: harness.admin)
        }
        #expect(readers.map(\.status) == [200, 200])
        for reader in readers { reader.waitUntilStalled() }

        let third = try harness.get("/v1/reports/cards-issued.csv", token: harness.admin)
        #expect(third.code == 503 && third.header("retry-after") == "5", "\(third.code) \(third.body)")
        let client = try SwitchClient(port: harness.server.port)
        var terminal = Terminal(id: "SLOW0001")
        #expect(try client.exchange(terminal.purchase(pans[7], 10_000)).code == "00")

        for reader in readers {
            let text = try reader.readToEnd()
            #expect(!pans.prefix(100).contains { text.contains($0) }, "no full card number")
            let rows = text.split(separator: "\r\n", omittingEmptySubsequences: false)
            #expect(rows.count == Self.memberCount + 2, "a header, every member, the final CRLF")
            let cards = rows.dropFirst().dropLast().map { String($0.split(separator: ",")[1]) }
            #expect(cards.contains(Self.masked(pans[0])))
            #expect(
                cards.allSatisfy { $0.hasPrefix("603799******") && $0.count == 16 },
                "every imported member shows its masked card, never `-`")
        }
    }

    @Test("readers that disconnect mid-report give their places back: the next two reports both run to the end")
    func disconnectsFreeTheirPlaces() throws {
        let harness = try AdminHarness(settings: MemberImportTests.settings())
        defer { harness.close() }
        let pans = try Self.importMembers(harness)
        let leaving = try (0..<2).map { _ in
            try SlowReader(port: harness.port, path: "/v1/reports/members.csv", token: harness.admin)
        }
        for reader in leaving { reader.waitUntilStalled() }
        for reader in leaving { reader.close() }
        // The report threads see the connection gone at their next look (every millisecond while stalled).
        var next: [SlowReader] = []
        for _ in 0..<200 where next.count < 2 {
            let reader = try SlowReader(port: harness.port, path: "/v1/reports/cards-issued.csv", token: harness.admin)
            if reader.status == 200 { next.append(reader) } else { reader.close(); usleep(50_000) }
        }
        #expect(next.count == 2, "both places are free again")
        for reader in next {
            let text = try reader.readToEnd()
            #expect(!pans.prefix(100).contains { text.contains($0) }, "no full card number")
            let rows = text.split(separator: "\r\n").dropFirst()
            #expect(rows.count == Self.memberCount)
            #expect(rows.contains { $0.hasPrefix(Self.masked(pans[1]) + ",loyalty,mbr_") })
            #expect(!rows.contains { $0.hasPrefix("-,") }, "an imported card is masked, never `-`")
        }
    }
}

/// An HTTP/1.1 client on a raw socket with a small receive buffer that reads the answer's head and then only when
/// asked: a reader that stalls mid-report.
final class SlowReader {
    let descriptor: Int32
    private(set) var status = 0
    /// Bytes read after the head (still chunked).
    private var body: [UInt8] = []

    init(port: UInt16, path: String, token: String) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SwitchTestError("socket: errno \(errno)") }
        var small: Int32 = 4096
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw SwitchTestError("connect: errno \(errno)") }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, 0) == request.count else { throw SwitchTestError("send") }
        try readHead()
    }

    deinit { close() }

    private func readHead() throws {
        var buffer = [UInt8](repeating: 0, count: 1024)
        var head: [UInt8] = []
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { throw SwitchTestError("no answer head (errno \(errno))") }
            head += buffer[0..<count]
            if let end = head.firstRange(of: Array("\r\n\r\n".utf8)) {
                body = Array(head[end.upperBound...])
                let statusLine = String(decoding: head[0..<end.lowerBound], as: UTF8.self)
                status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
                return
            }
            guard head.count < 64 << 10 else { throw SwitchTestError("answer head too long") }
        }
    }

    /// Waits until what the kernel holds for this reader stops growing (the switch has stopped sending), at most
    /// 30 s.
    func waitUntilStalled() {
        var last: Int32 = -1
        var steady = 0
        for _ in 0..<300 where steady < 10 {
            var unread: Int32 = 0
            _ = ioctl(descriptor, UInt(FIONREAD), &unread)
            steady = unread == last ? steady + 1 : 0
            last = unread
            usleep(100_000)
        }
    }

    /// Reads the rest of the chunked answer up to its last chunk; the CSV text.
    func readToEnd() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let terminator = Array("\r\n0\r\n\r\n".utf8)
        while !(body.count >= terminator.count && Array(body.suffix(terminator.count)) == terminator) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { throw SwitchTestError("the answer ended before its last chunk (errno \(errno))") }
            body += buffer[0..<count]
        }
        return String(decoding: try Self.dechunk(body), as: UTF8.self)
    }

    private var isOpen = true

    /// Closes the socket as a client that goes away does: with unread bytes in it, the kernel resets the
    /// connection, so the switch sees it gone.
    func close() {
        guard isOpen else { return }
        isOpen = false
        _ = Glibc.close(descriptor)
    }

    static func dechunk(_ bytes: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        var position = 0
        while true {
            guard let lineEnd = bytes[position...].firstRange(of: Array("\r\n".utf8)) else {
                throw SwitchTestError("a chunk without its size line")
            }
            let sizeText = String(decoding: bytes[position..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText, radix: 16) else { throw SwitchTestError("chunk size \(sizeText)") }
            if size == 0 { return output }
            let start = lineEnd.upperBound
            guard start + size + 2 <= bytes.count else { throw SwitchTestError("a cut chunk") }
            output += bytes[start..<(start + size)]
            position = start + size + 2
        }
    }
}
