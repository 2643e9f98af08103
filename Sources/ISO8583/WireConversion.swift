/// Conversions between a field's canonical value (ASCII text or raw bytes) and its wire form.

/// Writes `value`, padded by `padCount` units, in the codec's wire encoding. `out` has exactly the wire size.
func encodeWire(
    _ codec: FieldCodec, _ value: UnsafeRawBufferPointer, padCount: Int, into out: UnsafeMutableRawBufferPointer
) {
    switch codec.encoding {
    case .binary:
        out.copyMemory(from: value)
    case .hex:
        for index in 0..<value.count {
            out[index * 2] = hexDigits[Int(value[index] >> 4)]
            out[index * 2 + 1] = hexDigits[Int(value[index] & 0xF)]
        }
    case .ascii, .ebcdic:
        let padLeft = codec.padSide == .left ? padCount : 0
        for index in 0..<out.count {
            let position = index - padLeft
            let byte = position >= 0 && position < value.count ? value[position] : codec.padValue
            out[index] = codec.encoding == .ebcdic ? asciiToEBCDICTable[Int(byte)] : byte
        }
    case .bcd:
        packDecimal(codec, value, zeroFill: padCount, into: out)
    }
}

/// Packs digits two per byte. A fixed numeric field shorter than its length is zero-filled on the left first;
/// an odd digit count gets the codec's pad nibble on its pad side. Allocates nothing.
func packDecimal(
    _ codec: FieldCodec, _ value: UnsafeRawBufferPointer, zeroFill: Int, into out: UnsafeMutableRawBufferPointer
) {
    var source = 0
    var target = 0
    if codec.type == .signedAmount {
        out[0] = value[0]
        source = 1
        target = 1
    }
    let digitCount = zeroFill + value.count - source
    let isOdd = digitCount & 1 == 1
    let padFront = isOdd && codec.padSide != .right
    let nibbleCount = digitCount + (isOdd ? 1 : 0)
    var high: UInt8 = 0
    for index in 0..<nibbleCount {
        let digitIndex = index - (padFront ? 1 : 0)
        let nibble: UInt8
        if digitIndex < 0 || digitIndex >= digitCount {
            nibble = codec.padValue
        } else if digitIndex < zeroFill {
            nibble = 0
        } else {
            let character = value[source + digitIndex - zeroFill]
            nibble = character == 0x44 || character == 0x64 ? 0xD : character & 0x0F
        }
        if index & 1 == 0 {
            high = nibble
        } else {
            out[target] = high << 4 | nibble
            target += 1
        }
    }
}

/// Converts wire bytes to the canonical value; returns the number of bytes written to `out`.
func canonicalize(
    _ codec: FieldCodec, wire: UnsafeRawBufferPointer, units: Int, into out: UnsafeMutableBufferPointer<UInt8>
) -> Int {
    switch codec.encoding {
    case .ascii, .binary:
        for index in 0..<wire.count { out[index] = wire[index] }
        return wire.count
    case .ebcdic:
        for index in 0..<wire.count { out[index] = ebcdicToASCIITable[Int(wire[index])] }
        return wire.count
    case .hex:
        for index in 0..<(wire.count / 2) {
            out[index] = hexValueTable[Int(wire[index * 2])] << 4 | hexValueTable[Int(wire[index * 2 + 1])]
        }
        return wire.count / 2
    case .bcd:
        return unpackDecimal(codec, wire, units: units, into: out)
    }
}

/// Unpacks digits, dropping the pad nibble of an odd count; nibble n becomes the character 0x30 + n, so track
/// separators (0xD) read as `=`.
func unpackDecimal(
    _ codec: FieldCodec, _ wire: UnsafeRawBufferPointer, units: Int, into out: UnsafeMutableBufferPointer<UInt8>
) -> Int {
    var written = 0
    var first = 0
    var digits = units
    if codec.type == .signedAmount {
        out[0] = wire[0]
        written = 1
        first = 1
        digits -= 1
    }
    let skipFirst = digits & 1 == 1 && codec.padSide != .right
    var nibbleIndex = skipFirst ? 1 : 0
    let nibbleEnd = nibbleIndex + digits
    while nibbleIndex < nibbleEnd {
        let byte = wire[first + nibbleIndex / 2]
        let nibble = nibbleIndex & 1 == 0 ? byte >> 4 : byte & 0xF
        out[written] = 0x30 + nibble
        written += 1
        nibbleIndex += 1
    }
    return written
}
