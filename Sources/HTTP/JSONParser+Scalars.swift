extension JSONParser {
    /// A string at `position` (its opening quote): escapes and UTF-8 checked, control characters refused.
    mutating func parseString() throws(JSONSyntaxError) {
        let start = position + 1
        var index = start
        var hasEscape = false
        while true {
            guard index - start <= limits.stringBytesMax else {
                position = index
                throw fail("a string is longer than \(limits.stringBytesMax) bytes (stringBytesMax)")
            }
            guard index < bytes.count else {
                position = index
                throw fail("a string is not terminated")
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscape = true
                index = try escapeEnd(at: index)
            } else if byte < 0x20 {
                position = index
                throw fail("a control character (0x\(String(byte, radix: 16))) in a string must be escaped")
            } else if byte < 0x80 {
                index += 1
            } else {
                guard let length = JSONParser.utf8SequenceLength(bytes, at: index) else {
                    position = index
                    throw fail("a string is not valid UTF-8")
                }
                index += length
            }
        }
        _ = try append(.string, flag: hasEscape, start: start, end: index)
        position = index + 1
    }

    /// The index after the escape at `index` (a backslash); a high surrogate must be followed by a low one.
    mutating func escapeEnd(at index: Int) throws(JSONSyntaxError) -> Int {
        guard index + 1 < bytes.count else {
            position = index
            throw fail("a string ends inside an escape")
        }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return index + 2
        case UInt8(ascii: "u"):
            guard let unit = hex4(at: index + 2) else {
                position = index
                throw fail("\\u must be followed by four hex digits")
            }
            if unit >= 0xDC00 && unit <= 0xDFFF {
                position = index
                throw fail("a low surrogate escape without a high one")
            }
            guard unit >= 0xD800 && unit <= 0xDBFF else { return index + 6 }
            guard index + 7 < bytes.count, bytes[index + 6] == UInt8(ascii: "\\"),
                bytes[index + 7] == UInt8(ascii: "u"),
                let low = hex4(at: index + 8), low >= 0xDC00 && low <= 0xDFFF
            else {
                position = index
                throw fail("a high surrogate escape without a low one")
            }
            return index + 12
        default:
            position = index
            throw fail("an unknown escape in a string")
        }
    }

    func hex4(at index: Int) -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for offset in 0..<4 {
            guard let digit = JSONParser.hexValue(bytes[index + offset]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, at most `numberBytesMax` characters.
    mutating func parseNumber() throws(JSONSyntaxError) {
        let start = position
        var index = position
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, HTTPBytes.isDigit(bytes[index]) else { throw fail("a number needs a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count && HTTPBytes.isDigit(bytes[index]) { throw fail("a number has a leading zero") }
        } else {
            index = digitsEnd(from: index)
        }
        var isWhole = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isWhole = false
            guard index + 1 < bytes.count, HTTPBytes.isDigit(bytes[index + 1]) else {
                throw fail("a number's fraction needs a digit")
            }
            index = digitsEnd(from: index + 1)
        }
        if index < bytes.count && (bytes[index] | 0x20) == UInt8(ascii: "e") {
            isWhole = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard index < bytes.count, HTTPBytes.isDigit(bytes[index]) else {
                throw fail("a number's exponent needs a digit")
            }
            index = digitsEnd(from: index)
        }
        guard index - start <= limits.numberBytesMax else {
            throw fail("a number is longer than \(limits.numberBytesMax) characters (numberBytesMax)")
        }
        _ = try append(.number, flag: !isWhole, start: start, end: index)
        position = index
    }

    func digitsEnd(from start: Int) -> Int {
        var index = start
        while index < bytes.count && HTTPBytes.isDigit(bytes[index]) { index += 1 }
        return index
    }

    /// The length of the UTF-8 sequence starting at `index` (a byte ≥ 0x80), or nil when it is not well-formed.
    static func utf8SequenceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: (length, low) = (3, 0xA0)
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: (length, high) = (3, 0x9F)
        case 0xF0: (length, low) = (4, 0x90)
        case 0xF1...0xF3: length = 4
        case 0xF4: (length, high) = (4, 0x8F)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        guard bytes[index + 1] >= low && bytes[index + 1] <= high else { return nil }
        for offset in 2..<max(length, 2) where bytes[index + offset] & 0xC0 != 0x80 { return nil }
        return length
    }
}
