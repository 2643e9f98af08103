import ISO8583
import Testing

/// The message model's API: what set() refuses, how it pads, the typed accessors and copying between dialects.
@Suite("ISOMessage")
struct ISOMessageTests {
    /// One field of every type and encoding, so each rule can be tested in isolation; with ISO's letter classes
    /// checked, so every type's own class is tested (CharacterClassTests covers the lenient default).
    static let dialect = typesDialect(strictCharacterClasses: true)

    static func typesDialect(strictCharacterClasses: Bool) -> Dialect {
        Dialect(
            name: "test-types", mtiEncoding: .ascii, bitmapEncoding: .binary,
            strictCharacterClasses: strictCharacterClasses,
            fields: [
                FieldFormat(number: 2, type: .numeric, lengthType: .LL, maxLength: 19, encoding: .ascii),
                FieldFormat(number: 3, type: .numeric, lengthType: .fixed, maxLength: 6, encoding: .ascii),
                FieldFormat(number: 4, type: .alpha, lengthType: .fixed, maxLength: 5, encoding: .ascii),
                FieldFormat(number: 5, type: .alphaNumeric, lengthType: .fixed, maxLength: 5, encoding: .ascii),
                FieldFormat(number: 6, type: .alphaNumericSpecial, lengthType: .fixed, maxLength: 5, encoding: .ascii),
                FieldFormat(number: 7, type: .numericSpecial, lengthType: .LL, maxLength: 10, encoding: .ascii),
                FieldFormat(number: 8, type: .alphaSpecial, lengthType: .LL, maxLength: 10, encoding: .ascii),
                FieldFormat(number: 9, type: .track, lengthType: .LL, maxLength: 37, encoding: .ascii),
                FieldFormat(number: 10, type: .signedAmount, lengthType: .fixed, maxLength: 9, encoding: .ascii),
                FieldFormat(number: 11, type: .binary, lengthType: .fixed, maxLength: 4, encoding: .binary),
                FieldFormat(number: 12, type: .binary, lengthType: .LL, maxLength: 8, encoding: .hex),
                FieldFormat(number: 13, type: .numeric, lengthType: .fixed, maxLength: 6, encoding: .bcd),
                FieldFormat(
                    number: 14, type: .track, lengthType: .LL, maxLength: 37, encoding: .bcd, prefixEncoding: .bcd),
                FieldFormat(
                    number: 15, type: .alphaNumericSpecial, lengthType: .fixed, maxLength: 5, encoding: .ebcdic),
                FieldFormat(number: 16, type: .signedAmount, lengthType: .fixed, maxLength: 9, encoding: .bcd),
                FieldFormat(
                    number: 17, type: .numeric, lengthType: .LLL, maxLength: 30, encoding: .ascii, prefixEncoding: .bcd),
                FieldFormat(
                    number: 18, type: .numeric, lengthType: .LL, maxLength: 19, encoding: .bcd, prefixEncoding: .binary),
                FieldFormat(number: 20, type: .numeric, lengthType: .fixed, maxLength: 20, encoding: .ascii),
                FieldFormat(number: 66, type: .numeric, lengthType: .fixed, maxLength: 1, encoding: .ascii),
            ])
    }

    static func empty() -> ISOMessage { ISOMessage(dialect: dialect, mti: MTI(200)) }

