import CCRC32C
import Ledger
import Loyalty
import LoyaltyLedger
import SystemCalls

#if canImport(Glibc)
    import Glibc
#endif

/// The receipt names of every rules version put in force, kept in the data directory (`rules/receipt-names`, in
/// backups with the other parts) so that a
/// decision's receipt is named by its own version after a restart too: a repeat answered from the remembered
/// outcome a day after a reload and a restart is byte-identical to the first answer. Written, and synced, before a
/// version is put in force, so no answer names a version whose names are not on disk.
///
/// Records: length (4 bytes), CRC32C of the payload (4), the payload (`ReceiptNames.bytes`), appended. A torn or
/// damaged record and everything after it are dropped when read (logged; the versions in them are then named by
/// the rules in force, as before this file existed). Bounded: past `recordsMax` records the file is rewritten with
/// the newest `LoyaltyDecider.namesVersionsKeptMax`.
struct ReceiptNamesJournal {
    static let directoryName = "rules"
    static let fileName = "receipt-names"
    /// Records before the file is compacted.
    static let recordsMax = 2 * LoyaltyDecider.namesVersionsKeptMax
    /// A payload longer than this is damage: 8 tiers and 8 offers take 618 bytes.
    static let payloadBytesMax = 4096
    /// The file is read whole; longer than `recordsMax` records at their largest can only be damage.
    static let fileBytesMax = recordsMax * (8 + payloadBytesMax)

    /// `rules/` in the data directory, and the file in it.
    let directory: String
    var path: String { directory + "/" + Self.fileName }
    private(set) var records: [ReceiptNames]

    /// Reads the journal of the data directory `data` (none yet: empty). Returns it and a warning line when part
    /// was dropped.
    static func open(data: String) throws(FileCallFailure) -> (ReceiptNamesJournal, String?) {
        let directory = data + "/" + directoryName
        if mkdir(directory, 0o700) == 0 {
            try FileCalls.syncDirectory(data)
        } else if errno != EEXIST {
            throw FileCallFailure("mkdir", directory)
        }
        let path = directory + "/" + fileName
        let descriptor = retryingInterrupts { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else {
            if errno == ENOENT { return (ReceiptNamesJournal(directory: directory, records: []), nil) }
            throw FileCallFailure("open", path)
        }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: fileBytesMax + 1)
        let count = try bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(FileCallFailure) in try FileCalls.readFully(descriptor, buffer, offset: 0, path: path) }
        }.get()
        let (records, goodBytes) = parse(bytes[0..<count])
        precondition(goodBytes >= 0 && goodBytes <= count, "whole records lie inside what was read")
        var journal = ReceiptNamesJournal(directory: directory, records: records)
        guard goodBytes < count else { return (journal, nil) }
        // What follows the last whole record is rewritten away, so new records are never appended after damage.
        try journal.rewrite(keeping: records)
        return (
            journal,
            "\(path): \(count - goodBytes) bytes from offset \(goodBytes) are not whole records (torn or damaged) "
                + "and were dropped; receipts of the versions in them are named by the rules in force"
        )
    }

    /// The whole records at the start of `bytes`, and how many bytes they take.
    static func parse(_ bytes: ArraySlice<UInt8>) -> ([ReceiptNames], Int) {
        var records: [ReceiptNames] = []
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= 8 {
            let length = Int(word(bytes, offset))
            let crc = word(bytes, offset + 4)
            guard length <= payloadBytesMax, bytes.endIndex - offset - 8 >= length else { break }
            let payload = Array(bytes[(offset + 8)..<(offset + 8 + length)])
            guard ccrc32c_update(0, payload, payload.count) == crc, let names = ReceiptNames(bytes: payload) else {
                break
            }
            records.append(names)
            offset += 8 + length
        }
        precondition(offset >= bytes.startIndex && offset <= bytes.endIndex, "records end inside the bytes")
        return (records, offset - bytes.startIndex)
    }

    private static func word(_ bytes: ArraySlice<UInt8>, _ offset: Int) -> UInt32 {
        precondition(offset >= bytes.startIndex && offset + 4 <= bytes.endIndex, "a word inside the bytes")
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }

    static func encode(_ names: ReceiptNames) -> [UInt8] {
        let payload = names.bytes
        precondition(payload.count <= payloadBytesMax, "receipt names fit a record")
        var record: [UInt8] = []
        for value in [UInt32(payload.count), ccrc32c_update(0, payload, payload.count)] {
            for shift in stride(from: 0, to: 32, by: 8) { record.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
        }
        precondition(record.count == 8, "a record's header is its length and CRC")
        return record + payload
    }

    /// Appends `names` and syncs (rewriting the file first when it reached `recordsMax`). Nothing when the file
    /// already holds the same names for that version.
    mutating func add(_ names: ReceiptNames) throws(FileCallFailure) {
        if records.contains(names) { return }
        if records.count + 1 > Self.recordsMax {
            try rewrite(keeping: Array(records.suffix(LoyaltyDecider.namesVersionsKeptMax - 1)) + [names])
            return
        }
        let descriptor = try FileCalls.open(path, flags: O_WRONLY | O_CREAT | O_APPEND)
        defer { close(descriptor) }
        let record = Self.encode(names)
        try record.withUnsafeBytes { bytes in
            Result { () throws(FileCallFailure) in try FileCalls.writeAll(descriptor, bytes, path: path) }
        }.get()
        try FileCalls.dataSync(descriptor, path: path)
        if records.isEmpty { try FileCalls.syncDirectory(directory) }
        records.append(names)
        precondition(records.count <= Self.recordsMax, "the journal is compacted at its limit")
    }

    /// Replaces the file with `kept`: the ledger's atomic small-file write (a temp file synced, renamed over the
    /// old one, the directory synced).
    private mutating func rewrite(keeping kept: [ReceiptNames]) throws(FileCallFailure) {
        do {
            try FileCopy.writeAtomically(kept.flatMap(Self.encode), directory: directory, name: Self.fileName)
        } catch {
            guard case .io(let operation, let failedPath, let number) = error else {
                throw FileCallFailure("write (\(error))", path, EIO)
            }
            throw FileCallFailure(operation, failedPath, number)
        }
        records = kept
    }
}
