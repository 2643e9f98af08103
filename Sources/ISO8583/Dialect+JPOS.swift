/// Loading jPOS GenericPackager XML files, so that teams can bring the packager definitions they already run.
///
/// The supported subset (documented in specs/README.md): one `<isopackager>` root holding `<isofield>` and
/// `<isofieldpackager>` elements. Field 0 gives the MTI encoding, field 1 the bitmap encoding, fields 2...192 map
/// through `jposFieldClasses`. An `<isofieldpackager>` (a field with subfields) is kept as one opaque field whose
/// wire form is exactly that of its outer class; its subfields are not split out.
///
/// The XML is read by a small scanner of our own rather than FoundationXML, which would link libxml2 into the
/// switch for a file format that needs nothing but tags, attributes and five entities.
extension Dialect {
    /// Packager files larger than this are refused before scanning; real ones are a few tens of KiB.
    public static let jposPackagerBytesMax = 1 << 20

    /// Parses a jPOS GenericPackager XML file. `source` names the file in error messages.
    public static func fromJPOSPackagerXML(_ bytes: [UInt8], source: String) throws(DialectError) -> Dialect {
        guard bytes.count <= jposPackagerBytesMax else {
            throw DialectError(
                source: source, field: nil,
                message: "file of \(bytes.count) bytes exceeds the \(jposPackagerBytesMax)-byte limit")
        }
        let packager: JPOSPackagerDefinition
        do throws(PackagerXMLError) {
            packager = try JPOSPackagerDefinition.read(bytes)
        } catch {
            throw DialectError(source: source, field: error.field, message: error.describe(in: bytes))
        }
        return try packager.dialect(source: source)
    }
}

/// A problem found while reading the XML, with the byte offset it was found at (turned into a line number).
struct PackagerXMLError: Error {
    let offset: Int
    let message: String
    var field: String? = nil

    func describe(in bytes: [UInt8]) -> String {
        var line = 1
        for index in 0..<min(offset, bytes.count) where bytes[index] == 0x0A { line += 1 }
        return "line \(line): \(message)"
    }
}

/// One tag as the scanner sees it.
struct PackagerXMLTag {
    enum Kind { case open, selfClosing, close }
    let kind: Kind
    let name: String
    let attributes: [(name: String, value: String)]
    /// Byte offset of the `<`, for error messages.
    let offset: Int

    func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }
}

/// A forward-only scanner for the XML subset packager files use: elements, attributes in single or double
/// quotes, the five predefined entities and numeric character references. Comments, processing instructions,
/// `<!DOCTYPE ...>` (with an internal subset) and CDATA sections are skipped; text between tags is ignored.
/// Every loop advances the cursor, so the work is bounded by the input size.
struct PackagerXMLScanner {
    static let nameBytesMax = 64
    static let valueBytesMax = 4096
    static let attributesMax = 32

    let bytes: [UInt8]
    var cursor = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next tag, or nil at the end of the input.
    mutating func next() throws(PackagerXMLError) -> PackagerXMLTag? {
        while cursor < bytes.count {
            guard bytes[cursor] == UInt8(ascii: "<") else {
                cursor += 1
                continue
            }
            let start = cursor
            if has("<!--") {
                try skip(past: "-->", from: start, what: "comment")
            } else if has("<?") {
                try skip(past: "?>", from: start, what: "processing instruction")
            } else if has("<![CDATA[") {
                try skip(past: "]]>", from: start, what: "CDATA section")
            } else if has("<!") {
                try skipDeclaration(from: start)
            } else if has("</") {
                cursor += 2
                let name = try readName()
                skipSpaces()
                try expect(">", what: "end tag </\(name)")
                return PackagerXMLTag(kind: .close, name: name, attributes: [], offset: start)
            } else {
                cursor += 1
                return try readStartTag(from: start)
            }
        }
        return nil
    }

    func has(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard cursor + count <= bytes.count else { return false }
        let pointer = text.utf8Start
        for index in 0..<count where bytes[cursor + index] != pointer[index] { return false }
        return true
    }

