import Foundation
import Testing

@testable import SwitchCore

/// The `--config` JSON file as an operator writes it: every number, including 0 and 1, is a number.
@Suite struct ConfigurationFileTests {
    static func load(_ json: String) throws -> SwitchConfiguration {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let path = directory.path + "/config.json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return try SwitchConfiguration.load(path: path)
    }

    @Test("integer keys accept 0 and 1 (JSONSerialization hands them over as NSNumbers that also cast to Bool)")
    func zeroAndOneAreIntegers() throws {
        let configuration = try Self.load(
            #"{"loops": 1, "shards": 1, "latencyBudgetMs": 1, "limits": {"idleTimeoutMs": 0, "connectionsMax": 1}, "#
                + #""program": {"pointsPerEarnUnit": 1, "earnUnitMinor": 1, "pointValueMinor": 1}}"#)
        #expect(configuration.loopCount == 1)
        #expect(configuration.shardCount == 1)
        #expect(configuration.latencyBudgetMs == 1)
        #expect(configuration.network.idleTimeoutMs == 0)
        #expect(configuration.network.connectionsMax == 1)
        #expect(configuration.program.earnUnitMinor == 1)
    }

    @Test("true and false are not integers, and 0 and 1 are not booleans")
    func booleansAndIntegersStayApart() throws {
        #expect(throws: ConfigurationError.self) { try Self.load(#"{"loops": true}"#) }
        #expect(throws: ConfigurationError.self) { try Self.load(#"{"durable": 1}"#) }
        #expect(throws: ConfigurationError.self) { try Self.load(#"{"program": {"autoEnrol": 0}}"#) }
        let notDurable = try Self.load(#"{"durable": false}"#)
        #expect(notDurable.durable == false)
    }

    @Test("the switch starts from a file that sets loops and shards to 1 and serves a purchase")
    func oneLoopOneShard() throws {
        var settings = SwitchSettings()
        settings.loops = 1
        settings.shards = 1
        try withSwitch(settings) { server in
            var terminal = Terminal()
            let client = try SwitchClient(port: server.port)
            #expect(try client.exchange(terminal.purchase(Wire.card(1, test: 10), 300)).code == "00")
        }
    }
}
