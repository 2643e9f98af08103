/// The share of each request kind in percent. Reversals and refunds need an earlier approved original on the same
/// terminal; when none is waiting, a purchase goes out instead (counted as a substitution), so that the mix never
/// makes up an original that the switch did not approve.
public struct TransactionMix: Sendable, Equatable, CustomStringConvertible {
    public private(set) var percentages: [Int]
    /// 100 slots, each a kind, in proportion to the percentages: picking is one random index.
    let slots: [RequestKind]

    /// - Parameter percentages: one per `RequestKind`, in its order; they must add up to 100.
    public init(percentages: [Int]) throws(UsageProblem) {
        guard percentages.count == RequestKind.allCases.count, percentages.allSatisfy({ $0 >= 0 }) else {
            throw UsageProblem("the mix needs a non-negative percentage per kind")
        }
        guard percentages.reduce(0, +) == 100 else {
            throw UsageProblem("mix percentages add up to \(percentages.reduce(0, +)), not 100")
        }
        self.percentages = percentages
        var slots: [RequestKind] = []
        for kind in RequestKind.allCases {
            slots.append(contentsOf: repeatElement(kind, count: percentages[kind.rawValue]))
        }
        self.slots = slots
    }

    /// Purchases only: the default, which needs no earlier state.
    public static let purchasesOnly = try! TransactionMix(percentages: [100, 0, 0, 0, 0])

    /// Parses `purchase=70,redeem=10,balance=10,reversal=5,refund=5`; kinds left out are 0.
    public static func parse(_ text: String) throws(UsageProblem) -> TransactionMix {
        var percentages = [Int](repeating: 0, count: RequestKind.allCases.count)
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = Int(pair[1]),
                let kind = RequestKind.allCases.first(where: { $0.description == pair[0].lowercased() })
            else {
                throw UsageProblem(
                    "--mix: '\(part)' is not KIND=PERCENT (kinds: purchase, redeem, balance, reversal, refund)")
            }
            percentages[kind.rawValue] = value
        }
        return try TransactionMix(percentages: percentages)
    }

    @inline(__always)
    public func pick(_ random: inout SplitMix64) -> RequestKind {
        slots[Int(random.next(below: UInt64(slots.count)))]
    }

    public var description: String {
        RequestKind.allCases.filter { percentages[$0.rawValue] > 0 }
            .map { "\($0)=\(percentages[$0.rawValue])" }.joined(separator: ",")
    }
}

/// A command-line or configuration mistake, said in one line.
public struct UsageProblem: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
