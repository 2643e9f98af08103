import Foundation
import HTTP
import Ledger

/// Where one member import stands, as `GET /v1/imports/{id}` shows it and `DATA/imports/ID.json` keeps it.
/// Counts are exact; the error list keeps the first `errorsMax` problems (`errorsOmitted` counts the rest).
struct MemberImportStatus: Sendable, Equatable {
    enum State: String, Sendable {
        case running
        /// Every row was read and answered (each imported, skipped or rejected).
        case done
        /// The import stopped early: a header that is not the contract's, an unreadable file, a stopped ledger or
        /// audit journal (`failure` says which).
        case failed
        /// The switch stopped (or was killed) while it ran. Running the same file again finishes it: rows already
        /// imported are skipped and no opening balance is recorded twice.
        case interrupted
    }

    /// Problems kept in the list; the rest are only counted.
    static let errorsMax = 1000

    var id: String
    var state = State.running
    /// Data rows read (the header and blank lines are not rows).
    var rowsRead = 0
    /// Rows that changed the ledger: a member enrolled, or an opening balance not recorded before.
    var rowsImported = 0
    /// Rows with nothing left to do: the card was enrolled already and its opening balances are recorded.
    var rowsSkipped = 0
    var rowsRejected = 0
    var errors: [MemberImportRow.Problem] = []
    var errorsOmitted = 0
    var failure: String?
    var startedMs: Int64 = 0
    var finishedMs: Int64?

    init(id: String, startedMs: Int64) {
        self.id = id
        self.startedMs = startedMs
    }

    mutating func reject(_ problem: MemberImportRow.Problem) {
        rowsRejected += 1
        if errors.count < Self.errorsMax { errors.append(problem) } else { errorsOmitted += 1 }
        precondition(errors.count <= Self.errorsMax && rowsRejected <= rowsRead, "a rejected row is a row read")
        precondition(state == .running, "rows are rejected while the import runs")
    }

    /// A problem that is not a row's (the header, the file, the ledger): listed, not counted as a rejected row.
    mutating func fail(_ reason: String, nowMs: Int64, row: Int = 0) {
        state = .failed
        failure = reason
        finishedMs = nowMs
        if errors.count < Self.errorsMax {
            errors.append(MemberImportRow.Problem(row: row, column: row == 1 ? "header" : "file", reason: reason))
        } else {
            errorsOmitted += 1
        }
        precondition(state == .failed && errors.count <= Self.errorsMax, "a failure is listed within the limit")
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("id", id)
        json.member("state", state.rawValue)
        json.member("rowsRead", Int64(rowsRead))
        json.member("rowsImported", Int64(rowsImported))
        json.member("rowsSkipped", Int64(rowsSkipped))
        json.member("rowsRejected", Int64(rowsRejected))
        json.key("errors")
        json.beginArray()
        for error in errors {
            json.beginObject()
            json.member("row", Int64(error.row))
            json.member("column", error.column)
            json.member("reason", error.reason)
            json.endObject()
        }
        json.endArray()
        json.member("errorsOmitted", Int64(errorsOmitted))
        if let failure { json.member("failure", failure) }
        json.member("startedAt", UTCTimeText.rfc3339(startedMs))
        if let finishedMs { json.member("finishedAt", UTCTimeText.rfc3339(finishedMs)) }
        json.endObject()
    }

    var jsonBytes: [UInt8] {
        var json = JSONWriter()
        write(to: &json)
        return json.bytes
    }

    /// A status read back from its file; nil when the file is not one (it is then reported as unreadable).
    init?(json bytes: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let id = object["id"] as? String, let stateName = object["state"] as? String,
            let state = State(rawValue: stateName)
        else { return nil }
        self.id = id
        self.state = state
        rowsRead = object["rowsRead"] as? Int ?? 0
        rowsImported = object["rowsImported"] as? Int ?? 0
        rowsSkipped = object["rowsSkipped"] as? Int ?? 0
        rowsRejected = object["rowsRejected"] as? Int ?? 0
        errorsOmitted = object["errorsOmitted"] as? Int ?? 0
        failure = object["failure"] as? String
        for case let error as [String: Any] in object["errors"] as? [Any] ?? [] {
            errors.append(
                MemberImportRow.Problem(
                    row: error["row"] as? Int ?? 0, column: error["column"] as? String ?? "",
                    reason: error["reason"] as? String ?? ""))
        }
        startedMs = UTCTimeText.milliseconds(object["startedAt"] as? String) ?? 0
        finishedMs = UTCTimeText.milliseconds(object["finishedAt"] as? String)
    }

    /// The one line the command line prints as it goes (and last, with the outcome).
    var progressLine: String {
        var line = "\(id): \(state.rawValue), \(rowsRead) rows read, \(rowsImported) imported, "
            + "\(rowsSkipped) skipped, \(rowsRejected) rejected"
        if let failure { line += " (\(failure))" }
        return line
    }
}

/// RFC 3339 times of an import's status (not on any request path).
enum UTCTimeText {
    static func rfc3339(_ milliseconds: Int64) -> String { UTCTime.rfc3339(milliseconds: milliseconds) }

    static func milliseconds(_ text: String?) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let text, let date = formatter.date(from: text) else { return nil }
        return Int64(date.timeIntervalSince1970 * 1000)
    }
}
