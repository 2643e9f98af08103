import CCRC32C
import Testing

@testable import Ledger

/// CRC32C (instruction and table paths) and SipHash-2-4-128 against published vectors.
@Suite struct ChecksumTests {
    func crc(_ text: String, table: Bool = false) -> UInt32 {
        Array(text.utf8).withUnsafeBytes { bytes in
            table
                ? ccrc32c_update_table(0, bytes.baseAddress, bytes.count)
                : ccrc32c_update(0, bytes.baseAddress, bytes.count)
        }
    }

    @Test("CRC32C check value: \"123456789\" gives 0xE3069283 on both paths")
    func checkValue() {
        #expect(crc("123456789") == 0xE306_9283)
        #expect(crc("123456789", table: true) == 0xE306_9283)
        #expect(ccrc32c_hardware_available() == 1, "this machine has SSE4.2; the fast path must be used")
    }

    @Test("CRC32C RFC 3720 vectors: 32 zero bytes, 32 0xFF bytes, 0..31 ascending")
    func rfc3720() {
        func crc(_ bytes: [UInt8], table: Bool) -> UInt32 {
            bytes.withUnsafeBytes {
                table ? ccrc32c_update_table(0, $0.baseAddress, $0.count) : ccrc32c_update(0, $0.baseAddress, $0.count)
            }
        }
        for table in [false, true] {
            #expect(crc([UInt8](repeating: 0, count: 32), table: table) == 0x8A91_36AA)
            #expect(crc([UInt8](repeating: 0xFF, count: 32), table: table) == 0x62A8_AB43)
            #expect(crc((0..<32).map { UInt8($0) }, table: table) == 0x46DD_794E)
        }
    }

    @Test("CRC32C: both paths agree on every length 0...300 and on split updates")
    func pathsAgree() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        bytes.withUnsafeBytes { buffer in
            for length in 0...300 {
                let fast = ccrc32c_update(0, buffer.baseAddress, length)
                #expect(fast == ccrc32c_update_table(0, buffer.baseAddress, length))
                let split = length / 3
                let first = ccrc32c_update(0, buffer.baseAddress, split)
                #expect(ccrc32c_update(first, buffer.baseAddress! + split, length - split) == fast)
            }
        }
    }

    @Test("SipHash-2-4-128 reference vectors (veorq/SipHash vectors_sip128, key 00..0f, message 00..len-1)")
    func sipHashVectors() {
        let key0: UInt64 = 0x0706_0504_0302_0100
        let key1: UInt64 = 0x0F0E_0D0C_0B0A_0908
        let expected: [Int: [UInt8]] = [
            0: [0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6, 0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93],
            1: [0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44, 0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45],
            2: [0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7, 0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4],
            3: [0x9c, 0x70, 0xb6, 0x0c, 0x52, 0x67, 0xa9, 0x4e, 0x5f, 0x33, 0xb6, 0xb0, 0x29, 0x85, 0xed, 0x51],
            4: [0xf8, 0x81, 0x64, 0xc1, 0x2d, 0x9c, 0x8f, 0xaf, 0x7d, 0x0f, 0x6e, 0x7c, 0x7b, 0xcd, 0x55, 0x79],
            15: [0x54, 0x93, 0xe9, 0x99, 0x33, 0xb0, 0xa8, 0x11, 0x7e, 0x08, 0xec, 0x0f, 0x97, 0xcf, 0xc3, 0xd9],
        ]
        for (length, bytes) in expected {
            let message = (0..<length).map { UInt8($0) }
            let value = message.withUnsafeBytes { SipHash128.hash(key0: key0, key1: key1, bytes: $0) }
            var output = (value.low.littleEndian, value.high.littleEndian)
            let outputBytes = withUnsafeBytes(of: &output) { Array($0) }
            #expect(outputBytes == bytes, "length \(length)")
        }
    }

    @Test("card numbers: 10 to 19 digits only; masked form shows first 6 and last 4; description never shows more")
    func cardNumbers() {
        #expect(CardNumber("123456789") == nil && CardNumber("12345678901234567890") == nil)
        #expect(CardNumber("12345678901x") == nil)
        let number = CardNumber("6037991234567890123")!
        #expect(number.masked.description == "603799*********0123")
        #expect("\(number)" == "603799*********0123")
        #expect(CardNumber("0000001234")!.masked.description == "0000001234")
        #expect(CardNumber("00012300000000007")!.masked.description == "000123*******0007")
        #expect(CardNumber("9999999999")!.masked.description == "9999999999")
        #expect(MaskedCard.none.description == "-")
    }
}
