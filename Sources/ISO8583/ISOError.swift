/// A codec failure: which field, where in the input, and why. Field 0 is the MTI, field 1 the bitmap.
public struct ISOError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The input ended before the field did.
        case truncated(needed: Int, available: Int)
        /// A byte that the field's type or encoding does not allow.
        case invalidCharacter(UInt8)
        /// A length prefix that is not a number in its encoding.
        case invalidLengthPrefix
        /// A length outside what the dialect allows.
        case lengthOutOfRange(length: Int, maximum: Int)
        /// A fixed field whose value has a different length.
        case wrongLength(length: Int, expected: Int)
        /// The bitmap names a field the dialect does not define.
        case undefinedField
        /// Bytes left over after the last field the bitmap names.
        case trailingBytes(count: Int)
        /// The message is larger than the codec's limit.
        case messageTooLarge(size: Int, maximum: Int)
        /// An encode request that names an impossible field number.
        case fieldNumberOutOfRange
        /// A message with no MTI cannot be encoded.
        case missingMTI
        /// A value that is not a number where one is needed (e.g. JSON input).
        case invalidValue(String)
    }

    /// 0 = MTI, 1 = bitmap, 2...192 data elements.
    public let field: Int
    /// Byte offset in the input where the problem starts (0 for encode-side errors).
    public let offset: Int
    public let reason: Reason

    public init(field: Int, offset: Int, reason: Reason) {
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    public var fieldLabel: String {
        switch field {
        case 0: return "MTI"
        case 1: return "bitmap"
        default: return "field \(field)"
        }
    }

    public var description: String {
        "\(fieldLabel) at offset \(offset): \(reasonText)"
    }

    /// Never echoes field content beyond a single byte, so card data cannot leak through an error.
    public var reasonText: String {
        switch reason {
        case .truncated(let needed, let available):
            return "truncated: needs \(needed) bytes, \(available) left"
        case .invalidCharacter(let byte):
            return "invalid character 0x\(hexByte(byte))"
        case .invalidLengthPrefix: return "invalid length prefix"
        case .lengthOutOfRange(let length, let maximum):
            return "length \(length) out of range (maximum \(maximum))"
        case .wrongLength(let length, let expected):
            return "length \(length), fixed length is \(expected)"
        case .undefinedField: return "not defined in this dialect"
        case .trailingBytes(let count): return "\(count) unexpected bytes after the last field"
        case .messageTooLarge(let size, let maximum): return "message of \(size) bytes exceeds \(maximum)"
        case .fieldNumberOutOfRange: return "field number out of range"
        case .missingMTI: return "no MTI"
        case .invalidValue(let text): return text
        }
    }
}

@inline(__always)
func hexByte(_ byte: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