    mutating func skip(past terminator: StaticString, from start: Int, what: String) throws(PackagerXMLError) {
        while cursor < bytes.count {
            if has(terminator) {
                cursor += terminator.utf8CodeUnitCount
                return
            }
            cursor += 1
        }
        throw PackagerXMLError(offset: start, message: "unterminated \(what)")
    }

    /// `<!DOCTYPE ...>`: ends at the first `>` outside quotes and outside the `[...]` internal subset.
    mutating func skipDeclaration(from start: Int) throws(PackagerXMLError) {
        var bracketDepth = 0
        var quote: UInt8? = nil
        cursor += 2
        while cursor < bytes.count {
            let byte = bytes[cursor]
            cursor += 1
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: "[") {
                bracketDepth += 1
            } else if byte == UInt8(ascii: "]") {
                bracketDepth = max(0, bracketDepth - 1)
            } else if byte == UInt8(ascii: ">") && bracketDepth == 0 {
                return
            }
        }
        throw PackagerXMLError(offset: start, message: "unterminated <! declaration")
    }

    mutating func readStartTag(from start: Int) throws(PackagerXMLError) -> PackagerXMLTag {
        let name = try readName()
        var attributes: [(name: String, value: String)] = []
        while true {
            let hadSpace = skipSpaces()
            guard cursor < bytes.count else {
                throw PackagerXMLError(offset: start, message: "unterminated tag <\(name)")
            }
            if has("/>") {
                cursor += 2
                return PackagerXMLTag(kind: .selfClosing, name: name, attributes: attributes, offset: start)
            }
            if bytes[cursor] == UInt8(ascii: ">") {
                cursor += 1
                return PackagerXMLTag(kind: .open, name: name, attributes: attributes, offset: start)
            }
            guard hadSpace else {
                throw PackagerXMLError(offset: cursor, message: "expected space, > or /> in tag <\(name)")
            }
            let attributeOffset = cursor
            let attributeName = try readName()
            skipSpaces()
            try expect("=", what: "attribute \(attributeName)")
            skipSpaces()
            let value = try readQuotedValue(attributeName)
            if attributes.contains(where: { $0.name == attributeName }) {
                throw PackagerXMLError(offset: attributeOffset, message: "attribute \(attributeName) appears twice")
            }
            guard attributes.count < PackagerXMLScanner.attributesMax else {
                throw PackagerXMLError(
                    offset: attributeOffset, message: "more than \(PackagerXMLScanner.attributesMax) attributes")
            }
            attributes.append((attributeName, value))
        }
    }

    /// Skips XML white space; returns whether there was any.
    @discardableResult
    mutating func skipSpaces() -> Bool {
        let start = cursor
        while cursor < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[cursor]) { cursor += 1 }
        return cursor > start
    }

    mutating func expect(_ character: Character, what: String) throws(PackagerXMLError) {
        guard cursor < bytes.count, bytes[cursor] == character.asciiValue else {
            throw PackagerXMLError(offset: cursor, message: "expected \(character) in \(what)")
        }
        cursor += 1
    }

    /// Element and attribute names: letters, digits and `_ - . :`, starting with a letter or `_`.
    mutating func readName() throws(PackagerXMLError) -> String {
        let start = cursor
        while cursor < bytes.count {
            let byte = bytes[cursor]
            let isLetter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A
            let isOther =
                byte == 0x5F
                || (cursor > start && (byte == 0x2D || byte == 0x2E || byte == 0x3A || (byte >= 0x30 && byte <= 0x39)))
            guard isLetter || isOther else { break }
            cursor += 1
        }
        guard cursor > start else { throw PackagerXMLError(offset: start, message: "expected a name") }
        if cursor - start > PackagerXMLScanner.nameBytesMax {
            throw PackagerXMLError(offset: start, message: "name longer than \(PackagerXMLScanner.nameBytesMax) bytes")
        }
        return String(decoding: bytes[start..<cursor], as: UTF8.self)
    }

    mutating func readQuotedValue(_ attributeName: String) throws(PackagerXMLError) -> String {
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") || bytes[cursor] == UInt8(ascii: "'") else {
            throw PackagerXMLError(offset: cursor, message: "value of attribute \(attributeName) must be quoted")
        }
        let quote = bytes[cursor]
        let start = cursor
        cursor += 1
        var value: [UInt8] = []
        while cursor < bytes.count && bytes[cursor] != quote {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "<") {
                throw PackagerXMLError(offset: cursor, message: "< inside the value of attribute \(attributeName)")
            }
            if byte == UInt8(ascii: "&") {
                value.append(contentsOf: try readEntity())
            } else {
                value.append(byte)
                cursor += 1
            }
            guard value.count <= PackagerXMLScanner.valueBytesMax else {
                throw PackagerXMLError(offset: start, message: "value of attribute \(attributeName) is too long")
            }
        }
        guard cursor < bytes.count else {
            throw PackagerXMLError(offset: start, message: "unterminated value of attribute \(attributeName)")
        }
        cursor += 1
        return String(decoding: value, as: UTF8.self)
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` and `&#NN;` / `&#xHH;` (any Unicode scalar), returned as UTF-8.
    mutating func readEntity() throws(PackagerXMLError) -> [UInt8] {
        let start = cursor
        var end = cursor + 1
        while end < bytes.count && end - start <= 10 && bytes[end] != UInt8(ascii: ";") { end += 1 }
        guard end < bytes.count && bytes[end] == UInt8(ascii: ";") else {
            throw PackagerXMLError(offset: start, message: "unterminated entity (a bare & must be written &amp;)")
        }
        let body = String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
        cursor = end + 1
        switch body {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default: break
        }
        var number: UInt32? = nil
        if body.hasPrefix("#x") || body.hasPrefix("#X") {
            number = UInt32(body.dropFirst(2), radix: 16)
        } else if body.hasPrefix("#") {
            number = UInt32(body.dropFirst(1), radix: 10)
        }
        guard let number, let scalar = Unicode.Scalar(number), number != 0 else {
            throw PackagerXMLError(offset: start, message: "unknown entity &\(body);")
        }
        return Array(String(Character(scalar)).utf8)
    }
}

