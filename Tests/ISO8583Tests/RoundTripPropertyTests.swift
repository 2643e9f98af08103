import ISO8583
import TestSupport
import Testing

/// A message described by its canonical values, before any codec has seen it.
struct RandomMessage {
    let mti: MTI
    let header: [UInt8]
    /// Field number and canonical value, ascending by field.
    let values: [(field: Int, value: [UInt8])]

    /// The message built with `set`, field by field.
    func build(_ dialect: Dialect) throws(ISOError) -> ISOMessage {
        var message = ISOMessage(dialect: dialect, mti: mti)
        message.header = header
        for (field, value) in values { try message.set(field, bytes: value) }
        return message
    }
}

/// Random content that is valid for a field format: the right characters for its type and encoding, a length
/// its length type and maximum allow.
enum MessageGenerator {
    static let digits = Array("0123456789".utf8)
    static let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    static let printable = Array(UInt8(0x20)...UInt8(0x7E))
    static let punctuation = printable.filter { !digits.contains($0) && !letters.contains($0) }
    /// Characters of EBCDIC code page 037 that every EBCDIC field can carry.
    static let ebcdicSafe = Set(digits + letters + Array(" .<(+|&!$*);-/,%_>?:#@'=\"".utf8))

    static func alphabet(_ format: FieldFormat) -> [UInt8] {
        var characters: [UInt8]
        switch format.type {
        case .numeric, .signedAmount: characters = digits
        case .alpha: characters = letters + [0x20]
        case .alphaNumeric: characters = letters + digits + [0x20]
        case .alphaNumericSpecial: characters = printable
        case .numericSpecial: characters = digits + punctuation
        case .alphaSpecial: characters = letters + punctuation
        // Packed track data has one nibble per character: only digits and the separator survive unchanged.
        case .track: characters = digits + Array(format.encoding == .bcd ? "=".utf8 : "=D;?".utf8)
        case .binary: characters = Array(0...255)
        }
        if format.encoding == .ebcdic { characters = characters.filter { ebcdicSafe.contains($0) } }
        return characters
    }

    /// A length for the field: the fixed length, or mostly short values with the extremes 0 and maximum.
    static func length(_ format: FieldFormat, using random: inout SplitMix64) -> Int {
        if format.lengthType == .fixed { return format.maxLength }
        let shortest = format.type == .signedAmount ? 1 : 0
        switch random.below(20) {
        case 0: return format.maxLength
        case 1: return shortest
        case 2: return Int.random(in: shortest...format.maxLength, using: &random)
        default: return Int.random(in: shortest...min(format.maxLength, 24), using: &random)
        }
    }

    static func value(_ format: FieldFormat, length: Int, using random: inout SplitMix64) -> [UInt8] {
        let characters = alphabet(format)
        var value = (0..<length).map { _ in characters[random.below(characters.count)] }
        if format.type == .signedAmount && length > 0 { value[0] = random.chance(50) ? 0x43 : 0x44 }
        return value
    }

    static func definedFields(_ dialect: Dialect) -> [FieldFormat] {
        dialect.formats.compactMap { $0 }
    }

    /// A random message: a random subset of the dialect's fields (sometimes all of them), random valid values.
    static func message(_ dialect: Dialect, using random: inout SplitMix64, fieldsMax: Int = 24) -> RandomMessage {
        let formats = definedFields(dialect)
        let chosen: [FieldFormat]
        if random.chance(1) {
            chosen = formats
        } else {
            let count = Int.random(in: 1...min(fieldsMax, formats.count), using: &random)
            chosen = Array(formats.shuffled(using: &random).prefix(count)).sorted { $0.number < $1.number }
        }
        let values = chosen.map { format in
            (field: format.number, value: value(format, length: length(format, using: &random), using: &random))
        }
        let mti = MTI(Int.random(in: 0...9999, using: &random))!
        let header = (0..<dialect.headerLength).map { _ in UInt8.random(in: 0...255, using: &random) }
        return RandomMessage(mti: mti, header: header, values: values)
    }
}

/// Encode → decode → encode on thousands of random valid messages in every built-in dialect.
@Suite("Round-trip properties")
struct RoundTripPropertyTests {
    static let messagesPerDialect = 2_000

    // Every built-in dialect is covered, including dialects added after this test was written.
    @Test("the built-in dialects include the default and every one loads")
    func builtinDialectsLoad() {
        #expect(BuiltinDialects.names.contains(BuiltinDialects.defaultName))
        for name in BuiltinDialects.names {
            #expect(BuiltinDialects.dialect(named: name) != nil, "\(name)")
        }
    }

