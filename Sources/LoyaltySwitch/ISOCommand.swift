import Foundation
import ISO8583
import LoadGenerator

/// `loyalty-switch iso decode|encode|dialects`: the codec from the command line, for operators and tests.
enum ISOCommand {
    static let usage = """
        usage: loyalty-switch iso decode [--spec NAME|FILE] [--framed | --framing binary2|bcd2|ascii4] [--tpdu]
                                         [--raw] [--unmasked] HEX|-
               loyalty-switch iso encode [--spec NAME|FILE] [--framed | --framing binary2|bcd2|ascii4]
                                         [--tpdu HEX] JSON|-
               loyalty-switch iso dialects

        decode  prints the message as JSON: {"mti": "0200", "fields": {"2": "...", ...}}; binary fields as hex.
                Card data (fields 2, 34, 35, 36, 45) is masked to the first 6 and last 4 digits unless --unmasked.
                HEX may contain spaces; '-' reads standard input (hex text, or raw bytes with --raw).
                --framed: the input starts with a length header (binary2 unless --framing says otherwise) and
                may hold several frames, printed one JSON object per line. --tpdu: frames carry a 5-byte TPDU.
        encode  reads the same JSON and prints the message as hex (with its frame header when --framed).
        dialects  lists the built-in dialects.
        --spec  a built-in dialect name (default iso87ascii) or a JSON or jPOS GenericPackager XML file.
        Errors go to standard error naming the field and byte offset; the exit status is then 1 (2 for usage).
        """

    static func run(_ arguments: [String]) -> Int32 {
        guard let subcommand = arguments.first, subcommand != "--help", subcommand != "-h" else {
            print(usage)
            return arguments.isEmpty ? 2 : 0
        }
        let rest = Array(arguments.dropFirst())
        if rest.contains("--help") || rest.contains("-h") {
            print(usage)
            return 0
        }
        do throws(UsageError) {
            switch subcommand {
            case "decode": return try decode(rest)
            case "encode": return try encode(rest)
            case "dialects":
                for name in BuiltinDialects.names {
                    print("\(name)\t\(BuiltinDialects.dialect(named: name)?.summary ?? "")")
                }
                return 0
            default: throw UsageError(message: "unknown iso command '\(subcommand)'")
            }
        } catch {
            printError("error: \(error.message)")
            printError(usage)
            return 2
        }
    }

    static func decode(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(
            arguments, valued: ["spec", "framing"], flags: ["framed", "tpdu", "raw", "unmasked"])
        guard options.positionals.count == 1 else { throw UsageError(message: "decode takes one HEX argument or -") }
        guard let dialect = loadDialect(options.values["spec"]) else { return 1 }
        let input: [UInt8]
        if options.positionals[0] == "-" && options.has("raw") {
            input = readStandardInput()
        } else {
            let text = options.positionals[0] == "-" ? readStandardInput() : Array(options.positionals[0].utf8)
            switch parseHex(text) {
            case .success(let bytes): input = bytes
            case .failure(let problem):
                printError("error: input: \(problem.message)")
                return 1
            }
        }
        let framing = try framingOption(options)
        let unmasked = options.has("unmasked")
        guard let framing else { return decodeOne(dialect, input, 0..<input.count, tpdu: nil, unmasked: unmasked) }
        var decoder = FrameDecoder(framing: framing)
        decoder.append(input)
        var status: Int32 = 0
        do {
            while let frame = try decoder.next() {
                let tpdu = frame.tpdu.map { Array(decoder.buffer[$0]) }
                status = max(status, decodeOne(dialect, decoder.buffer, frame.message, tpdu: tpdu, unmasked: unmasked))
            }
        } catch {
            printError("error: framing: \(error)")
            return 1
        }
        if decoder.pendingByteCount > 0 {
            printError("error: framing: \(decoder.pendingByteCount) bytes at the end do not form a whole frame")
            return 1
        }
        return status
    }

    static func decodeOne(_ dialect: Dialect, _ bytes: [UInt8], _ range: Range<Int>, tpdu: [UInt8]?, unmasked: Bool)
        -> Int32
    {
        do {
            let message = try dialect.decode(bytes, range: range)
            print(json(message, tpdu: tpdu, unmasked: unmasked))
            return 0
        } catch {
            printError("error: \(error.fieldLabel) at offset \(error.offset): \(error.reasonText)")
            return 1
        }
    }

    static func json(_ message: ISOMessage, tpdu: [UInt8]?, unmasked: Bool) -> String {
        var parts: [String] = []
        if let tpdu { parts.append("\"tpdu\": \(ReportFormat.jsonString(hexString(tpdu)))") }
        if message.dialect.headerLength > 0 {
            parts.append("\"header\": \(ReportFormat.jsonString(hexString(message.header)))")
        }
        parts.append("\"mti\": \(ReportFormat.jsonString(message.mti?.description ?? ""))")
        let fields = message.fieldNumbers.map { field -> String in
            let value = unmasked ? message.string(field) : CardNumberMask.displayValue(message, field: field)
            return "\(ReportFormat.jsonString(String(field))): \(ReportFormat.jsonString(value ?? ""))"
        }
        parts.append("\"fields\": {" + fields.joined(separator: ", ") + "}")
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
