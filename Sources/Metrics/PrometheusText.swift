/// The Prometheus text exposition format (version 0.0.4), written into a byte array.
///
/// Every family is announced once with `# HELP` and `# TYPE`, and its samples follow it; names and label names
/// are checked (a bad one is a programmer error), label values and help text are escaped. Values are written as
/// exact decimals from integers (a latency in nanoseconds becomes seconds by moving the decimal point), so the
/// output never depends on floating-point formatting.
public struct PrometheusText: Sendable {
    /// What a scrape's `Content-Type` says.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public enum MetricType: String, Sendable {
        case counter, gauge, histogram
    }

    public private(set) var bytes: [UInt8] = []
    private var familyName = ""
    private var familyType = MetricType.counter
    private var familiesWritten: Set<String> = []

    public init() {}

    /// Starts a family: its samples must come next, before another family starts.
    public mutating func family(_ name: String, type: MetricType, help: String) {
        precondition(Self.isMetricName(name), "invalid metric name \(name)")
        precondition(familiesWritten.insert(name).inserted, "metric family \(name) written twice")
        precondition(type != .counter || name.hasSuffix("_total"), "a counter's name ends in _total: \(name)")
        familyName = name
        familyType = type
        append("# HELP \(name) ")
        appendEscaped(help, escapingQuotes: false)
        append("\n# TYPE \(name) \(type.rawValue)\n")
    }

    /// Families of one unlabelled counter or gauge sample each: (name, type, help, value).
    public mutating func singleSampleFamilies(_ families: [(String, MetricType, String, UInt64)]) {
        for (name, type, help, value) in families {
            family(name, type: type, help: help)
            sample(value: value)
        }
    }

    /// One counter or gauge sample of the current family.
    public mutating func sample(_ labels: [(String, String)] = [], value: UInt64) {
        precondition(familyType != .histogram, "histogram samples are written by histogram(_:)")
        line(familyName, labels, value: String(value))
    }

    /// One counter or gauge sample kept in a smaller unit, divided by `unitDivisor` (a power of ten) as written.
    public mutating func sample(_ labels: [(String, String)] = [], value: UInt64, unitDivisor: UInt64) {
        precondition(familyType != .histogram, "histogram samples are written by histogram(_:)")
        line(familyName, labels, value: Self.decimal(value, divisor: unitDivisor))
    }

    /// One gauge sample that may be negative.
    public mutating func sample(_ labels: [(String, String)] = [], signedValue: Int64) {
        precondition(familyType == .gauge, "only a gauge goes below zero")
        line(familyName, labels, value: String(signedValue))
    }

    /// One histogram of the current family: cumulative `_bucket` lines with `le`, then `_sum` and `_count`.
    /// Bounds and sum are divided by `unitDivisor` (a power of ten: 1_000_000_000 turns nanoseconds into seconds).
    public mutating func histogram(
        _ labels: [(String, String)] = [], _ snapshot: HistogramSnapshot, unitDivisor: UInt64
    ) {
        precondition(familyType == .histogram, "histogram(_:) writes histogram families only")
        var cumulative: UInt64 = 0
        for (index, bound) in snapshot.bounds.enumerated() {
            cumulative &+= snapshot.buckets[index]
            let bucketLabels = labels + [("le", Self.decimal(bound, divisor: unitDivisor))]
            line(familyName + "_bucket", bucketLabels, value: String(cumulative))
        }
        cumulative &+= snapshot.buckets[snapshot.bounds.count]
        precondition(cumulative == snapshot.count, "a histogram's +Inf bucket is its count")
        line(familyName + "_bucket", labels + [("le", "+Inf")], value: String(cumulative))
        line(familyName + "_sum", labels, value: Self.decimal(snapshot.sum, divisor: unitDivisor))
        line(familyName + "_count", labels, value: String(cumulative))
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], value: String) {
        precondition(!familyName.isEmpty, "a sample needs its family first")
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            for (index, (label, labelValue)) in labels.enumerated() {
                precondition(Self.isLabelName(label), "invalid label name \(label)")
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                append(label)
                append("=\"")
                appendEscaped(labelValue, escapingQuotes: true)
                bytes.append(UInt8(ascii: "\""))
            }
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        append(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Backslash and newline always; double quotes in label values only (the format's two escaping rules).
    private mutating func appendEscaped(_ text: String, escapingQuotes: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\"") where escapingQuotes: append("\\\"")
            default: bytes.append(byte)
            }
        }
    }

    /// `value / divisor` as an exact decimal without trailing zeros: (50_000, 1_000_000_000) → `0.00005`.
    public static func decimal(_ value: UInt64, divisor: UInt64) -> String {
        precondition(divisor >= 1 && divisor <= 1_000_000_000_000_000_000, "divisor out of range")
        var digits = 0
        var power: UInt64 = 1
        while power < divisor {
            power *= 10
            digits += 1
        }
        precondition(power == divisor, "the divisor must be a power of ten")
        let whole = String(value / divisor)
        guard digits > 0, value % divisor != 0 else { return whole }
        var fraction = String(value % divisor)
        fraction = String(repeating: "0", count: digits - fraction.count) + fraction
        while fraction.last == "0" { fraction.removeLast() }
        return whole + "." + fraction
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the format's metric names.
    public static func isMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":")
        else { return false }
        return name.utf8.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":")
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for Prometheus itself).
    public static func isLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLetter(first) || first == UInt8(ascii: "_"), !name.hasPrefix("__") else {
            return false
        }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
