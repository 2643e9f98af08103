import Foundation
import ISO8583
import Testing

/// Which bytes a field accepts: by default what the dialect's peers (pyiso8583, jPOS, moov-io/iso8583) accept —
/// lengths, digits in `n` fields, printable bytes (or the encoding's range) elsewhere — and ISO's full letter
/// classes only when the dialect asks for them with `"strictCharacterClasses": true`.
@Suite("Character classes")
struct CharacterClassTests {
    static let lenient = BuiltinDialects.dialect(named: "iso87ascii")!

    /// iso87ascii with `"strictCharacterClasses": true` added to its spec file.
    static let strict: Dialect = {
        let json = BuiltinDialects.json(named: "iso87ascii")!
        let flagged = json.replacingOccurrences(
            of: #""mti": "ascii","#, with: #""mti": "ascii", "strictCharacterClasses": true,"#)
        precondition(flagged != json, "the spec's layout changed")
        return try! Dialect.fromJSON(Array(flagged.utf8), source: "iso87ascii-strict.json")
    }()

    /// A 0200 with field 11 = 000001 and field 44 (an..25) = `value`, written by hand: MTI, binary bitmap with
    /// bits 11 and 44, "000001", then the LL prefix and the value. pyiso8583's default spec writes these bytes.
    static func message44(_ value: [UInt8]) -> [UInt8] {
        let bitmap: [UInt8] = [0x00, 0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00]
        let prefix = Array(String(format: "%02d", value.count).utf8)
        return Array("0200".utf8) + bitmap + Array("000001".utf8) + prefix + value
    }

    /// Offset of field 44's first value byte in `message44`.
    static let field44Offset = 4 + 8 + 6 + 2

    static let punctuation: [UInt8] = Array(#"_|\"#.utf8)

    @Test("iso87ascii decodes field 44 (an..25) holding _ | \\ as pyiso8583 writes it")
    func lenientDecodesPunctuationInAlphanumeric() throws {
        let message = try Self.lenient.decode(Self.message44(Self.punctuation))
        #expect(message.value(44) == Self.punctuation)
        #expect(message.string(11) == "000001")
    }

    @Test("iso87ascii encodes field 44 holding _ | \\ to the bytes pyiso8583 writes")
    func lenientEncodesPunctuationInAlphanumeric() throws {
        var message = ISOMessage(dialect: Self.lenient, mti: MTI(200))
        try message.set(11, "000001")
        try message.set(44, bytes: Self.punctuation)
        #expect(try message.encoded() == Self.message44(Self.punctuation))
    }

    @Test(
        "the lenient default still refuses bytes that are not printable in a text field, on decode and on set",
        arguments: [UInt8(0x09), 0x00, 0x7F, 0x80, 0xE9])
    func lenientRefusesNonPrintable(byte: UInt8) {
        let value: [UInt8] = [0x41, byte, 0x42]
        #expect(throws: ISOError(field: 44, offset: Self.field44Offset + 1, reason: .invalidCharacter(byte))) {
            try Self.lenient.decode(Self.message44(value))
        }
        var message = ISOMessage(dialect: Self.lenient, mti: MTI(200))
        #expect(throws: ISOError(field: 44, offset: 1, reason: .invalidCharacter(byte))) {
            try message.set(44, bytes: value)
        }
        #expect(!message.has(44))
    }

