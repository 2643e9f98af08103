/// The canonical form of a JSON value: no whitespace, object members sorted by their keys' UTF-8 bytes, strings
/// decoded and written again with the writer's escapes, numbers exactly as sent (`1.0` and `1` differ). Two
/// bodies with the same JSON value but other key order or spacing have the same canonical bytes, which is what an
/// `Idempotency-Key` compares and what the audit trail's hash covers.
extension JSONWriter {
    /// Writes `value` in canonical form. Iterative: the document's depth is bounded by its parse limits, and the
    /// walk keeps its own stack rather than recursing.
    public mutating func canonical(_ value: JSONValue) {
        /// A container being written: its children in output order and the next one to write.
        struct Frame {
            var isObject: Bool
            var keys: [String]
            var values: [JSONValue]
            var next = 0
        }
        var stack: [Frame] = []
        var pending: JSONValue? = value
        while true {
            if let current = pending {
                pending = nil
                if let frame = open(current) {
                    stack.append(frame)
                } else {
                    scalar(current)
                }
            }
            guard !stack.isEmpty else { return }
            let top = stack.count - 1
            if stack[top].next == stack[top].values.count {
                if stack[top].isObject { endObject() } else { endArray() }
                stack.removeLast()
                continue
            }
            let index = stack[top].next
            stack[top].next += 1
            if stack[top].isObject { key(stack[top].keys[index]) }
            pending = stack[top].values[index]
        }

        func open(_ value: JSONValue) -> Frame? {
            if let members = value.members {
                beginObject()
                let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                return Frame(isObject: true, keys: sorted.map(\.key), values: sorted.map(\.value))
            }
            if let elements = value.elements {
                beginArray()
                return Frame(isObject: false, keys: [], values: elements)
            }
            return nil
        }
    }

    /// A string, number, boolean or null.
    private mutating func scalar(_ value: JSONValue) {
        switch value.kind {
        case .string: string(value.string!)
        case .number:
            let node = value.node
            rawNumber(value.document.bytes[Int(node.start)..<Int(node.end)])
        case .true: boolean(true)
        case .false: boolean(false)
        case .null: null()
        case .object, .array: preconditionFailure("containers are opened, not written as scalars")
        }
    }

    /// The canonical bytes of `value`.
    public static func canonicalBytes(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.canonical(value)
        precondition(writer.isComplete, "a canonical value is complete")
        return writer.bytes
    }
}
