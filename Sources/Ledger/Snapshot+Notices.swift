/// The notice section of a snapshot, after the engagement section: a section header with count 0. Its presence
/// says the lot records' `isNoticed` bytes were written by a build that sets them; a snapshot without it (written
/// before notices existed) has undefined padding there, so its lots load as not told.
extension Snapshot {
    static func noticeSection() -> [UInt8] {
        let section = sectionHeader(count: 0)
        precondition(section.count == settlementSectionHeaderBytes, "the notice section is an empty section header")
        return section
    }

    /// Checks the section at `offset`, which must end exactly at the end of `bytes`; returns whether it is there.
    static func loadNotices(from bytes: UnsafeRawBufferPointer, offset: Int, path: String) throws(LedgerError) -> Bool {
        guard offset < bytes.count else { return false }
        let count = try sectionCount(bytes, offset: offset, path: path, section: "notice").count
        guard count == 0, offset + settlementSectionHeaderBytes == bytes.count else {
            throw .damagedSnapshot(file: path, reason: "length does not match the notice section")
        }
        precondition(offset >= headerBytes, "the notice section follows the tables")
        return true
    }

    /// Lots of a snapshot written before notices existed: none was told.
    static func clearNoticeMarks(_ lots: LotTable) {
        for index in 0..<lots.records.count where lots.records[index].isActive {
            lots.records[index].isNoticed = false
        }
    }
}
