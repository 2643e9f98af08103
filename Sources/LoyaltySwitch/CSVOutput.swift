import Glibc
import Reports

/// Where a report command writes its CSV: standard output, or `--out FILE` (created or emptied), closed when done.
/// One copy of the opening and the writer's sink for the sales and segments commands.
final class CSVOutput {
    let descriptor: Int32
    private let ownsDescriptor: Bool

    /// Nil (the reason printed, prefixed with `label`) when FILE cannot be opened.
    init?(path: String?, label: String) {
        descriptor = path.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? 1
        ownsDescriptor = path != nil
        guard descriptor >= 0 else {
            printError("\(label): cannot open \(path ?? ""): \(String(cString: strerror(errno)))")
            return nil
        }
    }

    deinit { if ownsDescriptor { close(descriptor) } }

    /// A CSV writer whose chunks go to the output (a failed write stops the report, naming why). It holds the
    /// output, so the file stays open while the writer lives.
    func writer() -> CSVWriter {
        CSVWriter { [self] chunk throws(ReportError) in
            let failure = chunk.withUnsafeBytes { ReportCommand.writeAll($0, to: descriptor) }
            if let failure { throw .unreadable("cannot write the output: " + failure) }
        }
    }
}
