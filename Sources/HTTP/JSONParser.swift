/// The parser behind `JSONDocument.parse`: one pass, iterative (an explicit stack of open containers, never
/// deeper than `depthMax`), every byte checked against RFC 8259 and UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), lone surrogate escapes refused.
struct JSONParser {
    let bytes: [UInt8]
    let limits: JSONLimits
    var nodes: [JSONDocument.Node] = []
    var position = 0
    /// Open containers: their node, and for an object the node of the key being read (for error paths).
    var stack: [(node: Int, key: Int)] = []

    init(bytes: [UInt8], limits: JSONLimits) {
        precondition(limits.depthMax >= 1 && limits.valuesMax >= 1, "JSON limits must allow a value")
        self.bytes = bytes
        self.limits = limits
        stack.reserveCapacity(limits.depthMax)
    }

    mutating func parseDocument() throws(JSONSyntaxError) {
        var expectsValue = true
        while true {
            skipWhitespace()
            if expectsValue {
                expectsValue = try parseValue()
                continue
            }
            guard let top = stack.last else {
                guard position == bytes.count else { throw fail("unexpected bytes after the JSON value") }
                return
            }
            expectsValue = try afterValue(in: top.node)
        }
    }

    /// Starts the value at `position`: a scalar whole, or a container opened (and closed at once when empty).
    /// Returns true when a value is due next (the first element or member of the container just opened).
    mutating func parseValue() throws(JSONSyntaxError) -> Bool {
        guard position < bytes.count else { throw fail("the JSON text ends where a value should be") }
        if let top = stack.last, nodes[top.node].kind == .array { nodes[top.node].count += 1 }
        let byte = bytes[position]
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return try open(byte == UInt8(ascii: "{") ? .object : .array)
        case UInt8(ascii: "\""): try parseString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true", .true)
        case UInt8(ascii: "f"): try parseLiteral("false", .false)
        case UInt8(ascii: "n"): try parseLiteral("null", .null)
        default: throw fail("unexpected byte 0x\(String(byte, radix: 16)) where a value should be")
        }
        return false
    }

    /// After a value inside container `node`: `,` and the next member or element, or the container's end.
    /// Returns true when a value is due next.
    mutating func afterValue(in node: Int) throws(JSONSyntaxError) -> Bool {
        guard position < bytes.count else { throw fail("the JSON text ends inside a container") }
        let isObject = nodes[node].kind == .object
        switch bytes[position] {
        case UInt8(ascii: ","):
            position += 1
            if isObject {
                stack[stack.count - 1].key = -1
                try parseKey()
            }
            return true
        case UInt8(ascii: "}") where isObject, UInt8(ascii: "]") where !isObject:
            position += 1
            close()
            return false
        default:
            throw fail(isObject ? "expected , or } after an object member" : "expected , or ] after an array element")
        }
    }

    /// Opens a container; true when it is not empty (its first value is due).
    mutating func open(_ kind: JSONKind) throws(JSONSyntaxError) -> Bool {
        guard stack.count < limits.depthMax else { throw fail("nested deeper than \(limits.depthMax) (depthMax)") }
        let index = try append(kind, start: position, end: position + 1)
        stack.append((index, -1))
        position += 1
        skipWhitespace()
        let closing = kind == .object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        if position < bytes.count && bytes[position] == closing {
            position += 1
            close()
            return false
        }
        if kind == .object { try parseKey() }
        return true
    }

    mutating func close() {
        let (node, _) = stack.removeLast()
        nodes[node].end = Int32(position)
        nodes[node].next = Int32(nodes.count)
    }

    /// `"key"` then `:`; the value follows.
    mutating func parseKey() throws(JSONSyntaxError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw fail("expected a member name in double quotes")
        }
        let top = stack.count - 1
        nodes[stack[top].node].count += 1
        stack[top].key = nodes.count
        try parseString()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
            throw fail("expected : after a member name")
        }
        position += 1
    }

    mutating func append(_ kind: JSONKind, flag: Bool = false, start: Int, end: Int) throws(JSONSyntaxError) -> Int {
        guard nodes.count < limits.valuesMax else { throw fail("more than \(limits.valuesMax) values (valuesMax)") }
        let index = nodes.count
        nodes.append(
            JSONDocument.Node(
                kind: kind, flag: flag, start: Int32(start), end: Int32(end), next: Int32(index + 1), count: 0))
        return index
    }

    mutating func parseLiteral(_ word: StaticString, _ kind: JSONKind) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        let matches =
            position + count <= bytes.count
            && (0..<count).allSatisfy { bytes[position + $0] == word.utf8Start[$0] }
        guard matches else { throw fail("expected \(word)") }
        _ = try append(kind, start: position, end: position + count)
        position += count
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Where the parser is, as a JSON path (`$.items[2].name`), for the error.
    func path() -> String {
        var text = "$"
        for frame in stack {
            let container = nodes[frame.node]
            if container.kind == .array {
                text += "[\(max(Int(container.count) - 1, 0))]"
            } else if frame.key >= 0 && frame.key < nodes.count {
                let key = bytes[Int(nodes[frame.key].start)..<Int(nodes[frame.key].end)]
                text += JSONPath.member(String(decoding: JSONStringDecoder.decode(key), as: UTF8.self))
            }
        }
        return text
    }

    func fail(_ problem: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, path: path(), problem: problem)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// JSON paths as problem details name fields: `$.amount`, `$.items[3]`, `$["odd key"]`.
public enum JSONPath {
    /// `.name` for a plain identifier, `["..."]` otherwise (quotes and backslashes escaped).
    public static func member(_ key: String) -> String {
        let isIdentifier =
            !key.isEmpty
            && key.utf8.allSatisfy { HTTPBytes.isLetter($0) || HTTPBytes.isDigit($0) || $0 == UInt8(ascii: "_") }
            && !HTTPBytes.isDigit(key.utf8.first!)
        if isIdentifier { return "." + key }
        var escaped = ""
        for character in key {
            if character == "\"" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "[\"" + escaped + "\"]"
    }
}
