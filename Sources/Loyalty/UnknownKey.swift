/// What to tell an operator about a configuration key that nothing reads: the known key it is probably a slip
/// for, or else the keys allowed there. The rules reader and the switch's configuration reader both use it, so a
/// misspelling reads the same wherever it is (`latencyBudgetMS: unknown key (did you mean latencyBudgetMs?)`).
public enum UnknownKey {
    /// Keys longer than this get no suggestion: the distance costs length × length, and no real key is this long.
    static let keyLengthMax = 64

    /// "unknown key (did you mean X?)" when an allowed key is close, else "unknown key (allowed: a, b, c)".
    public static func problem(_ key: String, allowed: some Collection<String>) -> String {
        if let suggestion = suggestion(for: key, among: allowed) { return "unknown key (did you mean \(suggestion)?)" }
        return "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))"
    }

    /// The allowed key nearest to `key`, ignoring case, when it is near enough to be a slip of the fingers: one
    /// edit for short keys, up to three for long ones. Ties go to the alphabetically first, so the answer is
    /// stable.
    public static func suggestion(for key: String, among allowed: some Collection<String>) -> String? {
        guard key.count <= keyLengthMax else { return nil }
        let typed = Array(key.lowercased())
        let distanceMax = min(3, max(1, typed.count / 4))
        var best: (key: String, distance: Int)?
        for candidate in allowed.sorted() where candidate.count <= keyLengthMax {
            let distance = editDistance(typed, Array(candidate.lowercased()))
            if distance <= distanceMax && distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.key
    }

    /// Insertions, deletions, substitutions and swaps of two neighbouring characters each count one (the
    /// optimal string alignment distance), so `partialRedemptoin` is one edit from `partialRedemption`.
    static func editDistance(_ source: [Character], _ target: [Character]) -> Int {
        precondition(source.count <= keyLengthMax && target.count <= keyLengthMax, "keys are bounded")
        let width = target.count + 1
        var rows = [[Int]](repeating: Array(0..<width), count: 3)
        for row in stride(from: 1, through: source.count, by: 1) {
            let current = row % 3
            let previous = (row + 2) % 3
            let beforePrevious = (row + 1) % 3
            rows[current][0] = row
            for column in 1..<width {
                let substitution = source[row - 1] == target[column - 1] ? 0 : 1
                var distance = min(
                    rows[previous][column] + 1, rows[current][column - 1] + 1,
                    rows[previous][column - 1] + substitution)
                if row > 1 && column > 1 && source[row - 1] == target[column - 2]
                    && source[row - 2] == target[column - 1]
                {
                    distance = min(distance, rows[beforePrevious][column - 2] + 1)
                }
                rows[current][column] = distance
            }
        }
        let distance = rows[source.count % 3][target.count]
        precondition(distance <= max(source.count, target.count), "an edit distance never exceeds the longer key")
        return distance
    }
}
