/// A message type indicator: four decimal digits (version, class, function, origin), e.g. 0200.
public struct MTI: Sendable, Hashable, CustomStringConvertible {
    /// The four digits as a number, 0...9999 (0200 is 200).
    public let value: UInt16

    public init?(_ value: Int) {
        guard (0...9999).contains(value) else { return nil }
        self.value = UInt16(value)
    }

    public init?(_ text: String) {
        guard text.utf8.count == 4, let number = Int(text), text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            return nil
        }
        self.value = UInt16(number)
    }

    init(unchecked value: UInt16) { self.value = value }

    public var version: Int { Int(value) / 1000 }
    public var messageClass: Int { Int(value) / 100 % 10 }
    public var function: Int { Int(value) / 10 % 10 }
    public var origin: Int { Int(value) % 10 }

    /// True for requests and advices (function digit 0 or 2), the messages that expect a response. Responses,
    /// notifications and acknowledgements do not: answering them could make two systems answer each other forever.
    public var expectsResponse: Bool { function == 0 || function == 2 }

    /// The response to this request: function digit moved to response, repeat (odd origin) cleared.
    /// 0100 → 0110, 0221 → 0230, 0421 → 0430, 0800 → 0810. Nil for a message that expects no response (a
    /// response, notification, acknowledgement, or function digit 9): moving its digit would make a request of a
    /// response (0210 → 0220) or roll into the class (0290 → 0300, 9990 → "10000"). Tools call this on any MTI a
    /// peer sent, so it is an answer, not a precondition.
    public var response: MTI? {
        guard expectsResponse else { return nil }
        let response = MTI(unchecked: UInt16(Int(value) - Int(value) % 100 + (function + 1) * 10 + (origin & ~1)))
        precondition(
            response.version == version && response.messageClass == messageClass
                && response.function == function + 1 && response.origin & 1 == 0,
            "a response keeps the request's version and class, moves the function digit and clears the repeat")
        return response
    }

    /// The MTI with its repeat digit cleared (0221 → 0220, 0421 → 0420, 0401 → 0400).
    public var withoutRepeat: MTI {
        let first = MTI(unchecked: UInt16(Int(value) - (origin & 1)))
        precondition(first.origin & 1 == 0 && first.value / 10 == value / 10, "only the repeat digit is cleared")
        return first
    }

    public var description: String {
        let text = String(value)
        return String(repeating: "0", count: 4 - text.count) + text
    }
}
