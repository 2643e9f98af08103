/// Encoding: values are already in wire form (validated when set), so packing is bitmaps, prefixes and copies.
extension ISOMessage {
    /// The message in the dialect's wire form.
    public func encoded() throws(ISOError) -> [UInt8] {
        var bytes = [UInt8]()
        try encode(into: &bytes)
        return bytes
    }

    /// Appends the message in wire form to `out`.
    public func encode(into out: inout [UInt8]) throws(ISOError) {
        guard mti != nil else { throw ISOError(field: 0, offset: 0, reason: .missingMTI) }
        let count = encodedByteCount
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: count))
        out.withUnsafeMutableBytes { raw in
            let written = write(to: raw.baseAddress! + start)
            precondition(written == count, "encoded size mismatch")
        }
    }

    /// Bytes `encode` will produce.
    public var encodedByteCount: Int {
        var total = dialect.headerLength + dialect.mtiByteCount + dialect.bitmapByteCount * bitmapCount
        let codecs = dialect.codecPointer
        let slotSpan = slotTable.withUnsafeMutablePointerToElements { UnsafePointer($0) }
        for wordIndex in 0..<3 {
            var word = fields.word(wordIndex)
            while word != 0 {
                let zeros = word.leadingZeroBitCount
                word &= ~(UInt64(1) << UInt64(63 &- zeros))
                let field = wordIndex &* 64 &+ zeros &+ 1
                let codec = codecs[field]
                total &+= codec.prefixByteCount &+ codec.wireByteCount(units: Int(slotSpan[field].unitCount))
            }
        }
        return total
    }

    var bitmapCount: Int {
        if fields.words.2 != 0 { return 3 }
        return fields.words.1 != 0 ? 2 : 1
    }

    /// Writes the message at `base` (which has room for `encodedByteCount` bytes); returns the bytes written.
    func write(to base: UnsafeMutableRawPointer) -> Int {
        precondition(mti != nil, "a message is written with its MTI")
        // The bitmap bits that announce the next bitmap are the encoder's, never a data field's.
        precondition(fields.words.0 >> 63 == 0, "field 1 is the secondary bitmap's bit, never a data field")
        precondition(!dialect.hasTertiaryBitmap || fields.words.1 >> 63 == 0, "field 65 announces the tertiary bitmap")
        precondition(dialect.hasTertiaryBitmap || fields.words.2 == 0, "fields above 128 need a tertiary bitmap")
        var cursor = 0
        if dialect.headerLength > 0 {
            for index in 0..<dialect.headerLength {
                base.storeBytes(of: index < header.count ? header[index] : 0, toByteOffset: index, as: UInt8.self)
            }
            cursor = dialect.headerLength
        }
        cursor += writeMTI(mti!, to: base + cursor)
        let bitmaps = bitmapCount
        let words = (
            fields.words.0 | (bitmaps > 1 ? 1 << 63 : 0),
            fields.words.1 | (bitmaps > 2 ? 1 << 63 : 0),
            fields.words.2
        )
        cursor += writeBitmap(words.0, to: base + cursor)
        if bitmaps > 1 { cursor += writeBitmap(words.1, to: base + cursor) }
        if bitmaps > 2 { cursor += writeBitmap(words.2, to: base + cursor) }
        let slotSpan = slotTable.withUnsafeMutablePointerToElements { UnsafePointer($0) }
        let codecs = dialect.codecPointer
        for wordIndex in 0..<3 {
            var word = fields.word(wordIndex)
            while word != 0 {
                let zeros = word.leadingZeroBitCount
                word &= ~(UInt64(1) << UInt64(63 &- zeros))
                let field = wordIndex &* 64 &+ zeros &+ 1
                let slot = slotSpan[field]
                let codec = codecs[field]
                // Every present field was set or decoded within its format: fixed fields at exactly their length,
                // variable ones at most their maximum.
                precondition(codec.isDefined, "a present field is defined by the dialect")
                let units = Int(slot.unitCount)
                precondition(
                    codec.lengthDigits == 0 ? units == codec.maxLength : units <= codec.maxLength,
                    "a field's length is within its format")
                cursor &+= writeLengthPrefix(codec, Int(slot.unitCount), to: base + cursor)
                let count = codec.wireByteCount(units: Int(slot.unitCount))
                let target = base + cursor
                let source = storageBase &+ Int(slot.offset)
                precondition(source &+ count <= storage.count, "a field's bytes lie inside the message's storage")
                storage.withUnsafeBytes { raw in
                    target.copyMemory(from: raw.baseAddress! + source, byteCount: count)
                }
                cursor &+= count
            }
        }
        return cursor
    }

    func writeMTI(_ mti: MTI, to base: UnsafeMutableRawPointer) -> Int {
        let value = Int(mti.value)
        let digits = (value / 1000, value / 100 % 10, value / 10 % 10, value % 10)
        switch dialect.mtiEncoding {
        case .ascii, .ebcdic:
            let zero = dialect.mtiEncoding == .ascii ? 0x30 : 0xF0
            base.storeBytes(of: UInt8(zero + digits.0), toByteOffset: 0, as: UInt8.self)
            base.storeBytes(of: UInt8(zero + digits.1), toByteOffset: 1, as: UInt8.self)
            base.storeBytes(of: UInt8(zero + digits.2), toByteOffset: 2, as: UInt8.self)
            base.storeBytes(of: UInt8(zero + digits.3), toByteOffset: 3, as: UInt8.self)
            return 4
        case .bcd:
            base.storeBytes(of: UInt8(digits.0 << 4 | digits.1), toByteOffset: 0, as: UInt8.self)
            base.storeBytes(of: UInt8(digits.2 << 4 | digits.3), toByteOffset: 1, as: UInt8.self)
            return 2
        }
    }

    @inline(__always)
    func writeBitmap(_ word: UInt64, to base: UnsafeMutableRawPointer) -> Int {
        switch dialect.bitmapEncoding {
        case .binary:
            base.storeBytes(of: word.bigEndian, as: UInt64.self)
            return 8
        case .hex:
            for index in 0..<16 {
                let nibble = Int(word >> UInt64(60 - index * 4) & 0xF)
                base.storeBytes(of: hexDigits[nibble], toByteOffset: index, as: UInt8.self)
            }
            return 16
        }
    }

    @inline(__always)
    func writeLengthPrefix(_ codec: FieldCodec, _ units: Int, to base: UnsafeMutableRawPointer) -> Int {
        let digits = codec.lengthDigits
        if digits == 0 { return 0 }
        precondition(units >= 0 && units <= LengthType(rawValue: digits)!.prefixMaximum, "a length its prefix can say")
        switch codec.prefixEncoding {
        case .ascii, .ebcdic:
            let zero = codec.prefixEncoding == .ascii ? 0x30 : 0xF0
            var remaining = units
            for index in stride(from: digits - 1, through: 0, by: -1) {
                base.storeBytes(
                    of: UInt8(truncatingIfNeeded: zero + remaining % 10), toByteOffset: index, as: UInt8.self)
                remaining /= 10
            }
        case .bcd:
            var remaining = units
            for index in stride(from: codec.prefixByteCount - 1, through: 0, by: -1) {
                let pair = remaining % 100
                base.storeBytes(
                    of: UInt8(truncatingIfNeeded: (pair / 10) << 4 | pair % 10), toByteOffset: index, as: UInt8.self)
                remaining /= 100
            }
        case .binary:
            if codec.prefixByteCount == 1 {
                base.storeBytes(of: UInt8(truncatingIfNeeded: units), as: UInt8.self)
            } else {
                base.storeBytes(of: UInt16(truncatingIfNeeded: units).bigEndian, as: UInt16.self)
            }
        }
        return codec.prefixByteCount
    }
}
