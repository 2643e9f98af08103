import Foundation
import ISO8583

extension ISOCommand {
    static func encode(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["spec", "framing", "tpdu"], flags: ["framed"])
        guard options.positionals.count == 1 else { throw UsageError(message: "encode takes one JSON argument or -") }
        guard let dialect = loadDialect(options.values["spec"]) else { return 1 }
        let text = options.positionals[0] == "-" ? readStandardInput() : Array(options.positionals[0].utf8)
        let framing = try framingOption(options)
        var tpdu: [UInt8]?
        if let tpduText = options.values["tpdu"] {
            guard case .success(let bytes) = parseHex(Array(tpduText.utf8)), bytes.count == Framing.tpduByteCount else {
                throw UsageError(message: "--tpdu must be 5 bytes of hex")
            }
            tpdu = bytes
        }
        let message: ISOMessage
        switch buildMessage(dialect, json: text) {
        case .success(let built): message = built
        case .failure(let problem):
            printError("error: \(problem.message)")
            return 1
        }
        do {
            let bytes = try message.encoded()
            guard var framing else {
                print(hexString(bytes))
                return 0
            }
            framing.hasTPDU = framing.hasTPDU || tpdu != nil
            var framed = [UInt8]()
            // The TPDU given is written as is: appendFrame swaps for responses, so pre-swap it here.
            let given = tpdu.map { [$0[0], $0[3], $0[4], $0[1], $0[2]] }
            framing.appendFrame(message: bytes, requestTPDU: given, to: &framed)
            print(hexString(framed))
            return 0
        } catch {
            printError("error: \(error.fieldLabel): \(error.reasonText)")
            return 1
        }
    }

    /// Builds a message from `{"mti": "0200", "fields": {"2": "...", "4": 1000}}`.
    static func buildMessage(_ dialect: Dialect, json text: [UInt8]) -> Result<ISOMessage, UsageError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text)) as? [String: Any] else {
            return .failure(UsageError(message: "input is not a JSON object"))
        }
        guard let mtiText = object["mti"] as? String, let mti = MTI(mtiText) else {
            return .failure(UsageError(message: "\"mti\" must be four digits"))
        }
        var message = ISOMessage(dialect: dialect, mti: mti)
        if let headerText = object["header"] as? String, case .success(let header) = parseHex(Array(headerText.utf8)) {
            message.header = header
        }
        let fields = object["fields"] as? [String: Any] ?? [:]
        for key in fields.keys.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            guard let number = Int(key) else {
                return .failure(UsageError(message: "field key \"\(key)\" is not a number"))
            }
            do {
                switch fields[key] {
                case let text as String: try message.set(number, text)
                case let value as Int: try message.set(number, integer: Int64(value))
                default: return .failure(UsageError(message: "field \(key): value must be a string or an integer"))
                }
            } catch {
                return .failure(
                    UsageError(message: "\(error.fieldLabel): \(error.reasonText) (value offset \(error.offset))"))
            }
        }
        return .success(message)
    }
}