    @Test(
        "the lenient default still wants digits in n fields, on decode and on set",
        arguments: ["00A001", "0 0001", "00_001"])
    func lenientRefusesNonDigitsInNumeric(stan: String) {
        let bytes = Array("0200".utf8) + [0x00, 0x20, 0, 0, 0, 0, 0, 0] + Array(stan.utf8)
        let index = Array(stan.utf8).firstIndex { !(0x30...0x39).contains($0) }!
        let bad = Array(stan.utf8)[index]
        #expect(throws: ISOError(field: 11, offset: 4 + 8 + index, reason: .invalidCharacter(bad))) {
            try Self.lenient.decode(bytes)
        }
        var message = ISOMessage(dialect: Self.lenient, mti: MTI(200))
        #expect(throws: ISOError(field: 11, offset: index, reason: .invalidCharacter(bad))) {
            try message.set(11, stan)
        }
    }

    @Test("with strictCharacterClasses the same field 44 is refused at the first _ on decode and on set")
    func strictRefusesPunctuationInAlphanumeric() {
        let underscore = UInt8(ascii: "_")
        #expect(throws: ISOError(field: 44, offset: Self.field44Offset, reason: .invalidCharacter(underscore))) {
            try Self.strict.decode(Self.message44(Self.punctuation))
        }
        var message = ISOMessage(dialect: Self.strict, mti: MTI(200))
        #expect(throws: ISOError(field: 44, offset: 0, reason: .invalidCharacter(underscore))) {
            try message.set(44, bytes: Self.punctuation)
        }
        #expect(throws: ISOError(field: 11, offset: 2, reason: .invalidCharacter(UInt8(ascii: "A")))) {
            try message.set(11, "00A001")
        }
    }

    @Test("the built-in dialects and jPOS packagers are lenient; the JSON setting true makes a dialect strict")
    func settingDefaultsToLenient() throws {
        for name in BuiltinDialects.names {
            #expect(BuiltinDialects.dialect(named: name)?.strictCharacterClasses == false, "\(name)")
        }
        #expect(Self.strict.strictCharacterClasses)
        let packager = """
            <isopackager>
              <isofield id="0" length="4" class="org.jpos.iso.IFA_NUMERIC"/>
              <isofield id="1" length="16" class="org.jpos.iso.IFB_BITMAP"/>
              <isofield id="44" length="25" class="org.jpos.iso.IFA_LLCHAR"/>
            </isopackager>
            """
        let jpos = try Dialect.fromJPOSPackagerXML(Array(packager.utf8), source: "p.xml")
        #expect(!jpos.strictCharacterClasses)
    }

    /// ISOMessageTests' one-field-per-type dialect without strict character classes.
    static let types = ISOMessageTests.typesDialect(strictCharacterClasses: false)

    @Test(
        "lenient: letters in ns and as, punctuation in a and an, any printable track character in text are accepted",
        arguments: [(4, "AB1CD"), (4, "A_|\\B"), (5, "AB-CD"), (7, "12A"), (8, "AB1"), (9, "1234X5")])
    func lenientAcceptsPrintable(field: Int, value: String) throws {
        var message = ISOMessage(dialect: Self.types, mti: MTI(200))
        try message.set(field, value)
        #expect(message.string(field) == value)
        #expect(try Self.types.decode(try message.encoded()).string(field) == value)
    }

    @Test(
        "lenient: non-digits in n (text and BCD), bad signs and digits in x+n, non-printables, and what BCD or EBCDIC cannot carry are refused",
        arguments: [
            (3, "12A456", 2), (2, "4761x", 4), (4, "AB\u{7F}", 2), (6, "AB\tCD", 2), (6, "ABé", 2), (9, "12\t", 2),
            (10, "C0000A150", 5), (10, "X00000150", 0), (13, "12A456", 2), (14, "12X4", 2), (15, "AB[CD", 2),
            (17, "1 2", 1), (18, "12=4", 2),
        ])
    func lenientStillRefuses(field: Int, value: String, badIndex: Int) {
        var message = ISOMessage(dialect: Self.types, mti: MTI(200))
        let bad = Array(value.utf8)[badIndex]
        #expect(throws: ISOError(field: field, offset: badIndex, reason: .invalidCharacter(bad))) {
            try message.set(field, value)
        }
        #expect(!message.has(field))
    }

    @Test(
        "firstByteOutsideTypeClass finds what the lenient codec let through: _ in an 37, | in track 35; not in ans 41")
    func firstByteOutsideTypeClass() throws {
        var message = ISOMessage(dialect: Self.lenient, mti: MTI(200))
        try message.set(37, "RRN_00000001")
        try message.set(35, "6037999900000042|2512")
        try message.set(41, "TERM_001")
        try message.set(44, "ABC 123")
        #expect(message.firstByteOutsideTypeClass(37) == 3)
        #expect(message.firstByteOutsideTypeClass(35) == 16)
        #expect(message.firstByteOutsideTypeClass(41) == nil, "_ is in ans")
        #expect(message.firstByteOutsideTypeClass(44) == nil)
        #expect(message.firstByteOutsideTypeClass(2) == nil, "absent")
        #expect(message.firstByteOutsideTypeClass(999) == nil, "out of range")
    }
}