/// One `<isofield>` or `<isofieldpackager>` directly inside `<isopackager>`.
struct JPOSFieldEntry {
    let id: Int
    let className: String
    let length: Int
    /// jPOS's `pad` attribute: for BCD classes, true puts the pad nibble of an odd length on the left.
    let isPadded: Bool
    let name: String
    /// An `<isofieldpackager>`: the field's content is split into subfields by jPOS.
    let hasSubfields: Bool
    let offset: Int
}

/// The packager file's content before it is mapped to our field formats.
struct JPOSPackagerDefinition {
    /// Bounds on the XML structure; jPOS's own packagers have about 130 elements and 3 levels.
    static let elementsMax = 8192
    static let depthMax = 16

    var headerLength = 0
    var entries: [JPOSFieldEntry] = []

    /// Walks the tags once, keeping the open elements on an explicit stack (no recursion).
    static func read(_ bytes: [UInt8]) throws(PackagerXMLError) -> JPOSPackagerDefinition {
        var scanner = PackagerXMLScanner(bytes)
        var definition = JPOSPackagerDefinition()
        var openNames: [String] = []
        var rootSeen = false
        var elementCount = 0
        while let tag = try scanner.next() {
            elementCount += 1
            guard elementCount <= elementsMax else {
                throw PackagerXMLError(offset: tag.offset, message: "more than \(elementsMax) tags")
            }
            if tag.kind == .close {
                guard let innermost = openNames.last, innermost == tag.name else {
                    let expected = openNames.last.map { "</\($0)>" } ?? "no end tag"
                    throw PackagerXMLError(
                        offset: tag.offset, message: "</\(tag.name)> found where \(expected) was expected")
                }
                openNames.removeLast()
                continue
            }
            if openNames.isEmpty {
                guard !rootSeen else {
                    throw PackagerXMLError(offset: tag.offset, message: "<\(tag.name)> after the end of <isopackager>")
                }
                guard tag.name == "isopackager" else {
                    throw PackagerXMLError(
                        offset: tag.offset, message: "the root element must be <isopackager>, not <\(tag.name)>")
                }
                rootSeen = true
                definition.headerLength = try rootHeaderLength(tag)
            } else if openNames.count == 1 {
                definition.entries.append(try entry(tag))
            }
            // Deeper elements are the subfields of an <isofieldpackager>: the field stays one opaque value.
            if tag.kind == .open {
                guard openNames.count < depthMax else {
                    throw PackagerXMLError(offset: tag.offset, message: "elements nested deeper than \(depthMax)")
                }
                openNames.append(tag.name)
            }
        }
        guard rootSeen else { throw PackagerXMLError(offset: 0, message: "no <isopackager> element") }
        if let unclosed = openNames.last {
            throw PackagerXMLError(offset: bytes.count, message: "<\(unclosed)> is not closed")
        }
        return definition
    }

