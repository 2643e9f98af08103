import Foundation
import TestSupport
import Testing

/// Runs python3 with arguments; returns the exit status and standard output, or nil when python3 cannot start or
/// overruns `timeout` seconds (it is then killed).
func runPython(_ arguments: [String], timeout: Double = 60) -> (status: Int32, output: String)? {
    guard let outcome = try? ChildProcess.capture("python3", arguments, timeout: timeout) else { return nil }
    return (outcome.status, outcome.output)
}

/// The independent ISO 8583 implementation (pyiso8583) is present when `import iso8583` works.
enum IndependentClient {
    static let available: Bool = runPython(["-c", "import iso8583"], timeout: 20)?.status == 0
    /// CI (`.ci/run` exports CI=true) must run the independent check: there a missing pyiso8583 fails the test
    /// instead of skipping it, so a broken install cannot leave the contract silently untested.
    static let required: Bool = ["true", "1"].contains(ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? "")
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("contract_client.py").path
}

/// Wire contract v1 checked by a client that shares no code with the switch: pyiso8583's encoder and decoder.
@Suite struct IndependentClientTests {
    @Test(
        "pyiso8583, an independent client, gets every scripted contract answer right (sign-on, earn, redeem, 51, replay, 94, reversal, 12, 13, 14, _|\\ in field 44, advice)",
        .enabled(
            if: IndependentClient.available || IndependentClient.required,
            "skipped outside CI: python3 cannot import iso8583; run pip install pyiso8583==4.0.1")
    )
    func scriptedSession() throws {
        try #require(
            IndependentClient.available, "CI=true but python3 cannot import iso8583: pip install pyiso8583==4.0.1")
        try withSwitch { server in
            let result = try #require(
                runPython([IndependentClient.script, String(server.port)]), "python3 did not finish")
            try #require(result.status == 0, "contract_client.py exited \(result.status)")
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
            let checks = try #require(object?["checks"] as? [[String: Any]])
            #expect(checks.count >= 20, "the script ran \(checks.count) checks")
            for check in checks {
                let name = check["name"] as? String ?? "?"
                #expect(check["ok"] as? Bool == true, "\(name): \(check["detail"] as? String ?? "")")
            }
        }
    }
}
