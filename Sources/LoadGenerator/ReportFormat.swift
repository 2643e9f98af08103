/// Number formatting for reports without Foundation's formatters (fixed decimals, locale-free, predictable).
public enum ReportFormat {
    /// `value` with exactly `decimals` digits after the point.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let whole = UInt64(scaled)
        let integerPart = whole / UInt64(scale)
        var text = (value < 0 && whole > 0 ? "-" : "") + String(integerPart)
        if decimals > 0 {
            var fraction = String(whole % UInt64(scale))
            while fraction.count < decimals { fraction = "0" + fraction }
            text += "." + fraction
        }
        return text
    }

    /// Nanoseconds as milliseconds with 3 decimals (microsecond resolution).
    public static func milliseconds(_ nanoseconds: UInt64) -> String {
        fixed(Double(nanoseconds) / 1e6, decimals: 3)
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    public static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