    /// The root's attributes: `headerLength` is honoured; the ones that change the message layout in ways the
    /// codec does not model are refused rather than silently ignored.
    static func rootHeaderLength(_ tag: PackagerXMLTag) throws(PackagerXMLError) -> Int {
        if let emit = tag.attribute("emitBitmap"), emit.lowercased() != "true" {
            throw PackagerXMLError(offset: tag.offset, message: "emitBitmap=\"\(emit)\" is not supported")
        }
        if let bitmapField = tag.attribute("bitmapField"), bitmapField != "1" {
            throw PackagerXMLError(
                offset: tag.offset, message: "bitmapField=\"\(bitmapField)\" is not supported (only 1)")
        }
        if let firstField = tag.attribute("firstField"), firstField != "2" {
            throw PackagerXMLError(
                offset: tag.offset, message: "firstField=\"\(firstField)\" is not supported (only 2)")
        }
        guard let text = tag.attribute("headerLength") else { return 0 }
        guard let length = Int(text), (0...64).contains(length) else {
            throw PackagerXMLError(offset: tag.offset, message: "headerLength=\"\(text)\" must be 0...64")
        }
        return length
    }

    static func entry(_ tag: PackagerXMLTag) throws(PackagerXMLError) -> JPOSFieldEntry {
        guard tag.name == "isofield" || tag.name == "isofieldpackager" else {
            throw PackagerXMLError(offset: tag.offset, message: "unexpected <\(tag.name)> inside <isopackager>")
        }
        guard let idText = tag.attribute("id"), let id = Int(idText), (0...999).contains(id) else {
            throw PackagerXMLError(offset: tag.offset, message: "<\(tag.name)> needs a numeric id attribute")
        }
        func fail(_ message: String) -> PackagerXMLError {
            PackagerXMLError(offset: tag.offset, message: message, field: String(id))
        }
        guard let className = tag.attribute("class"), !className.isEmpty else {
            throw fail("class attribute is missing")
        }
        guard let lengthText = tag.attribute("length") else { throw fail("length attribute is missing") }
        guard let length = Int(lengthText), length >= 0 else { throw fail("length=\"\(lengthText)\" is not a number") }
        return JPOSFieldEntry(
            id: id, className: className, length: length,
            isPadded: tag.attribute("pad")?.lowercased() == "true", name: tag.attribute("name") ?? "",
            hasSubfields: tag.name == "isofieldpackager", offset: tag.offset)
    }
}

/// What one jPOS field class puts on the wire, in our terms.
struct JPOSFieldClass {
    enum Content { case numeric, text, amount, binary }
    let content: Content
    let lengthType: LengthType
    let encoding: DataEncoding
    let prefixEncoding: PrefixEncoding

    init(
        _ content: Content, _ lengthType: LengthType, _ encoding: DataEncoding,
        _ prefixEncoding: PrefixEncoding = .ascii
    ) {
        self.content = content
        self.lengthType = lengthType
        self.encoding = encoding
        self.prefixEncoding = prefixEncoding
    }
}

