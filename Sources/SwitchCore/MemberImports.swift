import Foundation
import Glibc
import HTTP
import Ledger
import Synchronization
import SystemCalls

/// The member imports of one switch: at most `runningMax` at once, counting uploads still arriving (each on a
/// thread of its own, off the loops and shards: MemberImportUpload.swift), their statuses kept in
/// `DATA/imports/ID.json` (rewritten about once a second while one runs, and at its end) so `GET /v1/imports/{id}`
/// answers after a restart too. An upload is written to `DATA/imports/ID.csv` as it arrives (at most
/// `uploadBytesMax` bytes), read from there once complete, and removed at the end.
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
    /// The largest upload (`admin.importBytesMax`): 413 above it, before a byte of it is written.
    let uploadBytesMax: Int
    let clockMs: @Sendable () -> Int64
    /// The places of `runningMax`: imports running, and uploads still arriving (their ids not yet given out).
    private struct Places {
        var running: [String: MemberImporter] = [:]
        var uploading: [String: MemberImportSpool] = [:]
        /// The newest ended imports, at most `finishedKeptMax`; an import moves here from `running` in one step,
        /// the step that frees its place.
        var finished: [(id: String, status: MemberImportStatus)] = []
        /// `stopAll` was called: no import starts any more.
        var stopping = false
        var count: Int { running.count + uploading.count }
    }
    private let places = Mutex(Places())
    private let threadsDone = DispatchGroup()
    /// Tests only: called between an upload's admission and its thread's start (the window a stop once slipped
    /// through).
    var afterAdmission: (@Sendable () -> Void)?

    init(
        dataDirectory: String, runningMax: Int = MemberImports.runningMaxDefault,
        uploadBytesMax: Int = MemberImports.uploadBytesMaxDefault, clockMs: @escaping @Sendable () -> Int64
    ) {
        precondition(runningMax >= 1, "at least one import may run")
        precondition(uploadBytesMax >= 1, "an upload holds a header")
        directory = dataDirectory + "/imports"
        self.runningMax = runningMax
        self.uploadBytesMax = uploadBytesMax
        self.clockMs = clockMs
    }

    /// 2 GiB: twenty times a million members with every column filled.
    static let uploadBytesMaxDefault = 2 << 30

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
            precondition(status.state == .interrupted && status.finishedMs != nil, "a cut-short import is interrupted")
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
        let id = "imp_" + String(repeating: "0", count: 16 - text.count) + text
        precondition(isWellFormed(id), "a new import id is well formed")
        return id
    }

    func spoolPath(_ id: String) -> String {
        precondition(Self.isWellFormed(id), "only an import id names a spooled file")
        return directory + "/" + id + ".csv"
    }

    /// Takes a place for `upload` and runs it on a thread of its own (it writes the upload, then imports it with
    /// `runUploaded`); false, nothing started, when `runningMax` places are taken. The place is given back when
    /// the upload ends, and only then is the answer that ended it (422, 507, 409…) sent: a client that reads it
    /// finds the place free.
    func startUpload(_ upload: MemberImportUpload) -> Bool {
        startThread(for: upload.spool, upload.run) { ending in if let ending { upload.answer(ending) } }
    }

    /// Admits the upload of `spool` and runs `work` on a thread of its own, then gives its place back and calls
    /// `then` with what `work` returned; false, nothing started, at `runningMax` or once stopping. The thread is
    /// counted under the lock that admits the upload, so a `stopAll` that finds the upload also waits for its
    /// thread (counted after the lock, a stop in between returned at once and the thread ran on into a closing
    /// switch).
    func startThread<Outcome>(
        for spool: MemberImportSpool, _ work: @escaping @Sendable () -> Outcome,
        then: @escaping @Sendable (Outcome) -> Void
    ) -> Bool {
        let id = spool.id
        let admitted = places.withLock { places in
            guard places.count < runningMax && !places.stopping else { return false }
            precondition(places.uploading[id] == nil && places.running[id] == nil, "an upload has an id of its own")
            places.uploading[id] = spool
            precondition(places.count <= runningMax, "imports within their limit")
            threadsDone.enter()
            return true
        }
        guard admitted else { return false }
        afterAdmission?()
        let thread = Thread { [self] in
            setThreadName("import-" + id.suffix(4))
            let result = work()
            places.withLock { places in
                places.uploading[id] = nil
                places.running[id] = nil
            }
            then(result)
            threadsDone.leave()
        }
        thread.name = "import-" + id.suffix(4)
        thread.start()
        return true
    }

    /// From an upload's thread once the upload is complete: the import takes the upload's place and its status
    /// is visible from now on; false, nothing started, when the switch is stopping.
    func admitUploaded(_ importer: MemberImporter) -> Bool {
        let id = importer.id
        let admitted = places.withLock { places in
            precondition(places.uploading[id] != nil, "an uploaded import runs in its upload's place")
            guard !places.stopping else { return false }
            places.uploading[id] = nil
            places.running[id] = importer
            precondition(places.count <= runningMax, "an admitted import keeps its upload's place")
            return true
        }
        if admitted { write(importer.status.withLock { $0 }) }
        return admitted
    }

    /// From an upload's thread after `admitUploaded`: reads the spooled file, and removes it at the end.
    func runUploaded(_ importer: MemberImporter, path: String) {
        let id = importer.id
        let final = run(importer, path: path)
        try? FileManager.default.removeItem(atPath: path)
        places.withLock { places in
            places.running[id] = nil
            places.finished.append((id, final))
            if places.finished.count > Self.finishedKeptMax { places.finished.removeFirst() }
            precondition(places.finished.count <= Self.finishedKeptMax, "finished imports kept within their limit")
        }
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
        precondition(final.state != .running && final.id == importer.id, "the final status of this import")
        write(final)
        return final
    }

    /// The status of import `id`: a running or recent one from memory, an older one from its file. An import
    /// reads as ended only once its place is free (the final status is published in the step that frees it),
    /// so whoever sees it ended can take the place at once (admin.importsRunningMax).
    func status(_ id: String) -> MemberImportStatus? {
        let (importer, ended) = places.withLock { places in
            (places.running[id], places.finished.last { $0.id == id }?.status)
        }
        if let importer { return importer.status.withLock { $0 } }
        if let ended { return ended }
        guard MemberImports.isWellFormed(id), let data = FileManager.default.contents(atPath: statusPath(id)) else {
            return nil
        }
        return MemberImportStatus(json: Array(data))
    }

    /// Imports running and uploads arriving.
    var runningCount: Int { places.withLock { $0.count } }

    /// Gives up the uploads still arriving (their files removed, nothing imported), asks every running import to
    /// stop after its batch, and waits for them (they end `interrupted`).
    func stopAll() {
        let (importers, spools) = places.withLock { places in
            places.stopping = true
            return (Array(places.running.values), Array(places.uploading.values))
        }
        for spool in spools { spool.cancel("the switch is stopping") }
        for importer in importers { importer.stopRequested.store(true, ordering: .relaxed) }
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
