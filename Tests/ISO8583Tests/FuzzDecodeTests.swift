import ISO8583
import TestSupport
import Testing

/// Hostile bytes: random and mutated messages either decode or fail with a typed error that stays inside the
/// input; salvage never crashes. Every input is reproducible from the seed printed with a failure.
@Suite("Fuzzed decoding")
struct FuzzDecodeTests {
    /// 100,000 inputs for each built-in dialect (about a second per dialect in a debug build).
    static let inputsPerDialect = 100_000
    static let baseMessageCount = 64

    /// Where things sit in an encoded message, so mutations can aim at bitmaps and length prefixes.
    struct Layout {
        let bytes: [UInt8]
        let isHexBitmap: Bool
        let bitmapRange: Range<Int>
        /// Offset and byte count of every length prefix.
        let prefixes: [(offset: Int, count: Int)]
    }

    static func layout(_ message: ISOMessage, _ bytes: [UInt8]) -> Layout {
        let dialect = message.dialect
        let bitmapStart = dialect.headerLength + (dialect.mtiEncoding == .bcd ? 2 : 4)
        let bitmapSize = dialect.bitmapEncoding == .binary ? 8 : 16
        let bitmapCount = message.fieldNumbers.contains { $0 > 128 } ? 3 : message.fieldNumbers.contains { $0 > 64 } ? 2 : 1
        var cursor = bitmapStart + bitmapSize * bitmapCount
        var prefixes: [(offset: Int, count: Int)] = []
        for field in message.fieldNumbers {
            let format = dialect.formats[field]!
            let prefixCount = Self.prefixByteCount(format)
            if prefixCount > 0 { prefixes.append((cursor, prefixCount)) }
            cursor += prefixCount + (message.withWireBytes(field) { $0.count } ?? 0)
        }
        precondition(cursor == bytes.count, "layout does not add up")
        return Layout(
            bytes: bytes, isHexBitmap: dialect.bitmapEncoding == .hex, bitmapRange: bitmapStart..<(bitmapStart + bitmapSize * bitmapCount), prefixes: prefixes)
    }

    static func prefixByteCount(_ format: FieldFormat) -> Int {
        let digits = format.lengthType.rawValue
        guard digits > 0 else { return 0 }
        switch format.prefixEncoding {
        case .ascii, .ebcdic: return digits
        case .bcd: return (digits + 1) / 2
        case .binary: return digits == 2 ? 1 : 2
        }
    }

    /// Valid messages to mutate: small random ones and the reference purchase shape.
    static func baseMessages(_ dialect: Dialect, seed: UInt64) -> [Layout] {
        var random = SplitMix64(seed: seed)
        var layouts: [Layout] = []
        while layouts.count < baseMessageCount {
            let message = MessageGenerator.message(dialect, using: &random, fieldsMax: 12)
            guard let built = try? message.build(dialect), let bytes = try? built.encoded(),
                built.encodedByteCount < 4096
            else { continue }
            layouts.append(layout(built, bytes))
        }
        return layouts
    }