/// The jPOS classes we represent exactly, checked against each class's padder, interpreter and prefixer in
/// jPOS's sources. IFA_ = ASCII, IFB_ = BCD/binary, IFE_ = EBCDIC; "H" in a name = binary length prefix.
/// Note that IFA_LL*BINARY carry raw bytes (LiteralBinaryInterpreter); only fixed IFA_BINARY is hex.
let jposFieldClasses: [String: JPOSFieldClass] = [
    "IFA_NUMERIC": .init(.numeric, .fixed, .ascii),
    "IFA_LLNUM": .init(.numeric, .LL, .ascii),
    "IFA_LLLNUM": .init(.numeric, .LLL, .ascii),
    "IFE_NUMERIC": .init(.numeric, .fixed, .ebcdic),
    "IFE_LLNUM": .init(.numeric, .LL, .ebcdic, .ebcdic),
    "IFB_NUMERIC": .init(.numeric, .fixed, .bcd),
    "IFB_LLNUM": .init(.numeric, .LL, .bcd, .bcd),
    "IFB_LLLNUM": .init(.numeric, .LLL, .bcd, .bcd),
    "IFB_LLHNUM": .init(.numeric, .LL, .bcd, .binary),
    "IF_CHAR": .init(.text, .fixed, .ascii),
    "IFA_LLCHAR": .init(.text, .LL, .ascii),
    "IFA_LLLCHAR": .init(.text, .LLL, .ascii),
    "IFA_LLLLCHAR": .init(.text, .LLLL, .ascii),
    "IFB_LLCHAR": .init(.text, .LL, .ascii, .bcd),
    "IFB_LLLCHAR": .init(.text, .LLL, .ascii, .bcd),
    "IFB_LLHCHAR": .init(.text, .LL, .ascii, .binary),
    "IFE_CHAR": .init(.text, .fixed, .ebcdic),
    "IF_ECHAR": .init(.text, .fixed, .ebcdic),
    "IFE_LLCHAR": .init(.text, .LL, .ebcdic, .ebcdic),
    "IFE_LLLCHAR": .init(.text, .LLL, .ebcdic, .ebcdic),
    "IFA_AMOUNT": .init(.amount, .fixed, .ascii),
    "IFB_AMOUNT": .init(.amount, .fixed, .bcd),
    "IFE_AMOUNT": .init(.amount, .fixed, .ebcdic),
    "IFA_BINARY": .init(.binary, .fixed, .hex),
    "IFA_LLBINARY": .init(.binary, .LL, .binary),
    "IFA_LLLBINARY": .init(.binary, .LLL, .binary),
    "IFA_LLLLBINARY": .init(.binary, .LLLL, .binary),
    "IFB_BINARY": .init(.binary, .fixed, .binary),
    "IFB_LLBINARY": .init(.binary, .LL, .binary, .bcd),
    "IFB_LLLBINARY": .init(.binary, .LLL, .binary, .bcd),
    "IFB_LLHBINARY": .init(.binary, .LL, .binary, .binary),
]

/// Classes people ask for that we know and refuse, with the reason, so the error says more than "unknown".
let jposUnsupportedClasses: [String: String] = [
    "IFE_BITMAP": "EBCDIC hex bitmaps are not supported (bitmaps are binary or ASCII hex)",
    "IFA_LLABINARY": "its length prefix counts hex characters, not bytes",
    "IFA_LLLABINARY": "its length prefix counts hex characters, not bytes",
    "IFB_LLHFBINARY": "it pads to a fixed width on the wire",
    "IFA_FLLCHAR": "it pads to a fixed width on the wire",
    "IFA_FLLNUM": "it pads to a fixed width on the wire",
    "IFB_FLLNUM": "it pads to a fixed width on the wire",
    "IFB_FLLLNUM": "it pads to a fixed width on the wire",
    "IFB_FNUMERIC": "it pads with F nibbles to a fixed width",
]

