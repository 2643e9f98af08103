/// Lookup tables for character classes and EBCDIC; built once, read on the hot path without branches.

/// Bit per field type: a byte is valid for a type when `characterClassTable[byte] & type.classMask != 0`.
let characterClassTable: [UInt16] = {
    var table = [UInt16](repeating: 0, count: 256)
    for byte in 0..<256 {
        let isDigit = byte >= 0x30 && byte <= 0x39
        let isLetter = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        let isSpace = byte == 0x20
        let isPrintable = byte >= 0x20 && byte <= 0x7E
        let isPunctuation = isPrintable && !isDigit && !isLetter
        var mask: UInt16 = 0
        if isDigit { mask |= FieldType.numeric.classMask }
        if isLetter || isSpace { mask |= FieldType.alpha.classMask }
        if isLetter || isDigit || isSpace { mask |= FieldType.alphaNumeric.classMask }
        if isPrintable { mask |= FieldType.alphaNumericSpecial.classMask }
        if isDigit || isPunctuation { mask |= FieldType.numericSpecial.classMask }
        if isLetter || isPunctuation { mask |= FieldType.alphaSpecial.classMask }
        // Track data: digits, the separators '=' and 'D', sentinels ';' '?' and the other 0x3A-0x3F nibble codes.
        if isDigit || (byte >= 0x3A && byte <= 0x3F) || byte == 0x44 || byte == 0x64 {
            mask |= FieldType.track.classMask
        }
        if isDigit || byte == 0x43 || byte == 0x44 { mask |= FieldType.signedAmount.classMask }
        mask |= FieldType.binary.classMask
        table[byte] = mask
    }
    return table
}()

/// Hex digit value, or 0xFF for a byte that is not a hex digit.
let hexValueTable: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, byte) in Array("0123456789ABCDEF".utf8).enumerated() { table[Int(byte)] = UInt8(index) }
    for (index, byte) in Array("abcdef".utf8).enumerated() { table[Int(byte)] = UInt8(10 + index) }
    return table
}()

let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

/// EBCDIC (code page 037) to ASCII for the printable range; unmapped bytes become 0x00, which no text type allows.
let ebcdicToASCIITable: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 256)
    let pairs: [(UInt8, String)] = [
        (0x40, " "), (0x4B, "."), (0x4C, "<"), (0x4D, "("), (0x4E, "+"), (0x4F, "|"), (0x50, "&"),
        (0x5A, "!"), (0x5B, "$"), (0x5C, "*"), (0x5D, ")"), (0x5E, ";"), (0x60, "-"), (0x61, "/"),
        (0x6B, ","), (0x6C, "%"), (0x6D, "_"), (0x6E, ">"), (0x6F, "?"), (0x7A, ":"), (0x7B, "#"),
        (0x7C, "@"), (0x7D, "'"), (0x7E, "="), (0x7F, "\""),
    ]
    for (code, text) in pairs { table[Int(code)] = text.utf8.first! }
    let ranges: [(UInt8, String)] = [
        (0x81, "abcdefghi"), (0x91, "jklmnopqr"), (0xA2, "stuvwxyz"),
        (0xC1, "ABCDEFGHI"), (0xD1, "JKLMNOPQR"), (0xE2, "STUVWXYZ"), (0xF0, "0123456789"),
    ]
    for (start, letters) in ranges {
        for (index, byte) in letters.utf8.enumerated() { table[Int(start) + index] = byte }
    }
    return table
}()

/// ASCII to EBCDIC, the inverse of `ebcdicToASCIITable`; 0x00 for characters EBCDIC 037 lacks here.
let asciiToEBCDICTable: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 256)
    for code in 0..<256 where ebcdicToASCIITable[code] != 0 {
        table[Int(ebcdicToASCIITable[code])] = UInt8(code)
    }
    return table
}()

extension FieldType {
    /// One bit per type in `characterClassTable`.
    @inline(__always)
    var classMask: UInt16 {
        switch self {
        case .numeric: return 1 << 0
        case .alpha: return 1 << 1
        case .alphaNumeric: return 1 << 2
        case .alphaNumericSpecial: return 1 << 3
        case .numericSpecial: return 1 << 4
        case .alphaSpecial: return 1 << 5
        case .binary: return 1 << 6
        case .track: return 1 << 7
        case .signedAmount: return 1 << 8
        }
    }
}
