/// Writes JSON into a byte array, with the nesting checked as it goes: a key outside an object, a value where a
/// key belongs or an unclosed container is a programmer error (precondition), so a response body is always
/// well-formed. Strings are escaped (quote, backslash, control characters); Swift strings are valid UTF-8, so
/// the output is too. Integers only: amounts here are integers in minor units or points.
public struct JSONWriter: Sendable {
    /// Containers nest at most this deep (one bit each in `inObject` and `needsComma`).
    public static let depthMax = 64

    public private(set) var bytes: [UInt8]
    private var depth = 0
    /// Bit `d`: the container at depth `d` is an object (else an array).
    private var inObject: UInt64 = 0
    /// Bit `d`: the container at depth `d` already has a member or element.
    private var needsComma: UInt64 = 0
    /// A key was written and its value is due.
    private var valueDue = false
    private var hasRoot = false

    /// Starts empty, keeping `reusing`'s capacity (a loop's scratch buffer).
    public init(reusing storage: [UInt8] = []) {
        bytes = storage
        bytes.removeAll(keepingCapacity: true)
    }

    /// True when exactly one complete value was written.
    public var isComplete: Bool { hasRoot && depth == 0 && !valueDue }

    public mutating func beginObject() {
        beforeValue()
        open(UInt8(ascii: "{"), isObject: true)
    }

    public mutating func endObject() {
        precondition(depth > 0 && inObject & bit(depth) != 0 && !valueDue, "endObject without an open object")
        close(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        beforeValue()
        open(UInt8(ascii: "["), isObject: false)
    }

    public mutating func endArray() {
        precondition(depth > 0 && inObject & bit(depth) == 0, "endArray without an open array")
        close(UInt8(ascii: "]"))
    }

    /// A member's key; its value must come next.
    public mutating func key(_ name: String) {
        precondition(depth > 0 && inObject & bit(depth) != 0 && !valueDue, "a key belongs in an object")
        if needsComma & bit(depth) != 0 { bytes.append(UInt8(ascii: ",")) }
        needsComma |= bit(depth)
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
        valueDue = true
    }

    public mutating func string(_ value: String) {
        beforeValue()
        appendString(value)
    }

    public mutating func integer(_ value: Int64) {
        beforeValue()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        HTTPResponseWriter.appendDecimal(value.magnitude, to: &bytes)
    }

    public mutating func integer(_ value: Int) { integer(Int64(value)) }

    public mutating func boolean(_ value: Bool) {
        beforeValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        beforeValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// `"key": "value"` in the open object.
    public mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    /// `"key": 12` in the open object.
    public mutating func member(_ name: String, _ value: Int64) {
        key(name)
        integer(value)
    }

    /// A number exactly as a parsed document holds it (already checked against the JSON grammar).
    mutating func rawNumber(_ text: ArraySlice<UInt8>) {
        beforeValue()
        bytes.append(contentsOf: text)
    }

    /// One complete value written before by another writer (its caller vouches for it: the audit trail's
    /// details, kept as their canonical bytes so a chained entry copies them instead of parsing and sorting).
    public mutating func written(_ value: [UInt8]) {
        beforeValue()
        bytes.append(contentsOf: value)
    }

    private func bit(_ level: Int) -> UInt64 { 1 << UInt64(level - 1) }

    private mutating func beforeValue() {
        if depth == 0 {
            precondition(!hasRoot, "a JSON text holds one value")
            hasRoot = true
            return
        }
        if inObject & bit(depth) != 0 {
            precondition(valueDue, "an object member needs its key first")
            valueDue = false
        } else {
            if needsComma & bit(depth) != 0 { bytes.append(UInt8(ascii: ",")) }
            needsComma |= bit(depth)
        }
    }

    private mutating func open(_ bracket: UInt8, isObject: Bool) {
        precondition(depth < JSONWriter.depthMax, "JSON nested deeper than \(JSONWriter.depthMax)")
        depth += 1
        if isObject { inObject |= bit(depth) } else { inObject &= ~bit(depth) }
        needsComma &= ~bit(depth)
        bytes.append(bracket)
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        depth -= 1
    }

    /// Copies runs of bytes that need no escape whole (one copy instead of an append per byte: audit entries and
    /// bulk imports write millions of strings), escaping quotes, backslashes and control characters.
    private mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                appendEscape(byte)
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): bytes.append(contentsOf: "\\\"".utf8)
        case UInt8(ascii: "\\"): bytes.append(contentsOf: "\\\\".utf8)
        case UInt8(ascii: "\n"): bytes.append(contentsOf: "\\n".utf8)
        case UInt8(ascii: "\r"): bytes.append(contentsOf: "\\r".utf8)
        case UInt8(ascii: "\t"): bytes.append(contentsOf: "\\t".utf8)
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: "\\u00".utf8)
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0xF)])
        }
    }
}
