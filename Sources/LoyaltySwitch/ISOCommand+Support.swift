import Foundation
import ISO8583

extension ISOCommand {
    /// A built-in dialect name or a spec file path; prints the problem and returns nil when it cannot be loaded.
    static func loadDialect(_ nameOrPath: String?) -> Dialect? {
        do {
            return try Dialect.named(nameOrPath ?? BuiltinDialects.defaultName)
        } catch {
            printError("error: \(error)")
            return nil
        }
    }

    /// `--framing NAME` or `--framed` (binary2), plus `--tpdu` as a flag for decode.
    static func framingOption(_ options: CommandLineOptions) throws(UsageError) -> Framing? {
        let hasTPDU = options.has("tpdu")
        if let name = options.values["framing"] {
            guard let header = Framing.LengthHeader(rawValue: name) else {
                throw UsageError(message: "--framing must be binary2, bcd2 or ascii4")
            }
            return Framing(lengthHeader: header, hasTPDU: hasTPDU, frameBytesMax: header.lengthMax)
        }
        if options.has("framed") || hasTPDU {
            return Framing(
                lengthHeader: .binary2, hasTPDU: hasTPDU, frameBytesMax: Framing.LengthHeader.binary2.lengthMax)
        }
        return nil
    }
}

/// Hex text (spaces and newlines ignored) to bytes, naming the offset of the first bad character.
func parseHex(_ text: [UInt8]) -> Result<[UInt8], UsageError> {
    var digits = [UInt8]()
    digits.reserveCapacity(text.count)
    for (offset, byte) in text.enumerated() {
        if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { continue }
        guard (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte) else {
            return .failure(UsageError(message: "not hex at character \(offset)"))
        }
        digits.append(byte)
    }
    guard let bytes = hexDecoded(digits) else { return .failure(UsageError(message: "odd number of hex digits")) }
    return .success(bytes)
}

func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
}
