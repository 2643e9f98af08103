/// Decoding: one pass over the frame that validates every byte and records where each field sits.
/// Nothing is copied or allocated per field; the message keeps a reference to the frame.
extension Dialect {
    /// Decodes one whole message. Every byte must belong to the message: leftovers are an error.
    public func decode(_ frame: [UInt8]) throws(ISOError) -> ISOMessage {
        try decode(frame, range: 0..<frame.count)
    }

    /// Decodes the message occupying `range` of `frame` (e.g. one frame inside a larger read buffer).
    public func decode(_ frame: [UInt8], range: Range<Int>) throws(ISOError) -> ISOMessage {
        precondition(range.lowerBound >= 0 && range.upperBound <= frame.count, "range outside frame")
        guard range.count <= ISOMessage.storageBytesMax else {
            throw ISOError(
                field: 0, offset: 0, reason: .messageTooLarge(size: range.count, maximum: ISOMessage.storageBytesMax))
        }
        var message = ISOMessage(dialect: self, frame: frame, base: range.lowerBound)
        try decode(frame, range: range, into: &message)
        return message
    }

    /// Decodes into an existing message, reusing its slot table: the allocation-free path for a connection
    /// that decodes one frame after another. On error the message holds what was read before the failure.
    public func decode(_ frame: [UInt8], range: Range<Int>, into message: inout ISOMessage) throws(ISOError) {
        precondition(range.lowerBound >= 0 && range.upperBound <= frame.count, "range outside frame")
        guard range.count <= ISOMessage.storageBytesMax else {
            throw ISOError(
                field: 0, offset: 0, reason: .messageTooLarge(size: range.count, maximum: ISOMessage.storageBytesMax))
        }
        message.reset(dialect: self, frame: frame, base: range.lowerBound)
        let failure: ISOError? = frame.withUnsafeBytes { raw -> ISOError? in
            do throws(ISOError) {
                try parse(raw, range: range, into: &message)
                return nil
            } catch {
                return error
            }
        }
        if let failure {
            // Offsets in errors count from the start of the message, not of the buffer holding it.
            throw ISOError(field: failure.field, offset: failure.offset - range.lowerBound, reason: failure.reason)
        }
    }

    /// Reads only what a switch needs to answer a malformed message: the MTI and, where it can be found,
    /// one field (e.g. 11 or 41). Returns nil for what cannot be read.
    public func salvage(_ frame: [UInt8], range: Range<Int>, fields wanted: [Int]) -> (MTI?, [Int: [UInt8]]) {
        var message = ISOMessage(dialect: self, frame: frame, base: range.lowerBound)
        var mti: MTI?
        var found: [Int: [UInt8]] = [:]
        frame.withUnsafeBytes { raw in
            var cursor = range.lowerBound + headerLength
            guard cursor <= range.upperBound, let read = try? readMTI(raw, at: &cursor, end: range.upperBound) else {
                return
            }
            mti = read
            message.mti = read
            // Fields are sequential: keep everything that parsed before the first failure. Content is not
            // validated here, so a bad character in a fixed field does not hide the fields after it.
            _ = try? parseFields(raw, from: cursor, end: range.upperBound, into: &message, validating: false)
        }
        for field in wanted where message.has(field) {
            found[field] = message.value(field)
        }
        return (mti, found)
    }

    func parse(_ raw: UnsafeRawBufferPointer, range: Range<Int>, into message: inout ISOMessage) throws(ISOError) {
        var cursor = range.lowerBound
        let end = range.upperBound
        if headerLength > 0 {
            try need(headerLength, at: cursor, end: end, field: 0)
            message.header = Array(raw[cursor..<cursor + headerLength])
            cursor += headerLength
        }
        message.mti = try readMTI(raw, at: &cursor, end: end)
        cursor = try parseFields(raw, from: cursor, end: end, into: &message)
        precondition(cursor <= end, "fields are read only inside the message")
        if cursor != end {
            throw ISOError(field: 0, offset: cursor, reason: .trailingBytes(count: end - cursor))
        }
    }

    @inline(__always)
    func need(_ count: Int, at cursor: Int, end: Int, field: Int) throws(ISOError) {
        if end &- cursor < count {
            throw ISOError(field: field, offset: cursor, reason: .truncated(needed: count, available: end - cursor))
        }
    }

