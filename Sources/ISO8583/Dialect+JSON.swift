import Foundation

/// A dialect file that cannot be used: names the file, the field (when there is one) and what is wrong.
public struct DialectError: Error, Sendable, CustomStringConvertible {
    public let source: String
    public let field: String?
    public let message: String

    public var description: String {
        if let field { return "\(source): field \(field): \(message)" }
        return "\(source): \(message)"
    }
}

/// Loading dialects from JSON spec files (the format of specs/*.json, documented in specs/README.md).
extension Dialect {
    /// Parses a JSON dialect. `source` names the file in error messages.
    public static func fromJSON(_ data: [UInt8], source: String) throws(DialectError) -> Dialect {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(data))
        } catch {
            throw DialectError(source: source, field: nil, message: "not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else {
            throw DialectError(source: source, field: nil, message: "top level must be an object")
        }
        return try fromJSONObject(root, source: source)
    }

    static func fromJSONObject(_ root: [String: Any], source: String) throws(DialectError) -> Dialect {
        func fail(_ message: String, field: String? = nil) -> DialectError {
            DialectError(source: source, field: field, message: message)
        }
        guard let name = root["name"] as? String, !name.isEmpty else { throw fail("\"name\" is missing") }
        let mti = try enumValue(MTIEncoding.self, root["mti"], default: .ascii, key: "mti", source: source, field: nil)
        let bitmap = try enumValue(
            BitmapEncoding.self, root["bitmap"], default: .binary, key: "bitmap", source: source, field: nil)
        let headerLength = root["headerLength"] as? Int ?? 0
        guard (0...64).contains(headerLength) else { throw fail("\"headerLength\" must be 0...64") }
        let tertiary = root["tertiaryBitmap"] as? Bool ?? false
        let strict = try flag(root["strictCharacterClasses"], key: "strictCharacterClasses", source: source)
        let version = try isoVersion(root["version"], source: source)
        let defaults = root["defaults"] as? [String: Any] ?? [:]
        guard let fieldObjects = root["fields"] as? [String: Any] else { throw fail("\"fields\" is missing") }
        var fields: [FieldFormat] = []
        let highest = tertiary ? Dialect.fieldNumberMax : 128
        for (key, value) in fieldObjects.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
            guard let number = Int(key), (2...highest).contains(number) else {
                throw fail("field numbers must be 2...\(highest)", field: key)
            }
            if tertiary && number == 65 { throw fail("65 is the tertiary bitmap in this dialect", field: key) }
            guard let object = value as? [String: Any] else { throw fail("must be an object", field: key) }
            fields.append(try fieldFormat(number, object, defaults: defaults, source: source))
        }
        return Dialect(
            name: name, summary: root["summary"] as? String ?? "", version: version, mtiEncoding: mti,
            bitmapEncoding: bitmap, headerLength: headerLength, hasTertiaryBitmap: tertiary,
            strictCharacterClasses: strict, fields: fields)
    }

    /// An optional true/false setting; absent is false. Anything else is refused rather than guessed at.
    static func flag(_ raw: Any?, key: String, source: String) throws(DialectError) -> Bool {
        guard let raw else { return false }
        // JSONSerialization gives numbers and booleans alike as NSNumber: only a real boolean (type "c") will do.
        guard let number = raw as? NSNumber, String(cString: number.objCType) == "c" else {
            throw DialectError(source: source, field: nil, message: "\"\(key)\" must be true or false")
        }
        return number.boolValue
    }

    /// `"version": 1993`; absent means 1987, the edition of wire contract v1 and of most POS specs.
    static func isoVersion(_ raw: Any?, source: String) throws(DialectError) -> ISOVersion {
        guard let raw else { return .iso1987 }
        guard let year = raw as? Int, let version = ISOVersion(rawValue: year) else {
            let allowed = ISOVersion.allCases.map { String($0.rawValue) }.joined(separator: ", ")
            throw DialectError(source: source, field: nil, message: "\"version\" must be one of \(allowed)")
        }
        return version
    }

    static func fieldFormat(
        _ number: Int, _ object: [String: Any], defaults: [String: Any], source: String
    ) throws(DialectError) -> FieldFormat {
        let key = String(number)
        func fail(_ message: String) -> DialectError { DialectError(source: source, field: key, message: message) }
        guard let typeName = object["type"] as? String, let type = FieldType(rawValue: typeName) else {
            throw fail("\"type\" must be one of \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let lengthName = object["length"] as? String ?? "fixed"
        guard let lengthType = LengthType.named(lengthName) else {
            throw fail("\"length\" must be fixed, LL, LLL or LLLL")
        }
        guard let maxLength = object["max"] as? Int, maxLength > 0, maxLength <= lengthType.prefixMaximum,
            maxLength <= 9999
        else {
            throw fail("\"max\" must be 1...\(min(lengthType.prefixMaximum, 9999))")
        }
        let defaultEncoding: DataEncoding = type == .binary ? .binary : .ascii
        let encoding = try enumValue(
            DataEncoding.self, object["encoding"] ?? (type == .binary ? nil : defaults["encoding"]),
            default: defaultEncoding, key: "encoding", source: source, field: key)
        let prefixEncoding = try enumValue(
            PrefixEncoding.self, object["prefixEncoding"] ?? defaults["prefixEncoding"], default: .ascii,
            key: "prefixEncoding", source: source, field: key)
        if let problem = incompatibility(type: type, encoding: encoding) { throw fail(problem) }
        let padding = try paddingValue(object["padding"], source: source, field: key)
        return FieldFormat(
            number: number, name: object["name"] as? String ?? "", type: type, lengthType: lengthType,
            maxLength: maxLength, encoding: encoding, prefixEncoding: prefixEncoding, padding: padding)
    }

    /// Combinations the codec cannot represent faithfully.
    static func incompatibility(type: FieldType, encoding: DataEncoding) -> String? {
        switch (type, encoding) {
        case (.binary, .binary), (.binary, .hex): return nil
        case (.binary, _): return "type b needs encoding binary or hex"
        case (_, .binary), (_, .hex): return "encoding \(encoding.rawValue) is only for type b"
        case (.numeric, .bcd), (.track, .bcd), (.signedAmount, .bcd): return nil
        case (_, .bcd): return "encoding bcd is only for types n, z and x+n"
        default: return nil
        }
    }

    static func enumValue<Value: RawRepresentable & CaseIterable>(
        _ type: Value.Type, _ raw: Any?, default fallback: Value, key: String, source: String, field: String?
    ) throws(DialectError) -> Value where Value.RawValue == String {
        guard let raw else { return fallback }
        guard let text = raw as? String, let value = Value(rawValue: text) else {
            let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw DialectError(source: source, field: field, message: "\"\(key)\" must be one of \(allowed)")
        }
        return value
    }

    /// "none", "left-zero", "right-space", or for BCD "left-nibble-0", "left-nibble-F", "right-nibble-0",
    /// "right-nibble-F"; absent means the type's default.
    static func paddingValue(_ raw: Any?, source: String, field: String) throws(DialectError) -> Padding?? {
        guard let raw else { return nil }
        let table: [String: Padding?] = [
            "none": nil, "left-zero": .leftZero, "right-space": .rightSpace,
            "left-space": Padding(side: .left, value: 0x20), "right-zero": Padding(side: .right, value: 0x30),
            "left-nibble-0": .leftZeroNibble, "left-nibble-F": .leftFNibble,
            "right-nibble-0": .rightZeroNibble, "right-nibble-F": .rightFNibble,
        ]
        guard let text = raw as? String, let padding = table[text] else {
            let allowed = table.keys.sorted().joined(separator: ", ")
            throw DialectError(source: source, field: field, message: "\"padding\" must be one of \(allowed)")
        }
        return .some(padding)
    }
}

extension LengthType {
    static func named(_ name: String) -> LengthType? {
        switch name {
        case "fixed": return .fixed
        case "LL": return .LL
        case "LLL": return .LLL
        case "LLLL": return .LLLL
        default: return nil
        }
    }
}
