import Foundation
import Glibc
import HTTP
import Ledger
import Synchronization

/// The member imports of one switch: at most `runningMax` at once (each on a thread of its own, off the loops and
/// shards), their statuses kept in `DATA/imports/ID.json` (rewritten about once a second while one runs, and at its
/// end) so `GET /v1/imports/{id}` answers after a restart too. An upload waits in `DATA/imports/ID.csv` while it
/// is read and is removed at the end.
///
/// At start (`recover`), an import a stop or a crash cut short is marked `interrupted`, never left `running`; its
/// spooled upload is removed. Running the same file again finishes it (MemberImporter: keys by card).
final class MemberImports: @unchecked Sendable {
    static let runningMaxDefault = 2
    /// Finished imports kept in memory; older ones are read from their file.
    static let finishedKeptMax = 64
    static let statusWriteIntervalMs: Int64 = 1_000

    let directory: String
    let runningMax: Int
    let clockMs: @Sendable () -> Int64
    private let running = Mutex<[String: MemberImporter]>([:])
    private let finished = Mutex<[(id: String, status: MemberImportStatus)]>([])
    private let threadsDone = DispatchGroup()

    init(dataDirectory: String, runningMax: Int = MemberImports.runningMaxDefault, clockMs: @escaping @Sendable () -> Int64) {
        precondition(runningMax >= 1, "at least one import may run")
        directory = dataDirectory + "/imports"
        self.runningMax = runningMax
        self.clockMs = clockMs
    }

    /// Marks imports left `running` by a stop or crash as `interrupted`; returns how many. Creates the directory.
    func recover() throws -> Int {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var count = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            let path = directory + "/" + name
            if name.hasSuffix(".csv") || name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            guard name.hasSuffix(".json"), let data = FileManager.default.contents(atPath: path),
                var status = MemberImportStatus(json: Array(data)), status.state == .running
            else { continue }
            status.state = .interrupted
            status.failure = "the switch stopped during the import; run the same file again to finish it (rows "
                + "already imported are skipped, no opening balance is recorded twice)"
            status.finishedMs = clockMs()
            write(status)
            count += 1
        }
        return count
    }

    /// A new import id: `imp_` and 16 hexadecimal digits from the system's random source.
    static func newId() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let text = String(value, radix: 16)
        return "imp_" + String(repeating: "0", count: 16 - text.count) + text
    }

    func spoolPath(_ id: String) -> String { directory + "/" + id + ".csv" }

    /// Starts `importer` on the file at `path` on a thread of its own; false (nothing started) when `runningMax`
    /// imports run already. `removeWhenDone` removes the file at the end (an upload's spool).
    func start(_ importer: MemberImporter, path: String, removeWhenDone: Bool) -> Bool {
        let id = importer.id
        let admitted = running.withLock { running in
            guard running.count < runningMax else { return false }
            running[id] = importer
            return true
        }
        guard admitted else { return false }
        write(importer.status.withLock { $0 })
        threadsDone.enter()
        let thread = Thread { [self] in
            let final = run(importer, path: path)
            if removeWhenDone { try? FileManager.default.removeItem(atPath: path) }
            finished.withLock { list in
                list.append((id, final))
                if list.count > Self.finishedKeptMax { list.removeFirst() }
            }
            _ = running.withLock { $0.removeValue(forKey: id) }
            threadsDone.leave()
        }
        thread.name = "import-" + id.suffix(4)
        thread.start()
        return true
    }

    /// Runs `importer` on the calling thread, writing its status as it goes and at the end.
    func run(
        _ importer: MemberImporter, path: String, progress: (MemberImportStatus) -> Void = { _ in }
    ) -> MemberImportStatus {
        var lastWriteMs = clockMs()
        let final = importer.run(path: path) { status in
            progress(status)
            let now = clockMs()
            guard now - lastWriteMs >= Self.statusWriteIntervalMs else { return }
            lastWriteMs = now
            write(status)
        }
        write(final)
        return final
    }

    /// The status of import `id`: a running or recent one from memory, an older one from its file.
    func status(_ id: String) -> MemberImportStatus? {
        if let importer = running.withLock({ $0[id] }) { return importer.status.withLock { $0 } }
        if let status = finished.withLock({ $0.last { $0.id == id }?.status }) { return status }
        guard MemberImports.isWellFormed(id), let data = FileManager.default.contents(atPath: statusPath(id)) else {
            return nil
        }
        return MemberImportStatus(json: Array(data))
    }

    var runningCount: Int { running.withLock { $0.count } }

    /// Asks every running import to stop after its batch and waits for them (they end `interrupted`).
    func stopAll() {
        for importer in running.withLock({ Array($0.values) }) { importer.stopRequested.store(true, ordering: .relaxed) }
        threadsDone.wait()
    }

    static func isWellFormed(_ id: String) -> Bool {
        id.hasPrefix("imp_") && id.utf8.count == 20
            && id.utf8.dropFirst(4).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    func statusPath(_ id: String) -> String { directory + "/" + id + ".json" }

    /// Replaces the status file whole (temp file and rename), so a crash leaves the old one or the new one.
    func write(_ status: MemberImportStatus) {
        try? Data(status.jsonBytes + [0x0A]).write(to: URL(fileURLWithPath: statusPath(status.id)), options: .atomic)
    }
}
