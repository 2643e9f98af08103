import Ledger

/// The `segments` report (`GET /v1/reports/segments.csv`, `loyalty-switch report segments`): one row per member
/// with a purchase in the window: its RFM figures and scores, segment, VIP flag, tier and masked first card.
/// Memory: one `Segments.Activity` map entry per member active in the window (bounded by `membersMax`), then
/// the sorted rows.
public enum SegmentsReport {
    public static let columns = [
        "member_id", "card", "tier", "recency_days", "frequency", "monetary_minor", "r", "f", "m", "score", "segment",
        "vip",
    ]

    /// Writes the header and the rows; `member` gives a member's tier and first card (nil: unknown, empty cells).
    public static func write(
        _ query: SegmentsQuery, source: any MemberActivitySource, membersMax: Int,
        member: (CardHash) -> (tier: UInt8, card: MaskedCard)?, context: ReportContext, to csv: inout CSVWriter
    ) throws(ReportError) {
        let activity = try Segments.activity(source, fromMs: query.fromMs, toMs: query.toMs, membersMax: membersMax)
        let scores = Segments.score(activity, toMs: query.toMs, vip: query.vip)
        try csv.row(columns)
        for score in scores {
            let known = member(score.member)
            try csv.row([
                context.memberId(score.member), known.map { $0.card.description } ?? "",
                known.map { String($0.tier) } ?? "", String(score.recencyDays), String(score.activity.frequency),
                String(score.activity.monetaryMinor), String(score.recency), String(score.frequency),
                String(score.monetary), "\(score.recency)\(score.frequency)\(score.monetary)", score.segment.rawValue,
                score.vip ? "true" : "false",
            ])
        }
        try csv.flush()
    }
}
