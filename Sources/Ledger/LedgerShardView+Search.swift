extension LedgerShardView {
    /// The member at `index` as the member search keeps it (its figures as the rules last decided them).
    public func searchRow(_ index: Int) -> MemberSearchRow {
        let member = self.member(index)
        var row = MemberSearchRow(id: member.id, firstCard: member.firstCard)
        if let decisions { row.take(decisions.summary(of: self.memberRecord(index).loyalty)) }
        return row
    }
}
