import AdminAccess
import Foundation
import HTTP
import Ledger
import Network

/// `loyalty-switch import members FILE --data DIR`: a member import with the switch stopped. It opens the ledger
/// and the access layer as `serve` does (recovery, then the audit repair), streams FILE through the same importer
/// as `POST /v1/imports/members` (same checks, same ledger keys, same audit entries, actor `cli`), and closes with
/// a snapshot. The ledger's lock (`DATA/ledger.lock`) makes it refuse while a switch serves DIR.
public enum OfflineMemberImport {
    /// How the run ended: the status's line, and whether every row was read (`done`).
    public struct Outcome: Sendable {
        public let line: String
        public let isDone: Bool
        public let rowsRejected: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs the import of `file`; `progress` gets a status line after each batch of rows.
    public static func run(
        configuration: SwitchConfiguration, file: String, log: LogSink, progress: @escaping (String) -> Void
    ) throws(Failure) -> Outcome {
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw Failure(description: "\(file): not a readable file")
        }
        let directory = configuration.dataDirectory
        let ledgerConfiguration = SwitchServer.ledgerConfiguration(configuration, log: log)
        let ledger: Ledger
        do {
            ledger = try Ledger.open(directory: directory, configuration: ledgerConfiguration)
        } catch .directoryInUse {
            throw Failure(
                description: "\(directory) is in use (a switch serves it: \(directory)/ledger.lock is held); stop "
                    + "it first, or send the file to the running switch with POST /v1/imports/members")
        } catch {
            throw Failure(description: "ledger in \(directory): \(error)")
        }
        defer { ledger.close() }
        let settings = configuration.admin?.access ?? AccessSettings()
        let access: AccessControl
        do {
            access = try AccessControl.open(dataDirectory: directory, settings: settings, clockMs: ledgerConfiguration.clockMs).0
        } catch {
            throw Failure(description: "audit journal in \(directory): \(error)")
        }
        defer { access.close() }
        let door = AdminLedger(ledger: ledger, access: access, nowMs: ledgerConfiguration.clockMs())
        do throws(HTTPProblem) {
            _ = try door.repair()
        } catch {
            throw Failure(description: "audit repair: \(error.detail)")
        }
        let imports = MemberImports(dataDirectory: directory, clockMs: ledgerConfiguration.clockMs)
        do {
            _ = try imports.recover()
        } catch {
            throw Failure(description: "member imports in \(imports.directory): \(error)")
        }
        let role = UInt8(AdminRole.allCases.firstIndex(of: .admin)!)
        precondition(Int(role) < AdminRole.allCases.count, "the command line acts as an admin")
        let importer = MemberImporter(
            door: door, actor: 0, role: role, id: MemberImports.newId(), clockMs: ledgerConfiguration.clockMs)
        let final = imports.run(importer, path: file) { progress($0.progressLine) }
        precondition(final.state != .running && final.rowsRejected >= 0, "an offline import has ended")
        return Outcome(line: final.progressLine, isDone: final.state == .done, rowsRejected: final.rowsRejected)
    }
}
