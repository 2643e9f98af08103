/// Reading and writing field values in their canonical form: ASCII text for text types (track data uses `=`
/// as separator), raw bytes for binary fields. The wire form is the dialect's business.
extension ISOMessage {
    /// The field's value: text as UTF-8, binary fields as upper-case hex.
    public func string(_ field: Int) -> String? {
        guard has(field) else { return nil }
        if dialect.codec(field).type == .binary {
            return withValue(field) { bytes in String(decoding: hexEncoded(bytes), as: UTF8.self) }
        }
        return withValue(field) { bytes in String(decoding: bytes, as: UTF8.self) }
    }

    /// The field's value in canonical bytes (text characters, or raw bytes for binary fields).
    public func value(_ field: Int) -> [UInt8]? {
        withValue(field) { Array($0) }
    }

    /// A numeric field's value as an integer; nil when absent, not all digits, or longer than 18 digits.
    public func integer(_ field: Int) -> Int64? {
        let result: Int64?? = withValue(field) { bytes -> Int64? in
            guard bytes.count > 0 && bytes.count <= 18 else { return nil }
            var number: Int64 = 0
            for byte in bytes {
                let digit = Int64(byte) &- 0x30
                guard digit >= 0 && digit <= 9 else { return nil }
                number = number &* 10 &+ digit
            }
            return number
        }
        return result ?? nil
    }

    /// The index of the first byte of the field's value that its ISO type does not allow (`an`: letters, digits and
    /// space; `z`: track characters …); nil when every byte is allowed or the field is absent. For code that
    /// interprets a field's content under a dialect without strict character classes, whose decoder checks less.
    public func firstByteOutsideTypeClass(_ field: Int) -> Int? {
        guard has(field) else { return nil }
        let codec = dialect.codec(field)
        // Decode and set already checked the type's own class (strict dialect, or n, ans, x+n, b, BCD).
        guard codec.checkedClass != codec.type else { return nil }
        let table = dialect.classTable
        let mask = codec.type.classMask
        let bad: Int?? = withValue(field) { value in
            ByteScan.firstInvalid(value, from: 0, count: value.count, type: codec.type, classMask: mask, table: table)
        }
        return bad ?? nil
    }

    /// Copies the canonical value into `buffer` and returns its length: nil when the field is absent or does not
    /// fit. Not generic, so callers in other modules pay no generic-metadata lookup per call.
    public func copyValue(_ field: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let copied: Int?? = withValue(field) { bytes -> Int? in
            guard bytes.count <= buffer.count else { return nil }
            if bytes.count > 0 { buffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            return bytes.count
        }
        return copied ?? nil
    }

    /// Calls `body` with the canonical value. Text fields in ASCII and binary fields in binary are passed straight
    /// from storage; other encodings are converted into a temporary stack buffer first.
    public func withValue<Result>(_ field: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        guard has(field) else { return nil }
        let codec = dialect.codec(field)
        let unitCount = Int(slot(field).unitCount)
        let range = wireRange(field)
        return storage.withUnsafeBytes { raw in
            let wire = UnsafeRawBufferPointer(rebasing: raw[range])
            switch codec.encoding {
            case .ascii, .binary:
                return body(wire)
            case .ebcdic, .hex, .bcd:
                return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(unitCount, 1)) { buffer in
                    let count = canonicalize(codec, wire: wire, units: unitCount, into: buffer)
                    return body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
                }
            }
        }
    }