    func readMTI(_ raw: UnsafeRawBufferPointer, at cursor: inout Int, end: Int) throws(ISOError) -> MTI {
        try need(mtiByteCount, at: cursor, end: end, field: 0)
        var value = 0
        for index in 0..<mtiByteCount {
            let byte = raw[cursor + index]
            let digits: (Int, Int)
            switch mtiEncoding {
            case .ascii: digits = (0, Int(byte) &- 0x30)
            case .ebcdic: digits = (0, Int(byte) &- 0xF0)
            case .bcd: digits = (Int(byte >> 4), Int(byte & 0xF))
            }
            guard (0...9).contains(digits.0), (0...9).contains(digits.1) else {
                throw ISOError(field: 0, offset: cursor + index, reason: .invalidCharacter(byte))
            }
            value = mtiEncoding == .bcd ? value * 100 + digits.0 * 10 + digits.1 : value * 10 + digits.1
        }
        cursor += mtiByteCount
        precondition(value >= 0 && value <= 9999, "four decimal digits")
        return MTI(unchecked: UInt16(value))
    }

    /// Reads the bitmaps and every field they name; returns the cursor after the last field.
    @discardableResult
    func parseFields(
        _ raw: UnsafeRawBufferPointer, from start: Int, end: Int, into message: inout ISOMessage,
        validating: Bool = true
    ) throws(ISOError) -> Int {
        var cursor = start
        let primary = try readBitmap(raw, at: &cursor, end: end)
        let secondary = primary & (1 << 63) != 0 ? try readBitmap(raw, at: &cursor, end: end) : 0
        let tertiary =
            hasTertiaryBitmap && secondary & (1 << 63) != 0 ? try readBitmap(raw, at: &cursor, end: end) : 0
        var present = FieldSet()
        present.words = (primary & ~(1 << 63), hasTertiaryBitmap ? secondary & ~(1 << 63) : secondary, tertiary)
        message.fields = FieldSet()
        let base = message.storageBase
        let slots = message.writableSlots()
        let codecs = codecPointer
        for wordIndex in 0..<3 {
            var word = present.word(wordIndex)
            while word != 0 {
                let zeros = word.leadingZeroBitCount
                word &= ~(UInt64(1) << UInt64(63 &- zeros))
                let field = wordIndex &* 64 &+ zeros &+ 1
                slots[field] = try parseField(
                    field, codecs[field], raw, at: &cursor, end: end, base: base, validating: validating)
                message.fields.insert(field)
            }
        }
        // The set of fields read is exactly what the bitmaps announced (their continuation bits aside).
        precondition(message.fields == present, "a decoded message holds the fields its bitmaps name")
        return cursor
    }