extension JPOSPackagerDefinition {
    /// Maps the entries to a dialect named after the file (its last path component without extension).
    func dialect(source: String) throws(DialectError) -> Dialect {
        var seen = Set<Int>()
        for entry in entries where !seen.insert(entry.id).inserted {
            throw DialectError(source: source, field: String(entry.id), message: "defined twice")
        }
        guard let mtiEntry = entries.first(where: { $0.id == 0 }) else {
            throw DialectError(source: source, field: "0", message: "missing: field 0 gives the MTI encoding")
        }
        guard let bitmapEntry = entries.first(where: { $0.id == 1 }) else {
            throw DialectError(source: source, field: "1", message: "missing: field 1 gives the bitmap encoding")
        }
        let mti = try JPOSPackagerDefinition.mtiEncoding(mtiEntry, source: source)
        let (bitmap, hasTertiary) = try JPOSPackagerDefinition.bitmapEncoding(bitmapEntry, source: source)
        let highest = hasTertiary ? Dialect.fieldNumberMax : 128
        var fields: [FieldFormat] = []
        for entry in entries.sorted(by: { $0.id < $1.id }) where entry.id >= 2 {
            // With a tertiary bitmap, bit 65 announces it: jPOS's field 65 entry is that bitmap, not data.
            if hasTertiary && entry.id == 65 { continue }
            guard entry.id <= highest else {
                throw DialectError(
                    source: source, field: String(entry.id),
                    message: "field numbers above \(highest) need a bitmap of 24 bytes (tertiary)")
            }
            fields.append(try JPOSPackagerDefinition.fieldFormat(entry, source: source))
        }
        var name = source.split(separator: "/").last.map(String.init) ?? source
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { name = String(name[..<dot]) }
        return Dialect(
            name: name, summary: "jPOS GenericPackager \(source)", mtiEncoding: mti, bitmapEncoding: bitmap,
            headerLength: headerLength, hasTertiaryBitmap: hasTertiary, fields: fields)
    }

    /// `org.jpos.iso.IFA_LLNUM` or `IFA_LLNUM`; a class in another package is someone's own code, which may
    /// behave differently, so it is not taken for the jPOS class of the same simple name.
    static func simpleClassName(_ className: String) -> String? {
        let prefix = "org.jpos.iso."
        if className.hasPrefix(prefix) {
            let simple = String(className.dropFirst(prefix.count))
            return simple.contains(".") ? nil : simple
        }
        return className.contains(".") ? nil : className
    }

    static func mtiEncoding(_ entry: JPOSFieldEntry, source: String) throws(DialectError) -> MTIEncoding {
        let encodings: [String: MTIEncoding] = ["IFA_NUMERIC": .ascii, "IFB_NUMERIC": .bcd, "IFE_NUMERIC": .ebcdic]
        guard let simple = simpleClassName(entry.className), let encoding = encodings[simple] else {
            throw DialectError(
                source: source, field: "0",
                message:
                    "class \(entry.className) is not supported for the MTI (IFA_NUMERIC, IFB_NUMERIC or IFE_NUMERIC)")
        }
        guard entry.length == 4 else {
            throw DialectError(source: source, field: "0", message: "the MTI must have length 4, not \(entry.length)")
        }
        return encoding
    }

    /// IFB_BITMAP is raw bytes, IFA_BITMAP hex characters. The length is the largest bitmap in bytes: 8 or 16
    /// (the codec always reads a secondary bitmap when bit 1 says so), or 24 for a tertiary bitmap.
    static func bitmapEncoding(_ entry: JPOSFieldEntry, source: String) throws(DialectError) -> (BitmapEncoding, Bool) {
        let simple = simpleClassName(entry.className)
        if let simple, let reason = jposUnsupportedClasses[simple] {
            throw DialectError(
                source: source, field: "1", message: "class \(entry.className) is not supported: \(reason)")
        }
        let encodings: [String: BitmapEncoding] = ["IFA_BITMAP": .hex, "IFB_BITMAP": .binary]
        guard let simple, let encoding = encodings[simple] else {
            throw DialectError(
                source: source, field: "1",
                message: "class \(entry.className) is not supported for the bitmap (IFA_BITMAP or IFB_BITMAP)")
        }
        guard [8, 16, 24].contains(entry.length) else {
            throw DialectError(
                source: source, field: "1", message: "bitmap length must be 8, 16 or 24 bytes, not \(entry.length)")
        }
        return (encoding, entry.length == 24)
    }
}