    /// Sets a field from text (binary fields: hex text). Validates it against the dialect; fixed-length fields
    /// shorter than their length are padded as the dialect says.
    public mutating func set(_ field: Int, _ text: String) throws(ISOError) {
        var text = text
        if (2...Dialect.fieldNumberMax).contains(field), dialect.codec(field).isDefined,
            dialect.codec(field).type == .binary
        {
            guard let bytes = hexDecoded(Array(text.utf8)) else {
                throw ISOError(field: field, offset: 0, reason: .invalidValue("not an even-length hex string"))
            }
            try set(field, bytes: bytes)
            return
        }
        let failure: ISOError? = text.withUTF8 { utf8 -> ISOError? in
            do throws(ISOError) {
                try set(field, canonical: UnsafeRawBufferPointer(utf8))
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Sets a field from canonical bytes (raw bytes for binary fields, ASCII characters for text fields).
    public mutating func set(_ field: Int, bytes: [UInt8]) throws(ISOError) {
        let failure: ISOError? = bytes.withUnsafeBytes { raw -> ISOError? in
            do throws(ISOError) {
                try set(field, canonical: raw)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Sets a numeric field from an integer, zero-filled to the length of a fixed field.
    public mutating func set(_ field: Int, integer: Int64) throws(ISOError) {
        guard integer >= 0 else { throw ISOError(field: field, offset: 0, reason: .invalidValue("negative number")) }
        var digits = InlineArray<20, UInt8>(repeating: 0x30)
        var remaining = integer
        var count = 0
        repeat {
            digits[19 - count] = UInt8(truncatingIfNeeded: 0x30 &+ remaining % 10)
            remaining /= 10
            count += 1
        } while remaining > 0
        var span = digits.mutableSpan
        let failure: ISOError? = span.withUnsafeMutableBytes { raw -> ISOError? in
            do throws(ISOError) {
                try set(field, canonical: UnsafeRawBufferPointer(rebasing: raw[(20 - count)..<20]))
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Copies those of `numbers` that `other` (a message of this dialect) holds, as they are, in one pass: the
    /// slot table made writable once, each field's wire bytes appended straight from the other's storage. Why: a
    /// response echoes about eight fields per answer, and `copy` one at a time cost ~290 instructions per field
    /// (callgrind), mostly the same checks repeated; this is the response skeleton's path.
    /// Fields of `numbers` that `other` lacks are left as they are here.
    public mutating func copyPresent(_ numbers: [Int], from other: ISOMessage) throws(ISOError) {
        precondition(other.dialect === dialect, "a bulk copy is between messages of one dialect")
        if storageBase > 0 || storage.count > ISOMessage.storageBytesMax { rebaseStorage() }
        let slots = writableSlots()
        let failure: ISOError? = other.storage.withUnsafeBufferPointer { source -> ISOError? in
            for field in numbers where other.has(field) {
                let range = other.wireRange(field)
                let start = storage.count
                guard start &+ range.count <= ISOMessage.storageBytesMax else {
                    return ISOError(
                        field: field, offset: 0,
                        reason: .messageTooLarge(size: start &+ range.count, maximum: ISOMessage.storageBytesMax))
                }
                storage.append(contentsOf: UnsafeBufferPointer(rebasing: source[range]))
                slots[field] = FieldSlot(offset: UInt16(start), unitCount: other.slot(field).unitCount)
                fields.insert(field)
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Copies a field from another message as it is; when both share the dialect this is a plain byte copy.
    public mutating func copy(_ field: Int, from other: ISOMessage) throws(ISOError) {
        guard other.has(field) else {
            remove(field)
            return
        }
        if other.dialect === dialect {
            try appendWire(field, other.storage[other.wireRange(field)], units: Int(other.slot(field).unitCount))
            return
        }
        let failure: ISOError?? = other.withValue(field) { bytes -> ISOError? in
            do throws(ISOError) {
                try set(field, canonical: bytes)
                return nil
            } catch {
                return error
            }
        }
        if let failure = failure ?? nil { throw failure }
    }

    /// Sets a field from canonical bytes held elsewhere (e.g. a stack buffer): no intermediate array or String.
    public mutating func set(_ field: Int, canonicalBytes value: UnsafeRawBufferPointer) throws(ISOError) {
        try set(field, canonical: value)
    }

    /// Validates canonical bytes for the field's type and length, converts them to wire form and stores them.
    mutating func set(_ field: Int, canonical value: UnsafeRawBufferPointer) throws(ISOError) {
        guard (2...Dialect.fieldNumberMax).contains(field) else {
            throw ISOError(field: field, offset: 0, reason: .fieldNumberOutOfRange)
        }
        let codec = dialect.codec(field)
        guard codec.isDefined else { throw ISOError(field: field, offset: 0, reason: .undefinedField) }
        if let bad = firstInvalidCanonicalByte(codec, value, table: dialect.classTable) {
            throw ISOError(field: field, offset: bad, reason: .invalidCharacter(value[bad]))
        }
        var padCount = 0
        if codec.lengthDigits == 0 {
            let zeroFillable = codec.encoding == .bcd && codec.type == .numeric
            if value.count > codec.maxLength || (value.count < codec.maxLength && !canPadText(codec) && !zeroFillable) {
                throw ISOError(
                    field: field, offset: 0, reason: .wrongLength(length: value.count, expected: codec.maxLength))
            }
            padCount = codec.maxLength - value.count
        } else if value.count > codec.maxLength || value.count > LengthType(rawValue: codec.lengthDigits)!.prefixMaximum
        {
            throw ISOError(
                field: field, offset: 0, reason: .lengthOutOfRange(length: value.count, maximum: codec.maxLength))
        }
        let units = value.count + padCount
        // What `write` and the decoder of the peer rely on: fixed fields exactly their length, others at most.
        precondition(
            codec.lengthDigits == 0 ? units == codec.maxLength : units <= codec.maxLength,
            "a value set is within its field's format")
        if codec.encoding == .ascii && padCount == 0 {
            // The common case: the canonical text is the wire form.
            let start = try reserve(field, value.count, zeroFill: false)
            storage.append(contentsOf: value)
            setSlot(field, FieldSlot(offset: UInt16(start - storageBase), unitCount: UInt16(units)))
            fields.insert(field)
            return
        }
        let wireCount = codec.wireByteCount(units: units)
        let start = try reserve(field, wireCount)
        storage.withUnsafeMutableBytes { raw in
            let out = UnsafeMutableRawBufferPointer(rebasing: raw[start..<start + wireCount])
            encodeWire(codec, value, padCount: padCount, into: out)
        }
        setSlot(field, FieldSlot(offset: UInt16(start - storageBase), unitCount: UInt16(units)))
        fields.insert(field)
    }

    mutating func appendWire(_ field: Int, _ wire: ArraySlice<UInt8>, units: Int) throws(ISOError) {
        let codec = dialect.codec(field)
        precondition(
            codec.isDefined && wire.count == codec.wireByteCount(units: units) && units <= codec.maxLength,
            "wire bytes copied from a message of the same dialect fit the field's format")
        let start = try reserve(field, wire.count, zeroFill: false)
        storage.append(contentsOf: wire)
        setSlot(field, FieldSlot(offset: UInt16(start - storageBase), unitCount: UInt16(units)))
        fields.insert(field)
    }

    /// Makes room for `count` more bytes within `storageBytesMax` and returns where they start; with `zeroFill`
    /// the bytes are appended as zeros for the caller to overwrite, otherwise the caller appends them.
    mutating func reserve(_ field: Int, _ count: Int, zeroFill: Bool = true) throws(ISOError) -> Int {
        if storageBase > 0 || storage.count > ISOMessage.storageBytesMax {
            rebaseStorage()
        }
        let start = storage.count
        guard start + count <= ISOMessage.storageBytesMax else {
            throw ISOError(
                field: field, offset: 0,
                reason: .messageTooLarge(size: start + count, maximum: ISOMessage.storageBytesMax))
        }
        if zeroFill && count > 0 { storage.append(contentsOf: repeatElement(0, count: count)) }
        precondition(storageBase == 0, "a message grows only in its own storage")
        return start
    }
}

extension ISOMessage {
    /// Before a decoded message grows, keep only its own bytes: the shared read buffer may hold other frames,
    /// and slot offsets are 16 bits from `storageBase`.
    mutating func rebaseStorage() {
        var end = storageBase
        for field in fieldNumbers { end = max(end, wireRange(field).upperBound) }
        storage = Array(storage[storageBase..<end])
        storageBase = 0
    }
}

/// Fixed text fields may be padded when the dialect names a text pad (BCD pads nibbles, not characters).
@inline(__always)
func canPadText(_ codec: FieldCodec) -> Bool {
    codec.padSide != nil && codec.encoding != .bcd && codec.type != .binary
}

/// Canonical value check: text types by their checked class, signed amounts by position, binary anything.
func firstInvalidCanonicalByte(_ codec: FieldCodec, _ value: UnsafeRawBufferPointer, table: UnsafeBufferPointer<UInt16>)
    -> Int?
{
    if codec.type == .binary { return nil }
    let bad = ByteScan.firstInvalid(
        value, from: 0, count: value.count, type: codec.checkedClass, classMask: codec.classMask, table: table)
    if bad != nil { return bad }
    if codec.type == .signedAmount && value.count > 0 {
        if value[0] != UInt8(ascii: "C") && value[0] != UInt8(ascii: "D") { return 0 }
        for index in 1..<value.count where !(0x30...0x39).contains(value[index]) { return index }
    }
    if codec.encoding == .ebcdic {
        for index in 0..<value.count where asciiToEBCDICTable[Int(value[index])] == 0 { return index }
    }
    return nil
}

func hexEncoded(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var text = [UInt8]()
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(hexDigits[Int(byte >> 4)])
        text.append(hexDigits[Int(byte & 0xF)])
    }
    return text
}

/// Hex text to bytes; nil when the text has odd length or a non-hex character.
public func hexDecoded(_ text: [UInt8]) -> [UInt8]? {
    guard text.count % 2 == 0 else { return nil }
    var bytes = [UInt8]()
    bytes.reserveCapacity(text.count / 2)
    var index = 0
    while index < text.count {
        let high = hexValueTable[Int(text[index])]
        let low = hexValueTable[Int(text[index + 1])]
        guard high != 0xFF && low != 0xFF else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}
