import Foundation
import Glibc
import ISO8583
import Ledger
import Loyalty
import Network
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
        // earnUnitMinor 1 reached the embedded program: a purchase of 7 minor units earns 7 points.
        let purchase = Loyalty.Transaction(
            amountMinor: 7, currencyCode: 364, merchantCategoryCode: 0, merchant: ShortIdentifier("M")!,
            terminal: ShortIdentifier("T")!, timeMs: 0)
        let decision = configuration.embeddedProgram.evaluate(transaction: purchase, member: .new)
        #expect(decision.postings.pointsEarned == 7 && configuration.embeddedProgram.redemption.pointValueMinor == 1)
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

    /// Runs `serve` with `json` and checks that it refuses to start with exit status 2 and `message` after
    /// the file's name on standard error.
    @Test("limits.checkpointCopyBytesMax reaches the ledger's copy budget")
    func checkpointCopyBudgetIsConfigured() throws {
        #expect(try Self.load(#"{"limits": {"checkpointCopyBytesMax": 1048576}}"#).checkpointCopyBytesMax == 1 << 20)
        #expect(try Self.load("{}").checkpointCopyBytesMax == LedgerConfiguration().checkpointCopyBytesMax)
    }

    @Test("limits.checkpointBytesPerSecondMax paces checkpoints while serving (32 MiB/s unless set; 0: unpaced)")
    func checkpointPaceIsConfigured() throws {
        #expect(try Self.load("{}").checkpointBytesPerSecondMax == 32 << 20)
        #expect(try Self.load(#"{"limits": {"checkpointBytesPerSecondMax": 0}}"#).checkpointBytesPerSecondMax == 0)
        let paced = try Self.load(#"{"limits": {"checkpointBytesPerSecondMax": 1048576}}"#)
        #expect(SwitchServer.ledgerConfiguration(paced, log: LogSink(descriptor: 2)).checkpointBytesPerSecondMax == 1 << 20)
        try Self.expectRefusal(
            #"{"limits": {"checkpointBytesPerSecondMax": 1000}}"#,
            "limits.checkpointBytesPerSecondMax: 0 (not paced) or at least 65536 bytes per second")
    }

    static func expectRefusal(_ json: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try SwitchProcess.serve(json: json, directory: directory)
        #expect(outcome.status == 2, "\(json) was not refused", sourceLocation: sourceLocation)
        #expect(
            outcome.standardError.contains(directory.path + "/switch.json: " + message),
            "\(json): \(outcome.standardError)", sourceLocation: sourceLocation)
    }

    @Test("an unknown or misspelt key at any depth refuses the start, naming its path and the key it probably meant")
    func unknownKeysAreRefused() throws {
        try Self.expectRefusal(
            #"{"latencyBudgetMS": 100}"#, "latencyBudgetMS: unknown key (did you mean latencyBudgetMs?)")
        try Self.expectRefusal(#"{"shard": 2}"#, "shard: unknown key (did you mean shards?)")
        try Self.expectRefusal(
            #"{"limits": {"connectionMax": 5}}"#, "limits.connectionMax: unknown key (did you mean connectionsMax?)")
        try Self.expectRefusal(
            #"{"program": {"partialRedemptoin": true}}"#,
            "program.partialRedemptoin: unknown key (did you mean partialRedemption?)")
        try Self.expectRefusal(
            #"{"listeners": [{"address": "127.0.0.1:0", "dialekt": "iso87bcd"}]}"#,
            "listeners[0].dialekt: unknown key (did you mean dialect?)")
        try Self.expectRefusal(
            #"{"listeners": [{"address": "127.0.0.1:0", "tls": {"certificate": "s.pem", "privateKey": "k.pem", "cipher": "ALL"}}]}"#,
            "listeners[0].tls.cipher: unknown key")
        try Self.expectRefusal(
            #"{"rules": {"version": 1, "currency": 364, "earnings": {}}}"#,
            "rules.earnings: unknown key (did you mean earning?)")
    }

    @Test("a value of the wrong type or out of range at any depth refuses the start, naming its path")
    func wrongValuesAreRefused() throws {
        try Self.expectRefusal(#"{"limits": 5}"#, "limits: must be an object")
        try Self.expectRefusal(#"{"program": [1]}"#, "program: must be an object")
        try Self.expectRefusal(#"{"loops": 1.5}"#, "loops: must be an integer")
        try Self.expectRefusal(#"{"data": ""}"#, "data: must be a non-empty path")
        try Self.expectRefusal(#"{"limits": {"connectionsMax": 0}}"#, "limits.connectionsMax: must be 1...1000000")
        try Self.expectRefusal(
            #"{"limits": {"logSegmentBytes": 65535}}"#, "limits.logSegmentBytes: must be 65536...1073741824")
        try Self.expectRefusal(
            #"{"limits": {"checkpointCopyBytesMax": 4096}}"#,
            "limits.checkpointCopyBytesMax: must be 1048576...68719476736")
        try Self.expectRefusal(#"{"program": {"autoEnrol": "yes"}}"#, "program.autoEnrol: must be true or false")
        try Self.expectRefusal(
            #"{"listeners": [{"address": "127.0.0.1:0", "frameBytesMax": 10}]}"#,
            "listeners[0].frameBytesMax: must be 64...65535")
        try Self.expectRefusal(#"{"listeners": [{"address": "127.0.0.1:0"}, 5]}"#, "listeners[1]: must be an object")
        try Self.expectRefusal(#"{"history": {"retentionDays": 0}}"#, "history.retentionDays: must be 1...36500")
        try Self.expectRefusal(#"{"history": {"retentionDay": 5}}"#, "history.retentionDay: unknown key")
        try Self.expectRefusal(#"{"standby": {}}"#, "standby.directory: the standby's data directory is required")
        try Self.expectRefusal(
            #"{"standby": {"directory": "/s", "logRecordsHeldMax": 0}}"#,
            "standby.logRecordsHeldMax: must be 1...1000000000")
        try Self.expectRefusal(#"{"standby": {"directory": "/s", "dir": 1}}"#, "standby.dir: unknown key")
    }

    /// A dialect that declares ISO 8583:1993 but keeps a 2-character field 39, so only its version is wrong.
    static let declared1993Spec = """
        {"name": "host93", "version": 1993, "fields": {
          "2": {"type": "n", "length": "LL", "max": 19}, "3": {"type": "n", "max": 6},
          "4": {"type": "n", "max": 12}, "7": {"type": "n", "max": 10}, "11": {"type": "n", "max": 6},
          "39": {"type": "an", "max": 2}, "41": {"type": "ans", "max": 8}}}
        """

    @Test("a listener refuses a 1993 dialect (built in or a spec file declaring it), saying the switch serves 1987")
    func listenerRefuses1993Dialects() throws {
        let reason = "the switch serves ISO 8583:1987 messages (wire contract v1)"
        try Self.expectRefusal(
            #"{"listeners": [{"address": "127.0.0.1:0", "dialect": "iso93ascii"}]}"#,
            "listeners[0].dialect: iso93ascii is ISO 8583:1993; \(reason)")
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let specPath = directory.path + "/host93.json"
        try Data(Self.declared1993Spec.utf8).write(to: URL(fileURLWithPath: specPath))
        try Self.expectRefusal(
            #"{"listeners": [{"address": "127.0.0.1:0", "dialect": "\#(specPath)"}]}"#,
            "listeners[0].dialect: host93 is ISO 8583:1993; \(reason)")
        // A 1987 dialect whose field 39 is 3 digits (a 1993 field table in a jPOS file, which has no version)
        // could not carry the contract's 2-character response codes either.
        let threeDigitPath = directory.path + "/host39.json"
        let threeDigit = Self.declared1993Spec.replacingOccurrences(
            of: #""host93", "version": 1993,"#, with: #""host39","#
        )
        .replacingOccurrences(of: #""39": {"type": "an", "max": 2}"#, with: #""39": {"type": "n", "max": 3}"#)
        try Data(threeDigit.utf8).write(to: URL(fileURLWithPath: threeDigitPath))
        try Self.expectRefusal(
            #"{"listeners": [{"address": "127.0.0.1:0", "dialect": "\#(threeDigitPath)"}]}"#,
            "listeners[0].dialect: host39 defines field 39 as n3; the switch answers with 2-character response codes")
    }

    @Test("a listener refuses a dialect whose field 39 cannot hold the response codes (x+n2; strict a2), naming it")
    func listenerRefusesFieldThirtyNineWithoutCodes() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let cases = [
            ("signed39", "", #"{"type": "x+n", "max": 2}"#, "x+n2"),
            (
                "alpha39", #""strictCharacterClasses": true,"#, #"{"type": "a", "max": 2}"#,
                "a2 with strict character classes"
            ),
        ]
        for (name, flags, field39, format) in cases {
            let path = directory.path + "/\(name).json"
            let spec = Self.declared1993Spec.replacingOccurrences(
                of: #""host93", "version": 1993,"#, with: #""\#(name)", \#(flags)"#
            )
            .replacingOccurrences(of: #""39": {"type": "an", "max": 2}"#, with: #""39": \#(field39)"#)
            try Data(spec.utf8).write(to: URL(fileURLWithPath: path))
            try Self.expectRefusal(
                #"{"listeners": [{"address": "127.0.0.1:0", "dialect": "\#(path)"}]}"#,
                "listeners[0].dialect: \(name) defines field 39 as \(format), which cannot hold response code 00")
        }
        // Without strict classes `a` is checked as printable text, as jPOS does: "00" fits and the dialect loads.
        let lenientPath = directory.path + "/lenient39.json"
        let lenient = Self.declared1993Spec.replacingOccurrences(
            of: #""host93", "version": 1993,"#, with: #""lenient39","#
        )
        .replacingOccurrences(of: #""39": {"type": "an", "max": 2}"#, with: #""39": {"type": "a", "max": 2}"#)
        try Data(lenient.utf8).write(to: URL(fileURLWithPath: lenientPath))
        _ = try Self.load(#"{"listeners": [{"address": "127.0.0.1:0", "dialect": "\#(lenientPath)"}]}"#)
        // Every built-in 1987 dialect passes the same check.
        for name in BuiltinDialects.names where BuiltinDialects.dialect(named: name)?.version == .iso1987 {
            _ = try Self.load(#"{"listeners": [{"address": "127.0.0.1:0", "dialect": "\#(name)"}]}"#)
        }
        #expect(BuiltinDialects.names.filter { BuiltinDialects.dialect(named: $0)?.version == .iso1987 }.count >= 3)
    }

    @Test("a SIGHUP reload of a file with a misspelt key is logged with the key's path and changes nothing")
    func reloadWithMisspeltKeyChangesNothing() throws {
        var settings = SwitchSettings()
        settings.rules = LoyaltyRulesTests.rules(version: 1, merchantPoints: 5)
        try withSwitch(settings) { server in
            let client = try SwitchClient(port: server.port)
            var terminal = Terminal()
            let card = Wire.card(91)
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 500)
            var misspelt = settings
            misspelt.rules = LoyaltyRulesTests.rules(version: 2, merchantPoints: 9)
            misspelt.limits = ["connectionMax": 5]
            try server.rewriteConfiguration(misspelt)
            kill(server.process.pid, SIGHUP)
            #expect(server.waitForLog("limits.connectionMax: unknown key (did you mean connectionsMax?)"))
            #expect(try client.exchange(terminal.purchase(card, 10_000)).amounts["90/999"] == 500)
            #expect(!server.log.contains("rules version 2 in force"))
        }
    }
}
