/// Typed reads of one JSON object of a request body, each naming the field's JSON path when it fails, as the
/// operations contract asks: a field of the wrong type, a missing required field or an unknown field is 400
/// (the request is malformed); a well-typed value that breaks a rule (out of range, too long) is 422.
/// `finish()` refuses keys nothing read and repeated keys, so a misspelt field is never silently ignored.
public struct JSONFields {
    public let value: JSONValue
    /// Where the object is (`$`, `$.profile`).
    public let path: String
    private let members: [(key: String, value: JSONValue)]
    private var keysRead: Set<String> = []

    public init(_ value: JSONValue, path: String = "$") throws(HTTPProblem) {
        guard let members = value.members else { throw HTTPProblem(.badRequest, detail: "\(path): must be an object") }
        self.value = value
        self.path = path
        self.members = members
    }

    func fieldPath(_ key: String) -> String { path + JSONPath.member(key) }

    /// The value of `key`, which from now on counts as known; nil when absent. `null` counts as absent.
    public mutating func raw(_ key: String) -> JSONValue? {
        keysRead.insert(key)
        guard let found = members.first(where: { $0.key == key })?.value, !found.isNull else { return nil }
        return found
    }

    public mutating func string(_ key: String, lengthMax: Int) throws(HTTPProblem) -> String? {
        precondition(lengthMax >= 0, "a length limit is not negative")
        guard let found = raw(key) else { return nil }
        guard let text = found.string else {
            throw HTTPProblem(.badRequest, detail: "\(fieldPath(key)): must be a string")
        }
        guard text.count <= lengthMax else {
            throw HTTPProblem(
                .unprocessableContent, detail: "\(fieldPath(key)): must be at most \(lengthMax) characters")
        }
        return text
    }

    public mutating func integer(_ key: String, range: ClosedRange<Int64>) throws(HTTPProblem) -> Int64? {
        guard let found = raw(key) else { return nil }
        guard found.isNumber else { throw HTTPProblem(.badRequest, detail: "\(fieldPath(key)): must be an integer") }
        guard let number = found.integer else {
            let whole = found.isWholeNumber
            let problem = whole ? "must be \(range.lowerBound)...\(range.upperBound)" : "must be an integer"
            throw HTTPProblem(whole ? .unprocessableContent : .badRequest, detail: "\(fieldPath(key)): \(problem)")
        }
        guard range.contains(number) else {
            throw HTTPProblem(
                .unprocessableContent, detail: "\(fieldPath(key)): must be \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    public mutating func boolean(_ key: String) throws(HTTPProblem) -> Bool? {
        guard let found = raw(key) else { return nil }
        guard let flag = found.boolean else {
            throw HTTPProblem(.badRequest, detail: "\(fieldPath(key)): must be true or false")
        }
        return flag
    }

    /// A nested object, read by its own `JSONFields` (whose `finish()` its caller runs).
    public mutating func object(_ key: String) throws(HTTPProblem) -> JSONFields? {
        guard let found = raw(key) else { return nil }
        return try JSONFields(found, path: fieldPath(key))
    }

    /// The elements of an array of at most `countMax`.
    public mutating func array(_ key: String, countMax: Int) throws(HTTPProblem) -> [JSONValue]? {
        guard let found = raw(key) else { return nil }
        guard let elements = found.elements else {
            throw HTTPProblem(.badRequest, detail: "\(fieldPath(key)): must be an array")
        }
        guard elements.count <= countMax else {
            throw HTTPProblem(
                .unprocessableContent, detail: "\(fieldPath(key)): must have at most \(countMax) elements")
        }
        return elements
    }

    /// The problem of a required field that is absent:
    /// `guard let pan = try fields.string("pan", lengthMax: 19) else { throw fields.missing("pan") }`.
    public func missing(_ key: String) -> HTTPProblem {
        HTTPProblem(.badRequest, detail: "\(fieldPath(key)): is required")
    }

    /// Refuses a key nothing read (naming the allowed ones) and a key given twice.
    public func finish() throws(HTTPProblem) {
        var seen: Set<String> = []
        for (key, _) in members {
            guard keysRead.contains(key) else {
                let allowed = keysRead.sorted().joined(separator: ", ")
                throw HTTPProblem(.badRequest, detail: "\(fieldPath(key)): unknown field (allowed: \(allowed))")
            }
            guard seen.insert(key).inserted else {
                throw HTTPProblem(.badRequest, detail: "\(fieldPath(key)): given twice")
            }
        }
    }
}

extension HTTPRequest {
    /// The body as a JSON document: 415 unless `Content-Type` is `application/json`, 400 (with the JSON path and
    /// byte offset) when it is not valid JSON within `limits`.
    public func jsonBody(limits: JSONLimits = JSONLimits()) throws(HTTPProblem) -> JSONValue {
        guard hasJSONBody else {
            throw HTTPProblem(.unsupportedMediaType, detail: "the body must be application/json")
        }
        do {
            return try JSONDocument.parse(body, limits: limits).root
        } catch {
            throw HTTPProblem(.badRequest, detail: "\(error.path): \(error.problem) (byte \(error.offset))")
        }
    }
}
