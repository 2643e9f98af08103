import COpenSSL

/// HMAC-SHA256 by the system OpenSSL: the webhook signature (`X-Loyalty-Signature: sha256=HEX`) a receiver
/// recomputes over the exact body with the shared secret.
public enum HMACSHA256 {
    public static let digestBytes = 32

    /// The 32-byte MAC of `message` under `key`.
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestBytes)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                digest.withUnsafeMutableBytes { output in
                    HMAC(
                        EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                        messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                        output.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
                }
            }
        }
        // OpenSSL fails here only without memory or without SHA-256: neither is an operating condition.
        precondition(result != nil && length == UInt32(digestBytes), "OpenSSL HMAC-SHA256 failed")
        return digest
    }

    /// The MAC as lowercase hex, as the signature header carries it.
    public static func hex(key: [UInt8], message: [UInt8]) -> String {
        hexString(mac(key: key, message: message))
    }

    static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
