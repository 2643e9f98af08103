import Testing

@testable import Ledger

/// Command options: one meaning per bit in memory, the logged form unchanged for records already on disk.
@Suite struct CommandOptionsTests {
    @Test("undo and bonus are distinct in memory and share logged bit 8 by kind; hasMerchant is not logged")
    func loggedForm() throws {
        #expect(!CommandOptions.undo.contains(.bonus) && !CommandOptions.bonus.contains(.undo))
        #expect(CommandOptions([.bonus, .hasLotTerms]).logged == 8 | 128)
        #expect(CommandOptions([.undo]).logged == 8)
        #expect(CommandOptions([.hasMerchant, .spending]).logged == 512)
        #expect(try #require(CommandOptions(logged: 8, kind: .transferIn)) == [.bonus])
        #expect(try #require(CommandOptions(logged: 8, kind: .reverse)) == [.undo])
        let every = CommandOptions(rawValue: CommandOptions.loggedMask)
        #expect(try #require(CommandOptions(logged: every.logged, kind: .earn)) == every)
    }

    @Test("a record with a bit no writer writes is refused")
    func unknownBitsRefused() {
        #expect(CommandOptions(logged: 1024, kind: .hold) == nil, "hasMerchant is never logged")
        #expect(CommandOptions(logged: 4096, kind: .transferIn) == nil)
        #expect(CommandOptions(logged: 0x8000, kind: .earn) == nil)
    }
}