    @inline(__always)
    func readBitmap(_ raw: UnsafeRawBufferPointer, at cursor: inout Int, end: Int) throws(ISOError) -> UInt64 {
        var word: UInt64 = 0
        switch bitmapEncoding {
        case .binary:
            try need(8, at: cursor, end: end, field: 1)
            word = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: cursor, as: UInt64.self))
            cursor &+= 8
        case .hex:
            try need(16, at: cursor, end: end, field: 1)
            for index in 0..<16 {
                let nibble = hexValueTable[Int(raw[cursor &+ index])]
                if nibble == 0xFF {
                    throw ISOError(field: 1, offset: cursor + index, reason: .invalidCharacter(raw[cursor + index]))
                }
                word = word << 4 | UInt64(nibble)
            }
            cursor &+= 16
        }
        return word
    }

    @inline(__always)
    func parseField(
        _ field: Int, _ codec: FieldCodec, _ raw: UnsafeRawBufferPointer, at cursor: inout Int, end: Int,
        base: Int, validating: Bool
    ) throws(ISOError) -> FieldSlot {
        guard codec.isDefined else { throw ISOError(field: field, offset: cursor, reason: .undefinedField) }
        var units = codec.maxLength
        if codec.lengthDigits != 0 {
            try need(codec.prefixByteCount, at: cursor, end: end, field: field)
            units = try readLengthPrefix(codec, raw, at: cursor, field: field)
            if units > codec.maxLength {
                throw ISOError(
                    field: field, offset: cursor, reason: .lengthOutOfRange(length: units, maximum: codec.maxLength))
            }
            cursor &+= codec.prefixByteCount
        }
        // Within the field's format: fixed fields at their length, variable ones at most their maximum.
        precondition(units >= 0 && units <= codec.maxLength, "a decoded length is within the field's format")
        let byteCount = codec.wireByteCount(units: units)
        try need(byteCount, at: cursor, end: end, field: field)
        if validating, let bad = firstInvalidByte(codec, units: units, raw, from: cursor, count: byteCount) {
            throw ISOError(field: field, offset: bad, reason: .invalidCharacter(raw[bad]))
        }
        let slot = FieldSlot(offset: UInt16(truncatingIfNeeded: cursor &- base), unitCount: UInt16(units))
        cursor &+= byteCount
        return slot
    }

    @inline(__always)
    func readLengthPrefix(
        _ codec: FieldCodec, _ raw: UnsafeRawBufferPointer, at cursor: Int, field: Int
    ) throws(ISOError) -> Int {
        var value = 0
        switch codec.prefixEncoding {
        case .ascii, .ebcdic:
            let zero = codec.prefixEncoding == .ascii ? 0x30 : 0xF0
            for index in 0..<codec.lengthDigits {
                let digit = Int(raw[cursor &+ index]) &- zero
                guard digit >= 0 && digit <= 9 else {
                    throw ISOError(field: field, offset: cursor + index, reason: .invalidLengthPrefix)
                }
                value = value &* 10 &+ digit
            }
        case .bcd:
            for index in 0..<codec.prefixByteCount {
                let byte = raw[cursor &+ index]
                guard byte >> 4 <= 9 && byte & 0xF <= 9 else {
                    throw ISOError(field: field, offset: cursor + index, reason: .invalidLengthPrefix)
                }
                value = value &* 100 &+ Int(byte >> 4) &* 10 &+ Int(byte & 0xF)
            }
        case .binary:
            for index in 0..<codec.prefixByteCount { value = value << 8 | Int(raw[cursor &+ index]) }
        }
        return value
    }

    /// The offset of the first byte the field's checked class and encoding do not allow, or nil when all are valid.
    @inline(__always)
    func firstInvalidByte(
        _ codec: FieldCodec, units: Int, _ raw: UnsafeRawBufferPointer, from start: Int, count: Int
    ) -> Int? {
        switch codec.encoding {
        case .binary:
            return nil
        case .ascii:
            let bad = ByteScan.firstInvalid(
                raw, from: start, count: count, type: codec.checkedClass, classMask: codec.classMask, table: classTable)
            if bad != nil { return bad }
            return codec.type == .signedAmount ? invalidSignedAmount(raw, start, count) : nil
        case .ebcdic:
            for index in start..<(start &+ count) {
                let ascii = ebcdicToASCIITable[Int(raw[index])]
                if ascii == 0 || classTable[Int(ascii)] & codec.classMask == 0 { return index }
                // A signed amount: the sign first, digits after it (as in ASCII).
                if codec.type == .signedAmount && (index == start) != (ascii == 0x43 || ascii == 0x44) { return index }
            }
            return nil
        case .hex:
            for index in start..<(start &+ count) where hexValueTable[Int(raw[index])] == 0xFF { return index }
            return nil
        case .bcd:
            return firstInvalidPackedByte(codec, units: units, raw, from: start, count: count)
        }
    }

    /// A signed amount in text: the sign `C` or `D` first, then digits only.
    func invalidSignedAmount(_ raw: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Int? {
        guard count > 0 else { return nil }
        if raw[start] != UInt8(ascii: "C") && raw[start] != UInt8(ascii: "D") { return start }
        for index in (start + 1)..<(start + count) where !(0x30...0x39).contains(raw[index]) { return index }
        return nil
    }

    /// Packed decimal: every digit nibble ≤ 9 (track data also allows the 0xA–0xF codes); the pad nibble of an
    /// odd length may be 0 or F.
    func firstInvalidPackedByte(
        _ codec: FieldCodec, units: Int, _ raw: UnsafeRawBufferPointer, from start: Int, count: Int
    ) -> Int? {
        var first = start
        var digits = units
        if codec.type == .signedAmount {
            if count > 0 && raw[start] != UInt8(ascii: "C") && raw[start] != UInt8(ascii: "D") { return start }
            first += 1
            digits -= 1
        }
        let nibbleMax: UInt8 = codec.type == .track ? 0xF : 0x9
        let padded = digits & 1 == 1
        for index in first..<(start + count) {
            let byte = raw[index]
            var high = byte >> 4
            var low = byte & 0xF
            // The pad nibble must be 0 or F; it is then checked as a 0 digit.
            if padded && index == first && codec.padSide != .right {
                if high != 0 && high != 0xF { return index }
                high = 0
            }
            if padded && index == start + count - 1 && codec.padSide == .right {
                if low != 0 && low != 0xF { return index }
                low = 0
            }
            if high > nibbleMax || low > nibbleMax { return index }
        }
        return nil
    }
}