    // Each type refuses characters outside its class, naming the field and the index of the first bad byte.
    @Test(
        "a character outside the field type's class is invalidCharacter at its index",
        arguments: [
            (3, "12A456", 2), (2, "4761x", 4), (4, "AB1CD", 2), (5, "AB-CD", 2), (6, "AB\tCD", 2), (6, "ABé", 2),
            (7, "12A", 2), (8, "AB1", 2), (9, "1234X5", 4), (10, "C0000A150", 5), (13, "12A456", 2),
            (14, "12X4", 2), (15, "AB[CD", 2), (17, "1 2", 1), (18, "12=4", 2),
        ])
    func wrongCharacterClass(field: Int, value: String, badIndex: Int) {
        var message = Self.empty()
        let bad = Array(value.utf8)[badIndex]
        #expect(throws: ISOError(field: field, offset: badIndex, reason: .invalidCharacter(bad))) {
            try message.set(field, value)
        }
        #expect(!message.has(field))
    }

    // Values of the right class are accepted by every type (the positive side of the test above).
    @Test(
        "a value of the right class is accepted and read back",
        arguments: [
            (3, "123456"), (4, "AB CD"), (5, "A1 b2"), (6, "A!~ 9"), (7, "12-/.,"), (8, "AB-cd!"),
            (9, "4761=2212;?D"), (10, "D00000150"), (13, "123456"), (14, "4761=2212"), (15, "A.(+9"),
            (16, "C00000150"), (17, "123"), (18, "12345"),
        ])
    func rightCharacterClass(field: Int, value: String) throws {
        var message = Self.empty()
        try message.set(field, value)
        #expect(message.string(field) == value)
        #expect(message.value(field) == Array(value.utf8))
        let decoded = try Self.dialect.decode(try message.encoded())
        #expect(decoded.string(field) == value)
    }

    // Too long: a fixed field says wrongLength, a variable field lengthOutOfRange; nothing is stored.
    @Test(
        "a value longer than the field is refused",
        arguments: [
            (3, "1234567", ISOError.Reason.wrongLength(length: 7, expected: 6)),
            (2, String(repeating: "1", count: 20), .lengthOutOfRange(length: 20, maximum: 19)),
            (17, String(repeating: "9", count: 31), .lengthOutOfRange(length: 31, maximum: 30)),
            (11, "0102030405", .wrongLength(length: 5, expected: 4)),
            (12, "010203040506070809", .lengthOutOfRange(length: 9, maximum: 8)),
            (13, "1234567", .wrongLength(length: 7, expected: 6)),
            (14, String(repeating: "1", count: 38), .lengthOutOfRange(length: 38, maximum: 37)),
        ])
    func tooLong(field: Int, value: String, reason: ISOError.Reason) {
        var message = Self.empty()
        #expect(throws: ISOError(field: field, offset: 0, reason: reason)) { try message.set(field, value) }
        #expect(!message.has(field))
    }

    // Shorter fixed values are padded per type: numbers zero-filled on the left, text space-filled on the right.
    @Test(
        "a shorter fixed value is padded as its type says",
        arguments: [
            (3, "42", "000042"), (4, "AB", "AB   "), (5, "A", "A    "), (6, "", "     "), (13, "42", "000042"),
            (15, "AB", "AB   "),
        ])
    func shortFixedIsPadded(field: Int, value: String, padded: String) throws {
        var message = Self.empty()
        try message.set(field, value)
        #expect(message.string(field) == padded)
        #expect(message.length(field) == padded.utf8.count)
        #expect(try Self.dialect.decode(try message.encoded()).string(field) == padded)
    }

    // Binary and signed amounts have no padding: a short value is the wrong length.
    @Test(
        "short binary and signed-amount values are refused, not padded",
        arguments: [(11, "0102", 2, 4), (10, "C150", 4, 9), (16, "D150", 4, 9)])
    func shortUnpaddable(field: Int, value: String, length: Int, expected: Int) {
        var message = Self.empty()
        #expect(throws: ISOError(field: field, offset: 0, reason: .wrongLength(length: length, expected: expected))) {
            try message.set(field, value)
        }
    }

    // x+n: the sign C or D comes first, then digits only, in ASCII and in BCD alike.
    @Test(
        "signed amounts need a leading C or D and digits after it",
        arguments: [
            (10, "X00000150", 0), (10, "c00000150", 0), (10, "000001500", 0), (10, "CD0000150", 1),
            (10, "C0000015C", 8), (16, "X00000150", 0), (16, "DD0000150", 1),
        ])
    func signedAmountRules(field: Int, value: String, badIndex: Int) {
        var message = Self.empty()
        let bad = Array(value.utf8)[badIndex]
        #expect(throws: ISOError(field: field, offset: badIndex, reason: .invalidCharacter(bad))) {
            try message.set(field, value)
        }
    }

    // Wire forms worked out by hand: BCD digits, sign byte + BCD, EBCDIC, hex text, track separator as nibble D.
    @Test("wire bytes of packed, EBCDIC and hex fields")
    func wireForms() throws {
        var message = Self.empty()
        try message.set(13, "42")
        try message.set(16, "C00000150")
        try message.set(15, "AB")
        try message.set(12, "0a0B")
        try message.set(14, "12=3")
        #expect(message.withWireBytes(13) { Array($0) } == [0x00, 0x00, 0x42])
        #expect(message.withWireBytes(16) { Array($0) } == [0x43, 0x00, 0x00, 0x01, 0x50])
        #expect(message.withWireBytes(15) { Array($0) } == [0xC1, 0xC2, 0x40, 0x40, 0x40])
        #expect(message.withWireBytes(12) { Array($0) } == Array("0A0B".utf8))
        #expect(message.withWireBytes(14) { Array($0) } == [0x12, 0xD3])
        #expect(message.string(12) == "0A0B")
        #expect(message.value(12) == [0x0A, 0x0B])
    }

    // Length prefixes in BCD and binary, checked byte for byte against a hand-made message.
    @Test("BCD and binary length prefixes are written and read back")
    func prefixEncodings() throws {
        var message = Self.empty()
        try message.set(17, "12345")
        try message.set(18, "123")
        let expected: [UInt8] =
            Array("0200".utf8) + [0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00]
            + [0x00, 0x05] + Array("12345".utf8) + [0x03, 0x01, 0x23]
        #expect(try message.encoded() == expected)
        let decoded = try Self.dialect.decode(expected)
        #expect(decoded.string(17) == "12345")
        #expect(decoded.string(18) == "123")
    }

    // Numbers outside 2...192 are fieldNumberOutOfRange, whichever setter is used.
    @Test("impossible field numbers are fieldNumberOutOfRange by every setter", arguments: [0, 1, 193, -5, 1000])
    func fieldNumberOutOfRange(field: Int) {
        var message = Self.empty()
        let outOfRange = ISOError(field: field, offset: 0, reason: .fieldNumberOutOfRange)
        #expect(throws: outOfRange) { try message.set(field, "1") }
        #expect(throws: outOfRange) { try message.set(field, bytes: [0x31]) }
        #expect(throws: outOfRange) { try message.set(field, integer: 1) }
        #expect(message.fieldNumbers.isEmpty)
        #expect(message.string(field) == nil)
        #expect(message.integer(field) == nil)
    }

    // A field the dialect does not define is undefinedField, whichever setter is used and whatever the value.
    @Test("fields the dialect lacks are undefinedField by every setter", arguments: [19, 64, 192])
    func undefinedField(field: Int) {
        var message = Self.empty()
        let undefined = ISOError(field: field, offset: 0, reason: .undefinedField)
        #expect(throws: undefined) { try message.set(field, "1") }
        #expect(throws: undefined) { try message.set(field, "12") }
        #expect(throws: undefined) { try message.set(field, bytes: [0x31]) }
        #expect(throws: undefined) { try message.set(field, integer: 1) }
        #expect(!message.has(field))
    }

    // Binary fields take hex text; odd length or non-hex characters are invalidValue.
    @Test("binary fields set from text need even-length hex", arguments: ["A1B", "ZZZZZZZZ", "0x010203"])
    func binaryFromBadHex(text: String) {
        var message = Self.empty()
        #expect(throws: ISOError.self) { try message.set(11, text) }
        do {
            try message.set(11, text)
        } catch {
            #expect(error.field == 11)
            if case .invalidValue = error.reason {} else { Issue.record("reason \(error.reason)") }
        }
    }

    // integer() reads numeric fields, and is nil when absent, not all digits, empty or longer than 18 digits.
    @Test("integer() reads digits and refuses what is not a number")
    func integerAccessor() throws {
        var message = Self.empty()
        try message.set(3, "000042")
        try message.set(13, "987654")
        try message.set(5, "AB")
        try message.set(7, "")
        #expect(message.integer(3) == 42)
        #expect(message.integer(13) == 987_654)
        #expect(message.integer(5) == nil)
        #expect(message.integer(7) == nil)
        #expect(message.integer(4) == nil)
        try message.set(2, "999999999999999999")
        #expect(message.integer(2) == 999_999_999_999_999_999)
        try message.set(2, "1234567890123456789")
        #expect(message.integer(2) == nil)
    }

    // set(integer:) zero-fills fixed fields, writes plain digits in variable ones, refuses negatives and overflow.
    @Test("set(integer:) zero-fills, and refuses negative or too-long numbers")
    func setInteger() throws {
        var message = Self.empty()
        try message.set(3, integer: 42)
        #expect(message.string(3) == "000042")
        try message.set(3, integer: 0)
        #expect(message.string(3) == "000000")
        try message.set(2, integer: 42)
        #expect(message.string(2) == "42")
        try message.set(13, integer: 7)
        #expect(message.string(13) == "000007")
        try message.set(20, integer: Int64.max)
        #expect(message.string(20) == "0" + String(Int64.max))
        #expect(throws: ISOError(field: 3, offset: 0, reason: .wrongLength(length: 7, expected: 6))) {
            try message.set(3, integer: 1_234_567)
        }
        #expect(throws: ISOError(field: 3, offset: 0, reason: .invalidValue("negative number"))) {
            try message.set(3, integer: -1)
        }
        #expect(message.string(3) == "000000")
    }

    // Setting a field again replaces it: the encoding is that of a message that only ever had the last value.
    @Test("setting a field twice keeps the last value")
    func setTwice() throws {
        var twice = Self.empty()
        try twice.set(2, "4111111111111111")
        try twice.set(2, "5500")
        var once = Self.empty()
        try once.set(2, "5500")
        #expect(twice.string(2) == "5500")
        #expect(try twice.encoded() == once.encoded())
    }

    // remove() takes a field out of the message, its bitmap and its encoding.
    @Test("remove drops the field from the encoding")
    func remove() throws {
        var message = Self.empty()
        try message.set(3, "000000")
        try message.set(66, "1")
        message.remove(66)
        message.remove(1000)
        #expect(!message.has(66))
        #expect(message.fieldNumbers == [3])
        var expected = Self.empty()
        try expected.set(3, "000000")
        #expect(try message.encoded() == expected.encoded())
        // Without field 66 the secondary bitmap is gone too: MTI 4 + bitmap 8 + field 6.
        #expect(try message.encoded().count == 18)
    }

    // A message without an MTI cannot be encoded.
    @Test("encoding without an MTI is missingMTI")
    func missingMTI() throws {
        var message = ISOMessage(dialect: Self.dialect, mti: nil)
        try message.set(3, "000000")
        #expect(throws: ISOError(field: 0, offset: 0, reason: .missingMTI)) { try message.encoded() }
    }

    // Copying within a dialect is a byte copy: same value, same wire bytes; copying an absent field removes it.
    @Test("copy within one dialect keeps wire bytes; copying an absent field removes it")
    func copySameDialect() throws {
        let dialect = try #require(BuiltinDialects.dialect(named: "iso87ascii"))
        var request = ISOMessage(dialect: dialect, mti: MTI(200))
        try request.set(2, "4761739001010119")
        try request.set(52, "A1B2C3D4E5F60718")
        try request.set(41, "TERM0001")
        var response = ISOMessage(dialect: dialect, mti: MTI(210))
        try response.set(39, "05")
        for field in [2, 52, 41, 39] { try response.copy(field, from: request) }
        #expect(response.fieldNumbers == [2, 41, 52])
        for field in [2, 41, 52] {
            #expect(response.string(field) == request.string(field))
            #expect(response.withWireBytes(field) { Array($0) } == request.withWireBytes(field) { Array($0) })
        }
    }

    // The response skeleton's bulk copy: from a decoded request that shares a buffer holding another frame before
    // it (storage base not zero), the present fields arrive as the field-by-field copy would put them, absent ones
    // stay absent, a field already set survives, and the message encodes to the same bytes.
    @Test("copyPresent from a decoded request equals copying field by field")
    func copyPresentMatchesCopy() throws {
        let dialect = try #require(BuiltinDialects.dialect(named: "iso87ascii"))
        var request = ISOMessage(dialect: dialect, mti: MTI(200))
        try request.set(2, "4761739001010119")
        try request.set(4, "000000012550")
        try request.set(11, "000123")
        try request.set(41, "TERM0001")
        try request.set(49, "364")
        let frame = try request.encoded()
        var buffer = Array(repeating: UInt8(ascii: "x"), count: 37)
        buffer += frame
        var decoded = ISOMessage(dialect: dialect, mti: nil)
        try dialect.decode(buffer, range: 37..<buffer.count, into: &decoded)
        let echoed = [2, 3, 4, 7, 11, 37, 41, 49]

        var bulk = ISOMessage(dialect: dialect, mti: MTI(210))
        try bulk.set(39, "00")
        try bulk.copyPresent(echoed, from: decoded)
        var single = ISOMessage(dialect: dialect, mti: MTI(210))
        try single.set(39, "00")
        for field in echoed where decoded.has(field) { try single.copy(field, from: decoded) }

        #expect(bulk.fieldNumbers == [2, 4, 11, 39, 41, 49])
        #expect(try bulk.encoded() == (try single.encoded()))
        for field in [2, 4, 11, 41, 49] { #expect(bulk.string(field) == request.string(field), "field \(field)") }
        // The copy does not lean on the read buffer: overwriting it leaves the response as it was.
        buffer = Array(repeating: 0, count: buffer.count)
        decoded.releaseStorage()
        #expect(bulk.string(41) == "TERM0001")
    }

    // Copying between dialects converts through the canonical value: ASCII digits become BCD and back.
    @Test(
        "copy between dialects converts the wire form",
        arguments: [("iso87ascii", "iso87bcd"), ("iso87bcd", "iso87ascii")])
    func copyAcrossDialects(from source: String, to target: String) throws {
        let sourceDialect = try #require(BuiltinDialects.dialect(named: source))
        let targetDialect = try #require(BuiltinDialects.dialect(named: target))
        var original = ISOMessage(dialect: sourceDialect, mti: MTI(200))
        let values = [
            2: "476173900101011", 3: "310000", 4: "000000012550", 35: "4761739001010119=2212201", 41: "TERM0001",
        ]
        for (field, value) in values { try original.set(field, value) }
        var copy = ISOMessage(dialect: targetDialect, mti: MTI(210))
        for field in values.keys { try copy.copy(field, from: original) }
        for (field, value) in values { #expect(copy.string(field) == value, "field \(field)") }
        #expect(copy.withWireBytes(3) { Array($0) } != original.withWireBytes(3) { Array($0) })
        let decoded = try targetDialect.decode(try copy.encoded())
        for (field, value) in values { #expect(decoded.string(field) == value, "field \(field) after decode") }
    }

    // A value legal in the source dialect but not in the target is refused by copy, naming the field.
    @Test("copy refuses a value the target field does not allow")
    func copyRefusesInvalidValue() throws {
        let target = Dialect(
            name: "narrow", mtiEncoding: .ascii, bitmapEncoding: .binary, strictCharacterClasses: true,
            fields: [FieldFormat(number: 6, type: .alphaNumeric, lengthType: .fixed, maxLength: 5, encoding: .ascii)])
        var source = Self.empty()
        try source.set(6, "AB!CD")
        var copy = ISOMessage(dialect: target, mti: MTI(200))
        #expect(throws: ISOError(field: 6, offset: 2, reason: .invalidCharacter(UInt8(ascii: "!")))) {
            try copy.copy(6, from: source)
        }
        #expect(!copy.has(6))
        #expect(throws: ISOError(field: 3, offset: 0, reason: .undefinedField)) {
            var withThree = Self.empty()
            try withThree.set(3, "000000")
            try copy.copy(3, from: withThree)
        }
    }

    // A dialect with a tertiary bitmap: bit 65 announces it, fields 129–192 are written after it.
    @Test("tertiary bitmap: hand-made bytes for fields 3, 66 and 130")
    func tertiaryBitmap() throws {
        let dialect = Dialect(
            name: "tertiary", mtiEncoding: .ascii, bitmapEncoding: .binary, hasTertiaryBitmap: true,
            fields: [
                FieldFormat(number: 3, type: .numeric, lengthType: .fixed, maxLength: 6, encoding: .ascii),
                FieldFormat(number: 66, type: .numeric, lengthType: .fixed, maxLength: 1, encoding: .ascii),
                FieldFormat(number: 130, type: .numeric, lengthType: .fixed, maxLength: 2, encoding: .ascii),
            ])
        var message = ISOMessage(dialect: dialect, mti: MTI(200))
        try message.set(3, "123456")
        try message.set(66, "1")
        try message.set(130, "12")
        let expected: [UInt8] =
            Array("0200".utf8) + [0xA0, 0, 0, 0, 0, 0, 0, 0] + [0xC0, 0, 0, 0, 0, 0, 0, 0]
            + [0x40, 0, 0, 0, 0, 0, 0, 0] + Array("123456112".utf8)
        #expect(try message.encoded() == expected)
        let decoded = try dialect.decode(expected)
        #expect(decoded.fieldNumbers == [3, 66, 130])
        #expect(decoded.string(130) == "12")
    }

    // A dialect header is written before the MTI and read back by decode.
    @Test("a dialect header is written and read back")
    func header() throws {
        let dialect = Dialect(
            name: "header", mtiEncoding: .bcd, bitmapEncoding: .hex, headerLength: 3,
            fields: [FieldFormat(number: 3, type: .numeric, lengthType: .fixed, maxLength: 6, encoding: .ascii)])
        var message = ISOMessage(dialect: dialect, mti: MTI(800))
        message.header = Array("ISO".utf8)
        try message.set(3, "000000")
        let expected: [UInt8] = Array("ISO".utf8) + [0x08, 0x00] + Array("2000000000000000000000".utf8)
        #expect(try message.encoded() == expected)
        let decoded = try dialect.decode(expected)
        #expect(decoded.header == Array("ISO".utf8))
        #expect(decoded.mti == MTI(800))
    }
}
