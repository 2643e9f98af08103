import Foundation

/// A JSON object (from `JSONSerialization`) together with the key path that leads to it, so that every read that
/// fails can name exactly where in the operator's file the problem is.
///
/// It checks shape only (types, whole numbers, unknown keys); ranges and cross-references are checked once, for
/// JSON and code alike, by `ProgramConfiguration.validate()`.
struct JSONObjectReader {
    let object: [String: Any]
    let path: String

    func fail(_ key: String, _ problem: String) -> ProgramConfigurationError {
        ProgramConfigurationError(keyPath: KeyPath.join(path, key), problem: problem)
    }

    /// Unknown keys are errors rather than ignored, so a misspelt rule ("byMerchnat") cannot silently do nothing;
    /// the error names the key probably meant.
    func rejectUnknownKeys(_ allowed: Set<String>) throws(ProgramConfigurationError) {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail(unknown, UnknownKey.problem(unknown, allowed: allowed))
        }
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    func integer(_ key: String) throws(ProgramConfigurationError) -> Int64 {
        guard let value = object[key] else { throw fail(key, "is missing") }
        return try Self.integer(value, orThrow: fail(key, "must be a whole number"))
    }

    func integer(_ key: String, default fallback: Int64) throws(ProgramConfigurationError) -> Int64 {
        has(key) ? try integer(key) : fallback
    }

    /// A whole number narrowed to `Value`; a number that does not fit is reported here, as it cannot be carried on.
    func integer<Value: FixedWidthInteger>(_ key: String, as type: Value.Type) throws(ProgramConfigurationError)
        -> Value
    {
        guard let value = Value(exactly: try integer(key)) else { throw fail(key, "must be 0...\(Value.max)") }
        return value
    }

    /// `true` or `false` only (JSON numbers are refused); `fallback` when the key is absent.
    func boolean(_ key: String, default fallback: Bool) throws(ProgramConfigurationError) -> Bool {
        guard let value = object[key] else { return fallback }
        guard let number = value as? NSNumber, String(cString: number.objCType) == "c" else {
            throw fail(key, "must be true or false")
        }
        return number.boolValue
    }

    func string(_ key: String) throws(ProgramConfigurationError) -> String {
        guard let value = object[key] else { throw fail(key, "is missing") }
        guard let text = value as? String else { throw fail(key, "must be a string") }
        return text
    }

    func identifier(_ key: String) throws(ProgramConfigurationError) -> ShortIdentifier {
        try Self.identifier(try string(key), orThrow: fail(key, "must be 1...16 printable ASCII characters"))
    }

    func child(_ key: String) throws(ProgramConfigurationError) -> JSONObjectReader? {
        guard let value = object[key] else { return nil }
        guard let child = value as? [String: Any] else { throw fail(key, "must be an object") }
        return JSONObjectReader(object: child, path: KeyPath.join(path, key))
    }

    func array(_ key: String) throws(ProgramConfigurationError) -> [Any] {
        guard let value = object[key] else { return [] }
        guard let elements = value as? [Any] else { throw fail(key, "must be an array") }
        return elements
    }

    /// The objects of array `key`, each with its own `key[index]` path.
    func objects(_ key: String) throws(ProgramConfigurationError) -> [JSONObjectReader] {
        var readers: [JSONObjectReader] = []
        for (index, element) in try array(key).enumerated() {
            let elementPath = KeyPath.join(KeyPath.join(path, key), index: index)
            guard let object = element as? [String: Any] else {
                throw ProgramConfigurationError(keyPath: elementPath, problem: "must be an object")
            }
            readers.append(JSONObjectReader(object: object, path: elementPath))
        }
        return readers
    }

    /// The members of object `key` in key order, so that reading (and any error) does not depend on hash order.
    func members(_ key: String) throws(ProgramConfigurationError) -> [(key: String, value: Any)] {
        guard let child = try child(key) else { return [] }
        return child.object.sorted { $0.key < $1.key }
    }

    /// `JSONSerialization` gives `NSNumber`s; booleans are `NSNumber`s too (type code "c") and are refused, as are
    /// fractions, so `true` or `1.5` never passes for a count of points.
    static func integer(_ value: Any, orThrow error: ProgramConfigurationError) throws(ProgramConfigurationError)
        -> Int64
    {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { throw error }
        guard number.doubleValue.rounded() == number.doubleValue, let integer = number as? Int64 else { throw error }
        return integer
    }

    static func identifier(_ value: Any, orThrow error: ProgramConfigurationError) throws(ProgramConfigurationError)
        -> ShortIdentifier
    {
        guard let text = value as? String, let identifier = ShortIdentifier(text) else { throw error }
        return identifier
    }
}