    /// One mutation of `bytes`; several may be stacked.
    static func mutate(_ layout: Layout, _ bytes: inout [UInt8], using random: inout SplitMix64) {
        switch random.below(9) {
        case 0 where !bytes.isEmpty:  // bit flips
            for _ in 0...random.below(4) { bytes[random.below(bytes.count)] ^= 1 << UInt8(random.below(8)) }
        case 1:  // byte insertion
            bytes.insert(UInt8.random(in: 0...255, using: &random), at: random.below(bytes.count + 1))
        case 2 where !bytes.isEmpty:  // byte deletion
            bytes.remove(at: random.below(bytes.count))
        case 3:  // truncation
            bytes.removeLast(random.below(bytes.count + 1))
        case 4 where layout.bitmapRange.upperBound <= bytes.count:  // bitmap bit flip, or a hex digit changed
            let index = Int.random(in: layout.bitmapRange, using: &random)
            if layout.isHexBitmap {
                bytes[index] = Array("0123456789ABCDEFabcdef".utf8)[random.below(22)]
            } else {
                bytes[index] ^= 1 << UInt8(random.below(8))
            }
        case 5 where !layout.prefixes.isEmpty:  // length prefix corruption
            let prefix = layout.prefixes[random.below(layout.prefixes.count)]
            for index in prefix.offset..<(prefix.offset + prefix.count) where index < bytes.count {
                bytes[index] = random.chance(50) ? UInt8(0x30 + random.below(10)) : UInt8.random(in: 0...255, using: &random)
            }
        case 6:  // a chunk duplicated
            guard !bytes.isEmpty else { return }
            let start = random.below(bytes.count)
            let end = min(bytes.count, start + 1 + random.below(32))
            bytes.insert(contentsOf: bytes[start..<end], at: random.below(bytes.count + 1))
        case 7:  // a run of one byte value overwritten
            guard !bytes.isEmpty else { return }
            let start = random.below(bytes.count)
            let value: UInt8 = [0x00, 0xFF, 0x30, 0x39, 0x20][random.below(5)]
            for index in start..<min(bytes.count, start + 1 + random.below(16)) { bytes[index] = value }
        default:  // trailing garbage
            bytes.append(contentsOf: (0..<(1 + random.below(8))).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    /// One fuzz input: mostly mutated messages, sometimes plain random bytes.
    static func input(_ layouts: [Layout], using random: inout SplitMix64) -> [UInt8] {
        if random.chance(10) {
            return (0..<random.below(300)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        let layout = layouts[random.below(layouts.count)]
        var bytes = layout.bytes
        for _ in 0...random.below(3) { mutate(layout, &bytes, using: &random) }
        return bytes
    }

    enum Outcome: Equatable {
        case decoded, rejected
        case problem(String)
    }

    /// How the decoder handled the input: decoded, rejected properly, or a problem saying what it did wrong.
    static func decodeOutcome(_ dialect: Dialect, _ bytes: [UInt8]) -> Outcome {
        let decoded: ISOMessage
        do {
            decoded = try dialect.decode(bytes)
        } catch {
            if !(0...bytes.count).contains(error.offset) { return .problem("offset \(error.offset) outside 0...\(bytes.count): \(error)") }
            if !(0...Dialect.fieldNumberMax).contains(error.field) { return .problem("field \(error.field) out of range: \(error)") }
            _ = dialect.salvage(bytes, range: 0..<bytes.count, fields: [11, 41])
            return .rejected
        }
        return decodedProblem(dialect, bytes, decoded).map { .problem($0) } ?? .decoded
    }

    static func decodedProblem(_ dialect: Dialect, _ bytes: [UInt8], _ decoded: ISOMessage) -> String? {
        // What decodes must re-encode to the same bytes, and salvage must agree with the decoder.
        guard let again = try? decoded.encoded() else { return "decoded message does not encode" }
        if again != bytes && !hasLowerCaseHex(dialect, bytes) { return "decoded message re-encodes differently" }
        let (mti, found) = dialect.salvage(bytes, range: 0..<bytes.count, fields: [11, 41])
        if mti != decoded.mti { return "salvage MTI \(String(describing: mti)) != \(String(describing: decoded.mti))" }
        for field in [11, 41] where found[field] != decoded.value(field) {
            return "salvage field \(field) differs from decode"
        }
        return nil
    }

    /// Hex text decodes case-insensitively but encodes upper case, so such inputs re-encode differently.
    static func hasLowerCaseHex(_ dialect: Dialect, _ bytes: [UInt8]) -> Bool {
        let usesHex = dialect.bitmapEncoding == .hex || dialect.formats.contains { $0?.encoding == .hex }
        return usesHex && bytes.contains { (0x61...0x66).contains($0) }
    }

    // 100,000+ random and mutated inputs: each decodes or throws an ISOError inside the input; salvage survives.
    @Test(
        "random and mutated inputs never crash the decoder", .timeLimit(.minutes(2)),
        arguments: BuiltinDialects.names)
    func mutatedInputs(dialectName: String) throws {
        let dialect = try #require(BuiltinDialects.dialect(named: dialectName))
        let seed: UInt64 = 0xF022_0000 &+ UInt64(truncatingIfNeeded: dialectName.utf8.reduce(0) { $0 &* 31 &+ Int($1) })
        let layouts = Self.baseMessages(dialect, seed: seed)
        var random = SplitMix64(seed: seed)
        var failures = 0
        var decodedCount = 0
        for index in 0..<Self.inputsPerDialect where failures < 5 {
            let bytes = Self.input(layouts, using: &random)
            switch Self.decodeOutcome(dialect, bytes) {
            case .decoded: decodedCount += 1
            case .rejected: break
            case .problem(let problem):
                Issue.record("\(dialectName) seed \(seed) input \(index) \(bytes.count) bytes: \(problem)")
                failures += 1
            }
            if index % 16 == 0 {
                // Salvage inside a larger buffer reads only its range.
                let padded = [0x30, 0x32] + bytes + [0x30, 0x30, 0x30]
                _ = dialect.salvage(padded, range: 2..<(2 + bytes.count), fields: [2, 11, 41])
            }
        }
        // The mutations must leave some inputs valid, or the fuzzer only tests the first check of the decoder.
        #expect(decodedCount > 0, "\(dialectName): no mutated input decoded")
    }

    // An error names its offset by one convention for every kind of error: relative to the decoded range or
    // absolute in the buffer, but not a mix (FrameDecoder hands out ranges, and logs must point at the right byte).
    @Test("error offsets in a range follow one convention for every error", arguments: BuiltinDialects.names)
    func errorOffsetsInRange(dialectName: String) throws {
        let dialect = try #require(BuiltinDialects.dialect(named: dialectName))
        var random = SplitMix64(seed: 77)
        let layouts = Self.baseMessages(dialect, seed: 77)
        let lead = 7
        // A trailing byte and a truncation first, so both kinds of error are always compared.
        var inputs = [layouts[0].bytes + [0x30], Array(layouts[0].bytes.dropLast())]
        inputs += (0..<2_000).map { _ in Self.input(layouts, using: &random) }
        var shifts: Set<Int> = []
        for bytes in inputs {
            guard case .failure(let whole) = Result(catching: { () throws(ISOError) in try dialect.decode(bytes) }) else {
                continue
            }
            let padded = [UInt8](repeating: 0x30, count: lead) + bytes + [0x30]
            let inner = #expect(throws: ISOError.self) { try dialect.decode(padded, range: lead..<(lead + bytes.count)) }
            guard let inner else { continue }
            #expect(inner.field == whole.field && inner.reason == whole.reason, "\(dialectName): \(inner) vs \(whole)")
            let shift = inner.offset - whole.offset
            #expect(shift == 0 || shift == lead, "\(dialectName): alone \(whole), in a range at \(lead): \(inner)")
            if !shifts.contains(shift) && !shifts.isEmpty {
                Issue.record("\(dialectName): mixed offset conventions; \(inner) is shifted by \(shift), others by \(shifts)")
                break
            }
            shifts.insert(shift)
        }
        #expect(!shifts.isEmpty)
    }
}
