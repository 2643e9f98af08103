import Foundation
import Glibc
import TestSupport

/// Certificates made for one test by fixtures/tls/make-test-certificates.sh (`openssl req`/`x509`): an
/// authority, a server and a client certificate it signed, a rogue client, an expired certificate, a stray key.
struct TestCertificates {
    let directory: String

    /// Makes a fresh set; a missing `openssl` is a failure, not a skip.
    init(serverName: String = "loyalty-switch-test") throws {
        directory = NSTemporaryDirectory() + "tls-test-\(UInt32.random(in: 0...UInt32.max))"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/tls/make-test-certificates.sh").path
        let made = try ChildProcess.run("/bin/bash", [script, directory, serverName])
        guard made.status == 0 else {
            throw ChildProcess.Failure(description: "make-test-certificates.sh failed: \(made.output)")
        }
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
