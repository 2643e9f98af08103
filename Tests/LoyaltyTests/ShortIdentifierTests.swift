import Testing

@testable import Loyalty

/// ShortIdentifier: wire padding, limits and round trips.
@Suite("Short identifier")
struct ShortIdentifierTests {
    @Test("field 42 padded with spaces equals the unpadded id and prints without the padding")
    func trailingSpacesArePadding() {
        let padded = ShortIdentifier(bytes: Array("M001           ".utf8))
        #expect(padded == ShortIdentifier("M001"))
        #expect(padded?.description == "M001")
    }

    @Test("1 and 16 bytes round-trip; empty, 17 bytes, a leading space or a control byte are refused")
    func limits() {
        #expect(ShortIdentifier("A")?.description == "A")
        #expect(ShortIdentifier("ABCDEFGH12345678")?.description == "ABCDEFGH12345678")
        #expect(ShortIdentifier("INNER SPACE")?.description == "INNER SPACE")
        for refused in ["", "   ", "ABCDEFGH123456789", " LEADING", "TAB\tBYTE", "نام"] {
            #expect(ShortIdentifier(refused) == nil, "\(refused)")
        }
    }

    @Test("ids differing only in their ninth or later byte are different")
    func secondWordCounts() {
        #expect(ShortIdentifier("MERCHANT0000001") != ShortIdentifier("MERCHANT0000002"))
        #expect(ShortIdentifier("MERCHANT0000001")! < ShortIdentifier("MERCHANT0000002")!)
    }
}
