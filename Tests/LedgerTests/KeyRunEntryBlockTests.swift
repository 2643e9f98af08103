import Foundation
import Testing

@testable import Ledger
import TestSupport

/// A key run's compact entries (`KeyRunEntryBlock`): what is encoded decodes to the same bytes, and what does not
/// decode is refused instead of read wrongly.
@Suite struct KeyRunEntryBlockTests {
    let entryBytes = KeyRunEntryBlock.entryBytes

    /// Entries like the store's: a few words set, the rest zero, neighbours sharing some words.
    func sampleEntries(_ count: Int, seed: UInt64) -> [[UInt8]] {
        var generator = SplitMix64(seed: seed)
        var entries: [[UInt8]] = [[UInt8](repeating: 0, count: entryBytes), [UInt8](repeating: 0xFF, count: entryBytes)]
        var shared = [UInt8](repeating: 0, count: entryBytes)
        for index in 0..<count {
            var entry = index % 3 == 0 ? [UInt8](repeating: 0, count: entryBytes) : shared
            for _ in 0..<Int.random(in: 1...12, using: &generator) {
                let word = Int.random(in: 0..<(entryBytes / 8), using: &generator)
                for byte in 0..<Int.random(in: 1...8, using: &generator) {
                    entry[word * 8 + byte] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            shared = entry
            entries.append(entry)
        }
        return entries
    }

    @Test("entries encoded each against the one before decode to the same bytes, all-zero and all-ones included")
    func roundTrip() {
        let entries = sampleEntries(500, seed: 7)
        var encoded: [UInt8] = []
        var previous = [UInt8](repeating: 0, count: entryBytes)
        var record = [UInt8](repeating: 0, count: KeyRunEntryBlock.recordBytesMax)
        for entry in entries {
            let length = entry.withUnsafeBytes { entry in
                previous.withUnsafeBytes { previous in
                    record.withUnsafeMutableBytes {
                        KeyRunEntryBlock.encode(
                            entry.baseAddress!, previous: previous.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
            #expect(length <= KeyRunEntryBlock.recordBytesMax)
            encoded += record[0..<length]
            previous = entry
        }
        // The all-ones entry after the all-zero one differs in every byte: the largest record there is.
        #expect(encoded.count > KeyRunEntryBlock.recordBytesMax && encoded.count < entries.count * entryBytes / 2)
        var decoded = [UInt8](repeating: 0, count: entryBytes)
        var offset = 0
        for (index, entry) in entries.enumerated() {
            let read = encoded.withUnsafeBytes { input in
                decoded.withUnsafeMutableBytes {
                    KeyRunEntryBlock.decode(
                        input.baseAddress! + offset, available: input.count - offset, onto: $0.baseAddress!)
                }
            }
            #expect(read != nil && decoded == entry, "entry \(index)")
            offset += read ?? 0
        }
        #expect(offset == encoded.count)
    }

    @Test("a record cut short, or a word named with no byte set, does not decode")
    func malformedRecordsRefused() {
        let entry = sampleEntries(1, seed: 3).last!
        var record = [UInt8](repeating: 0, count: KeyRunEntryBlock.recordBytesMax)
        let zeros = [UInt8](repeating: 0, count: entryBytes)
        let length = entry.withUnsafeBytes { entry in
            zeros.withUnsafeBytes { zeros in
                record.withUnsafeMutableBytes {
                    KeyRunEntryBlock.encode(entry.baseAddress!, previous: zeros.baseAddress!, into: $0.baseAddress!)
                }
            }
        }
        func decodes(_ bytes: [UInt8], available: Int) -> Int? {
            var target = zeros
            return bytes.withUnsafeBytes { input in
                target.withUnsafeMutableBytes {
                    KeyRunEntryBlock.decode(input.baseAddress!, available: available, onto: $0.baseAddress!)
                }
            }
        }
        #expect(decodes(record, available: length) == length)
        for cut in [0, 1, KeyRunEntryBlock.maskBytes, length - 1] {
            #expect(decodes(record, available: cut) == nil, "cut at \(cut)")
        }
        var emptyWord = [UInt8](repeating: 0, count: KeyRunEntryBlock.maskBytes + 2)
        emptyWord[0] = 1
        #expect(decodes(emptyWord, available: emptyWord.count) == nil)
    }

    @Test("a sealed block reads back its head; one changed byte, or records that do not decode, are refused")
    func blockChecks() throws {
        let block = UnsafeMutableRawPointer.allocate(byteCount: KeyRunEntryBlock.bytes, alignment: 16)
        defer { block.deallocate() }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: entryBytes, alignment: 16)
        defer { scratch.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 0xAA, count: KeyRunEntryBlock.bytes)
        // Three all-zero entries: a word mask of zeros each.
        let used = 3 * KeyRunEntryBlock.maskBytes
        (block + KeyRunEntryBlock.headBytes).initializeMemory(as: UInt8.self, repeating: 0, count: used)
        KeyRunEntryBlock.seal(block, count: 3, used: used, first: 40)
        let head = try #require(KeyRunEntryBlock.head(block))
        #expect(head == (3, used, 40))
        var seen: [Int] = []
        let whole = try KeyRunEntryBlock.visit(block, count: 3, used: used, first: 40, scratch: scratch) { index, _ in
            seen.append(index)
            return true
        }
        #expect(whole && seen == [40, 41, 42])
        // The first record names word 0 without its bytes: the checksum holds, the records do not decode.
        block.storeBytes(of: 1, toByteOffset: KeyRunEntryBlock.headBytes, as: UInt8.self)
        KeyRunEntryBlock.seal(block, count: 3, used: used, first: 40)
        #expect(KeyRunEntryBlock.head(block) != nil)
        #expect(try !KeyRunEntryBlock.visit(block, count: 3, used: used, first: 40, scratch: scratch) { _, _ in true })
        block.storeBytes(of: 0xFF, toByteOffset: 2_000, as: UInt8.self)
        #expect(KeyRunEntryBlock.head(block) == nil)
    }
}
