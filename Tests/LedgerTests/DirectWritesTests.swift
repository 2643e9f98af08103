import Foundation
import Glibc
import LoyaltyLedger
import Testing

@testable import Ledger

/// Files written once in the background go around the page cache (`DirectWrites`), and those the shard reads are
/// in it afterwards: the next log segment made ahead (`SegmentReserve.makeFile`, all zeros, whether they went
/// around the cache on a disk or through it on tmpfs, a file system in memory) and the key runs.
@Suite struct DirectWritesTests {
    /// Pages of the file at `path` resident in the page cache, and how many it has (mincore of a mapping).
    static func residentPages(_ path: String) throws -> (resident: Int, pages: Int) {
        let descriptor = open(path, O_RDONLY)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var status = stat()
        #expect(fstat(descriptor, &status) == 0)
        let size = Int(status.st_size)
        let address = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0))
        #expect(address != MAP_FAILED)
        defer { munmap(address, size) }
        let pages = (size + 4095) / 4096
        var vector = [UInt8](repeating: 0, count: pages)
        #expect(mincore(address, size, &vector) == 0)
        return (vector.filter { $0 & 1 == 1 }.count, pages)
    }

    static func allZero(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path) else { return false }
        return data.allSatisfy { $0 == 0 }
    }

    func makeAndCheck(in directory: String, bytes: Int) throws {
        try FileIO.makeDirectory(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/wal-spare.tmp"
        // Garbage first: the reserve truncates and zeroes whatever the name held.
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0xA5, count: bytes)))
        let descriptor = try SegmentReserve.makeFile(path: path, bytes: bytes, zeroFill: true)
        defer { FileIO.closeFile(descriptor) }
        #expect(try FileIO.sizeOfFile(path) == Int64(bytes))
        // Residency first: reading the bytes would bring them in.
        let (resident, pages) = try Self.residentPages(path)
        #expect(resident == pages, "\(resident) of \(pages) pages in the page cache")
        #expect(Self.allZero(path), "every byte of \(path) is zero")
    }

    @Test("on a disk the zeros go around the page cache and are read back into it: all zeros, every page cached")
    func zeroFillOnDisk() throws {
        let directory = NSTemporaryDirectory() + "reserve-disk-\(UInt32.random(in: 0...UInt32.max))"
        try makeAndCheck(in: directory, bytes: 3 << 20)
    }

    @Test("on tmpfs (in memory: no direct writes) and at a size not a multiple of a page the zeros go through the cache")
    func zeroFillWithoutDirect() throws {
        let base = "/dev/shm/reserve-tmpfs-\(UInt32.random(in: 0...UInt32.max))"
        try makeAndCheck(in: base, bytes: 2 << 20)
        let unaligned = NSTemporaryDirectory() + "reserve-odd-\(UInt32.random(in: 0...UInt32.max))"
        try makeAndCheck(in: unaligned, bytes: (1 << 20) + 100)
    }

    @Test("a key run of several MiB, written around the page cache, is wholly in it once made, and answers")
    func keyRunIsCachedOnceMade() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var configuration = testConfiguration()
        configuration.idempotencyKeysPerShardMax = 16
        configuration.keyBufferEntriesMax = 40_000
        var requests = RequestFactory()
        var ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        var sample: [(LedgerRequest, LedgerReply)] = []
        for index in 0..<40_050 {
            let request = requests.make(card(100 + index % 50), earn(1))
            let reply = ledger.perform(request)
            #expect(reply.status == .approved)
            if index % 4_001 == 0 { sample.append((request, reply)) }
        }
        ledger.close(snapshot: false)
        let runs = filesUnder(directory.data).filter { $0.hasSuffix(".run") }
        let big = runs.filter { ((try? FileIO.sizeOfFile($0)) ?? 0) > Int64(KeyRunBuilder.bufferBytes) }
        #expect(!big.isEmpty, "a run over one buffer: \(runs)")
        for run in big {
            let (resident, pages) = try Self.residentPages(run)
            #expect(resident == pages, "\(run): \(resident) of \(pages) pages in the page cache")
        }
        ledger = try Ledger.open(directory: directory.data, configuration: configuration)
        for (request, reply) in sample {
            let repeated = ledger.perform(request)
            #expect(repeated.status == reply.status && repeated.balance == reply.balance, "a repeat from a run")
        }
        ledger.close()
        #expect(LedgerVerifier.verify(directory: directory.data, decider: LoyaltyDecider()).isSound)
    }

    @Test("a file read into the cache is wholly in it, and none of its bytes were copied to the reader (readahead)")
    func readIntoCacheCopiesNothing() throws {
        let directory = NSTemporaryDirectory() + "read-into-cache-\(UInt32.random(in: 0...UInt32.max))"
        try FileIO.makeDirectory(directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/run"
        let bytes = 6 << 20
        #expect(FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x5A, count: bytes)))
        let descriptor = try FileIO.openFile(path, flags: O_RDONLY)
        defer { FileIO.closeFile(descriptor) }
        // Synced, then dropped from the cache: what follows must bring every page back.
        #expect(fsync(descriptor) == 0 && posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED) == 0)
        let before = try Self.residentPages(path)
        #expect(before.resident < before.pages / 2, "the file was dropped from the cache: \(before)")
        let readBefore = LogTailTests.bytesReadByThisThread()
        try DirectWrites.readIntoCache(descriptor, path: path, range: 0..<Int64(bytes))
        let copied = LogTailTests.bytesReadByThisThread() - readBefore
        #expect(readBefore >= 0 && copied < 64 << 10, "\(copied) bytes copied to the reader")
        // readahead(2) returns once the reads are started: the pages count (mincore) once they arrived.
        var after = try Self.residentPages(path)
        let deadline = Date().addingTimeInterval(5)
        while after.resident < after.pages && Date() < deadline {
            usleep(10_000)
            after = try Self.residentPages(path)
        }
        #expect(after.resident == after.pages, "\(after.resident) of \(after.pages) pages in the page cache")
    }
}
