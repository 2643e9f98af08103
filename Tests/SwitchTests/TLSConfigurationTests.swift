import Foundation
import Network
import Testing

@testable import SwitchCore

/// A listener's `tls` object: read and validated, never silently ignored.
@Suite struct TLSConfigurationTests {
    static func load(_ json: String) throws(ConfigurationError) -> SwitchConfiguration {
        let object = try! JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        return try SwitchConfiguration(json: object, source: "test.json")
    }

    static func refusal(_ json: String) -> ConfigurationError? {
        do {
            _ = try load(json)
            return nil
        } catch {
            return error
        }
    }

    @Test("tls with certificate, privateKey and clientCertificateAuthority is read into the listener; its limits too")
    func readsTLS() throws {
        let configuration = try Self.load(
            """
            {"listeners": [{"address": "127.0.0.1:1"},
              {"address": "127.0.0.1:2", "tls": {"certificate": "c.pem", "privateKey": "k.pem",
                                                 "clientCertificateAuthority": "ca.pem"}}],
             "limits": {"tlsHandshakeTimeoutMs": 2500, "tlsHandshakesPerIterationMax": 4}}
            """)
        #expect(configuration.listeners[0].tls == nil)
        #expect(
            configuration.listeners[1].tls
                == TLSServerFiles(
                    certificatePath: "c.pem", privateKeyPath: "k.pem", clientCertificateAuthorityPath: "ca.pem"))
        #expect(configuration.network.tlsHandshakeTimeoutMs == 2500)
        #expect(configuration.network.tlsHandshakesPerIterationMax == 4)
    }

    @Test(
        "an unknown key inside tls, a missing certificate or key, a non-string path or a tls that is not an object is refused, naming the key"
    )
    func refusesWhatItWouldNotHonour() {
        let cases: [(String, String)] = [
            (#"{"certificate": "c", "privateKey": "k", "ciphers": "ALL"}"#, "listeners[0].tls.ciphers"),
            (
                #"{"certificate": "c", "privateKey": "k", "clientCertificateAuthorty": "ca"}"#,
                "listeners[0].tls.clientCertificateAuthorty"
            ),
            (#"{"privateKey": "k"}"#, "listeners[0].tls.certificate"),
            (#"{"certificate": "c"}"#, "listeners[0].tls.privateKey"),
            (#"{"certificate": 1, "privateKey": "k"}"#, "listeners[0].tls.certificate"),
            (#"{"certificate": "", "privateKey": "k"}"#, "listeners[0].tls.certificate"),
            (#"true"#, "listeners[0].tls"),
        ]
        for (tls, key) in cases {
            let error = Self.refusal(#"{"listeners": [{"address": "127.0.0.1:1", "tls": "# + tls + "}]}")
            #expect(error?.key == key, "\(tls): \(error.map { "\($0)" } ?? "accepted")")
        }
    }

    @Test("the TLS limits are bounded: tlsHandshakeTimeoutMs 10...600000, tlsHandshakesPerIterationMax 1...4096")
    func limitsAreBounded() {
        #expect(Self.refusal(#"{"limits": {"tlsHandshakeTimeoutMs": 5}}"#)?.key == "limits.tlsHandshakeTimeoutMs")
        #expect(
            Self.refusal(#"{"limits": {"tlsHandshakesPerIterationMax": 0}}"#)?.key == "limits.tlsHandshakesPerIterationMax")
        #expect(Self.refusal(#"{"limits": {"tlsHandshakesPerIterationMax": 4096}}"#) == nil)
    }
}
