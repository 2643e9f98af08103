import AdminAccess
import HTTP
import Testing

/// SHA-256 against the FIPS 180-2 vectors, tokens' size and randomness, constant-time comparison, and the
/// canonical JSON form the chain and Idempotency-Key rely on.
@Suite("Access crypto and canonical JSON")
struct AccessCryptoTests {
    @Test("SHA-256 gives the FIPS 180-2 digests of \"\", \"abc\" and the 448-bit message")
    func sha256Vectors() {
        let vectors = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for (text, digest) in vectors { #expect(AccessCrypto.hex(AccessCrypto.sha256(Array(text.utf8))) == digest) }
    }

    @Test("tokens carry 256 random bits: 64 hex digits after lsk_, no two alike in 1000")
    func tokens() {
        let tokens = (0..<1000).map { _ in AccessToken.generate() }
        #expect(Set(tokens).count == 1000)
        for token in tokens.prefix(10) {
            #expect(token.hasPrefix("lsk_") && token.count == 68)
            #expect(AccessCrypto.bytes(hex: String(token.dropFirst(4)))?.count == 32)
        }
        #expect(AccessToken.redacted(tokens[0]).count < 12)
    }

    @Test("constant-time comparison tells equal, different and differently long byte strings apart")
    func constantTime() {
        #expect(AccessCrypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!AccessCrypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!AccessCrypto.constantTimeEqual([1, 2, 3], [1, 2]))
    }

    @Test("canonical JSON: key order and whitespace do not matter, values and nesting do")
    func canonicalForm() throws {
        func canonical(_ text: String) throws -> String {
            String(decoding: JSONWriter.canonicalBytes(try JSONDocument.parse(Array(text.utf8)).root), as: UTF8.self)
        }
        let first = try canonical(#"{"b": [1, {"y": true, "x": null}], "a": "\u00e9\n", "c": -1.5e3}"#)
        let second = try canonical("{\"c\":-1.5e3,\n \"a\":\"é\\n\",\"b\":[1,{\"x\":null,\"y\":true}]}")
        #expect(first == second)
        #expect(first == #"{"a":"é\n","b":[1,{"x":null,"y":true}],"c":-1.5e3}"#)
        #expect(try canonical(#"{"a": [2, 1]}"#) != (try canonical(#"{"a": [1, 2]}"#)))
        #expect(try canonical("[[[[]]]]") == "[[[[]]]]")
    }
}