extension JPOSPackagerDefinition {
    static func fieldFormat(_ entry: JPOSFieldEntry, source: String) throws(DialectError) -> FieldFormat {
        let key = String(entry.id)
        func fail(_ message: String) -> DialectError { DialectError(source: source, field: key, message: message) }
        guard let simple = simpleClassName(entry.className) else {
            throw fail("unknown class \(entry.className): only org.jpos.iso classes are mapped (see specs/README.md)")
        }
        if let reason = jposUnsupportedClasses[simple] {
            throw fail("class \(entry.className) is not supported: \(reason)")
        }
        guard let fieldClass = jposFieldClasses[simple] else {
            throw fail("unknown class \(entry.className) (the supported jPOS classes are listed in specs/README.md)")
        }
        let limit = min(fieldClass.lengthType.prefixMaximum, 9999)
        guard entry.length >= 1 && entry.length <= limit else {
            let why =
                fieldClass.prefixEncoding == .binary ? " (a binary length prefix is limited to \(limit) here)" : ""
            throw fail("length \(entry.length) is outside 1...\(limit) for class \(simple)\(why)")
        }
        if entry.hasSubfields {
            return try opaqueFormat(entry, fieldClass, fail: fail)
        }
        var type: FieldType
        switch fieldClass.content {
        case .numeric:
            // jPOS packs track data into its NUM classes ('=' becomes nibble D), so tracks need type z here.
            type = (entry.id == 35 || entry.id == 36) && fieldClass.lengthType != .fixed ? .track : .numeric
        case .text: type = .alphaNumericSpecial
        case .amount: type = .signedAmount
        case .binary: type = .binary
        }
        return FieldFormat(
            number: entry.id, name: entry.name, type: type, lengthType: fieldClass.lengthType,
            maxLength: entry.length, encoding: fieldClass.encoding, prefixEncoding: fieldClass.prefixEncoding,
            padding: .some(padding(fieldClass, isPadded: entry.isPadded)))
    }

    /// jPOS's padders: BCD pads an odd digit count with a 0 nibble on the left when `pad="true"`, on the right
    /// otherwise; fixed numeric text is zero-filled on the left; fixed CHAR classes are space-filled on the right.
    static func padding(_ fieldClass: JPOSFieldClass, isPadded: Bool) -> Padding? {
        if fieldClass.encoding == .bcd { return isPadded ? .leftZeroNibble : .rightZeroNibble }
        guard fieldClass.lengthType == .fixed else { return nil }
        switch fieldClass.content {
        case .numeric: return .leftZero
        case .text: return .rightSpace
        case .amount, .binary: return nil
        }
    }

    /// A field with subfields is kept whole. Text classes become type b with raw bytes and the same prefix,
    /// which is the same wire form but lets the subfields hold any byte (a sub-bitmap, for instance).
    static func opaqueFormat(
        _ entry: JPOSFieldEntry, _ fieldClass: JPOSFieldClass, fail: (String) -> DialectError
    ) throws(DialectError) -> FieldFormat {
        var encoding = fieldClass.encoding
        switch encoding {
        case .bcd:
            throw fail("subfields inside BCD class \(entry.className) cannot be kept as one opaque value")
        case .ascii, .ebcdic:
            encoding = .binary
        case .binary, .hex:
            break
        }
        return FieldFormat(
            number: entry.id, name: entry.name, type: .binary, lengthType: fieldClass.lengthType,
            maxLength: entry.length, encoding: encoding, prefixEncoding: fieldClass.prefixEncoding, padding: .some(nil))
    }
}
