/// Limits of the JSON reader; each refuses a body over it as malformed (400) before any work grows with it.
public struct JSONLimits: Sendable, Equatable {
    /// Containers inside containers; deeper is refused (the parser keeps an explicit stack this deep, no recursion).
    public var depthMax = 32
    /// Bytes of one string as sent (escapes counted as written).
    public var stringBytesMax = 64 << 10
    /// Characters of one number; a longer one could be no amount here.
    public var numberBytesMax = 32
    /// Values in the document (every member, element and scalar); bounds the parse's memory.
    public var valuesMax = 65_536

    public init() {}
}

/// The kinds of JSON values.
public enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null
}

/// A syntax problem: where (byte offset and JSON path), and what.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let path: String
    public let problem: String

    public var description: String { "\(path): \(problem) (byte \(offset))" }
}

/// A parsed JSON text kept as a flat list of values ("tape") over a copy of its bytes: strings and numbers are
/// ranges, decoded only when asked for. Parsing is iterative with a stack bounded by `depthMax`, checks UTF-8,
/// escapes and the number grammar (RFC 8259), and refuses anything over `JSONLimits`.
public final class JSONDocument: Sendable {
    struct Node: Sendable {
        var kind: JSONKind
        /// Strings: holds a backslash escape. Numbers: has a fraction or exponent.
        var flag: Bool
        /// Bytes of the value (a string's without its quotes).
        var start: Int32
        var end: Int32
        /// Index of the node after this value's subtree (its next sibling), so containers can be skipped.
        var next: Int32
        /// Members (objects, each a key node then a value subtree) or elements (arrays).
        var count: Int32
    }

    let bytes: [UInt8]
    let nodes: [Node]

    init(bytes: [UInt8], nodes: [Node]) {
        self.bytes = bytes
        self.nodes = nodes
    }

    /// Parses `text` (copied) within `limits`.
    public static func parse(
        _ text: UnsafeRawBufferPointer, limits: JSONLimits = JSONLimits()
    ) throws(JSONSyntaxError) -> JSONDocument {
        var parser = JSONParser(bytes: Array(text), limits: limits)
        try parser.parseDocument()
        return JSONDocument(bytes: parser.bytes, nodes: parser.nodes)
    }

    public static func parse(_ text: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONSyntaxError) -> JSONDocument
    {
        var parser = JSONParser(bytes: text, limits: limits)
        try parser.parseDocument()
        return JSONDocument(bytes: parser.bytes, nodes: parser.nodes)
    }

    public var root: JSONValue { JSONValue(document: self, index: 0) }
}

/// One value of a document.
public struct JSONValue: Sendable {
    let document: JSONDocument
    let index: Int

    var node: JSONDocument.Node { document.nodes[index] }

    public var kind: JSONKind { node.kind }

    /// The string's value (escapes decoded), or nil for another kind.
    public var string: String? {
        guard node.kind == .string else { return nil }
        let range = Int(node.start)..<Int(node.end)
        guard node.flag else { return String(decoding: document.bytes[range], as: UTF8.self) }
        return String(decoding: JSONStringDecoder.decode(document.bytes[range]), as: UTF8.self)
    }

    /// A whole number that fits in Int64 (`12`, `-3`, and by value `12.0` or `1e3`: `JSONWholeNumber`), or nil.
    public var integer: Int64? {
        guard node.kind == .number else { return nil }
        guard !node.flag else { return JSONWholeNumber.read(document.bytes[Int(node.start)..<Int(node.end)]).value }
        var value: Int64 = 0
        var index = Int(node.start)
        let negative = document.bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        while index < Int(node.end) {
            let digit = Int64(document.bytes[index] - UInt8(ascii: "0"))
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow && !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// True for a number, whole or not.
    public var isNumber: Bool { node.kind == .number }

    /// True for a number whose value is whole (`12`, `12.0`, `1e30`), whether or not it fits in Int64.
    public var isWholeNumber: Bool {
        guard node.kind == .number else { return false }
        return !node.flag || JSONWholeNumber.read(document.bytes[Int(node.start)..<Int(node.end)]).isWhole
    }

    public var boolean: Bool? {
        switch node.kind {
        case .true: return true
        case .false: return false
        default: return nil
        }
    }

    public var isNull: Bool { node.kind == .null }

    /// An object's members in document order (keys decoded), or nil for another kind.
    public var members: [(key: String, value: JSONValue)]? {
        guard node.kind == .object else { return nil }
        var result: [(key: String, value: JSONValue)] = []
        var child = index + 1
        for _ in 0..<Int(node.count) {
            let key = JSONValue(document: document, index: child).string!
            let value = JSONValue(document: document, index: child + 1)
            result.append((key, value))
            child = Int(document.nodes[child + 1].next)
        }
        return result
    }

    /// An array's elements in order, or nil for another kind.
    public var elements: [JSONValue]? {
        guard node.kind == .array else { return nil }
        var result: [JSONValue] = []
        var child = index + 1
        for _ in 0..<Int(node.count) {
            result.append(JSONValue(document: document, index: child))
            child = Int(document.nodes[child].next)
        }
        return result
    }
}

/// Decodes the escapes of a string the parser already checked, so nothing here can fail.
enum JSONStringDecoder {
    static func decode(_ raw: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(raw, index)
                index += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4(raw, index + 2) - 0xDC00)
                    index += 6
                }
                output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: output.append(escape)
            }
        }
        return output
    }

    static func hex4(_ raw: ArraySlice<UInt8>, _ start: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in start..<(start + 4) { value = value << 4 | UInt32(JSONParser.hexValue(raw[index])!) }
        return value
    }
}
