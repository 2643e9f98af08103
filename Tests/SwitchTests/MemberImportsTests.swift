import Foundation
import Synchronization
import Testing

@testable import SwitchCore

/// `MemberImports`, the places of running imports and arriving uploads: a stop waits for every upload thread it
/// could see, also one admitted an instant before it.
@Suite struct MemberImportsTests {
    @Test("a stop between an upload's admission and its thread's start waits for that thread (it returned at once)")
    func stopWaitsForAnUploadJustAdmitted() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let imports = MemberImports(dataDirectory: directory.path, runningMax: 2, clockMs: { 0 })
        _ = try imports.recover()
        let spool = MemberImportSpool(
            id: "imp_0123456789abcdef", path: directory.path + "/imports/upload", bytesMax: 16, resume: {})
        let stopReturned = Atomic<Bool>(false)
        let stopReturnedInWindow = Atomic<Bool>(false)
        let threadRan = Atomic<Bool>(false)
        let stopped = DispatchSemaphore(value: 0)
        // In the window: a stop from another thread, given 200 ms to return (it must not: the upload is counted).
        imports.afterAdmission = {
            Thread {
                imports.stopAll()
                stopReturned.store(true, ordering: .releasing)
                stopped.signal()
            }.start()
            usleep(200_000)
            stopReturnedInWindow.store(stopReturned.load(ordering: .acquiring), ordering: .relaxed)
        }
        let started = imports.startThread(for: spool, { threadRan.store(true, ordering: .releasing) }, then: { _ in })
        #expect(started)
        #expect(stopped.wait(timeout: .now() + 10) == .success, "the stop returns once the thread has run")
        let returnedInWindow = stopReturnedInWindow.load(ordering: .relaxed)
        let ran = threadRan.load(ordering: .acquiring)
        #expect(!returnedInWindow, "the stop returned before the admitted upload's thread ran")
        #expect(ran, "the stop waited for the upload's thread")
        let startedWhileStopping = imports.startThread(for: spool, {}, then: { _ in })
        #expect(!startedWhileStopping, "nothing starts once stopping")
    }
}