    // Random valid messages survive encode → decode with every field's canonical value, and re-encode identically.
    @Test("random messages round-trip in every built-in dialect", arguments: BuiltinDialects.names)
    func randomMessagesRoundTrip(dialectName: String) throws {
        let dialect = try #require(BuiltinDialects.dialect(named: dialectName))
        let baseSeed: UInt64 = 0x8583_0000_0000 &+ UInt64(truncatingIfNeeded: dialectName.utf8.reduce(0) { $0 &* 31 &+ Int($1) })
        var failures = 0
        for index in 0..<Self.messagesPerDialect where failures < 5 {
            let seed = baseSeed &+ UInt64(index)
            var random = SplitMix64(seed: seed)
            let original = MessageGenerator.message(dialect, using: &random)
            if let problem = Self.roundTripProblem(original, dialect) {
                Issue.record("\(dialectName) seed \(seed): \(problem)")
                failures += 1
            }
        }
    }

    /// Nil when the message round-trips; otherwise what went wrong.
    static func roundTripProblem(_ original: RandomMessage, _ dialect: Dialect) -> String? {
        let encoded: [UInt8]
        let decoded: ISOMessage
        do {
            let built = try original.build(dialect)
            encoded = try built.encoded()
            if built.encodedByteCount != encoded.count { return "encodedByteCount \(built.encodedByteCount) != \(encoded.count)" }
            decoded = try dialect.decode(encoded)
        } catch {
            return "\(error) (fields \(original.values.map(\.field)))"
        }
        if decoded.mti != original.mti { return "MTI \(String(describing: decoded.mti)) != \(original.mti)" }
        if decoded.header != original.header { return "header differs" }
        if decoded.fieldNumbers != original.values.map(\.field) {
            return "fields \(decoded.fieldNumbers) != \(original.values.map(\.field))"
        }
        for (field, value) in original.values where decoded.value(field) != value {
            return "field \(field): \(decoded.value(field) ?? []) != \(value)"
        }
        do {
            let again = try decoded.encoded()
            if again != encoded { return "re-encoded bytes differ" }
        } catch {
            return "re-encode: \(error)"
        }
        return rangeProblem(encoded, decoded, dialect)
    }

    /// The same bytes inside a larger buffer decode, by range, to the same message.
    static func rangeProblem(_ encoded: [UInt8], _ decoded: ISOMessage, _ dialect: Dialect) -> String? {
        let padded = [0xAA, 0x55, 0x00] + encoded + [0x31, 0xFF]
        do {
            let inner = try dialect.decode(padded, range: 3..<(3 + encoded.count))
            if inner.fieldNumbers != decoded.fieldNumbers || inner.mti != decoded.mti { return "range decode differs" }
            for field in inner.fieldNumbers where inner.value(field) != decoded.value(field) {
                return "range decode: field \(field) differs"
            }
            if try inner.encoded() != encoded { return "range decode re-encodes differently" }
        } catch {
            return "range decode: \(error)"
        }
        return nil
    }

    // A message with every defined field at its maximum length round-trips (the largest message of a dialect).
    @Test("every field at maximum length round-trips", arguments: BuiltinDialects.names)
    func everyFieldAtMaximum(dialectName: String) throws {
        let dialect = try #require(BuiltinDialects.dialect(named: dialectName))
        var random = SplitMix64(seed: 1987)
        let values = MessageGenerator.definedFields(dialect).map { format in
            (field: format.number, value: MessageGenerator.value(format, length: format.maxLength, using: &random))
        }
        let header = [UInt8](repeating: 0x30, count: dialect.headerLength)
        let message = RandomMessage(mti: MTI(200)!, header: header, values: values)
        #expect(Self.roundTripProblem(message, dialect) == nil)
    }

    // Variable fields at length zero and at one unit round-trip (the smallest values a prefix can announce).
    @Test("every variable field at length 0 and 1 round-trips", arguments: BuiltinDialects.names)
    func variableFieldsAtSmallestLengths(dialectName: String) throws {
        let dialect = try #require(BuiltinDialects.dialect(named: dialectName))
        var random = SplitMix64(seed: 8583)
        for format in MessageGenerator.definedFields(dialect) where format.lengthType != .fixed {
            for length in (format.type == .signedAmount ? [1, 2] : [0, 1]) {
                let value = MessageGenerator.value(format, length: length, using: &random)
                let message = RandomMessage(
                    mti: MTI(800)!, header: [UInt8](repeating: 0x30, count: dialect.headerLength),
                    values: [(field: format.number, value: value)])
                let problem = Self.roundTripProblem(message, dialect)
                #expect(problem == nil, "\(dialectName) field \(format.number) length \(length): \(problem ?? "")")
            }
        }
    }
}
