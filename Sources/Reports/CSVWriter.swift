/// RFC 4180 CSV into a bounded buffer handed to a sink whenever it fills: a report of any size costs
/// `chunkBytes` of output memory (plus what the sink keeps in flight).
///
/// Rows end with CRLF; a field with a comma, a quote or a line break is quoted, its quotes doubled. Text is UTF-8
/// as given (Persian names stay as they are). A field that a spreadsheet would run as a formula (`=`, `+`, `-`,
/// `@` first, other than a signed number or phone) gets a leading apostrophe, so an exported name cannot become
/// a formula.
public struct CSVWriter {
    /// Bytes gathered before the sink gets them: big enough that a chunk header is noise, small enough to stay
    /// in cache.
    public static let chunkBytesDefault = 64 * 1024
    let chunkBytes: Int
    private var buffer: [UInt8] = []
    private let sink: (borrowing [UInt8]) throws(ReportError) -> Void
    /// Rows written, header included.
    public private(set) var rowCount = 0

    public init(
        chunkBytes: Int = CSVWriter.chunkBytesDefault, sink: @escaping (borrowing [UInt8]) throws(ReportError) -> Void
    ) {
        precondition(chunkBytes >= 1024, "a chunk holds at least a row")
        self.chunkBytes = chunkBytes
        self.sink = sink
        buffer.reserveCapacity(chunkBytes + 1024)
    }

    /// Fields written in the row being made (the separator goes before every field but the first).
    private var fieldsInRow = 0

    public mutating func row(_ fields: [String]) throws(ReportError) {
        for field in fields { self.field(field) }
        try endRow()
    }

    /// One text field of the row being made, quoted when it needs to be.
    public mutating func field(_ text: String) {
        separate()
        var text = text
        text.withUTF8 { append($0) }
    }

    /// One whole number, its digits written straight into the buffer (no `String` per field: a 1M-member export
    /// writes ten numbers a row).
    public mutating func field(_ number: Int64) {
        separate()
        if number < 0 { buffer.append(0x2D) }
        var magnitude = number.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, least significant first
        let count = withUnsafeMutableBytes(of: &digits) { raw in
            var count = 0
            repeat {
                raw[count] = UInt8(truncatingIfNeeded: magnitude % 10) &+ 0x30
                magnitude /= 10
                count += 1
            } while magnitude > 0
            return count
        }
        withUnsafeBytes(of: &digits) { raw in
            for index in stride(from: count - 1, through: 0, by: -1) { buffer.append(raw[index]) }
        }
    }

    public mutating func field(_ number: some BinaryInteger) { field(Int64(number)) }

    /// An empty field.
    public mutating func emptyField() { separate() }

    /// Ends the row being made (CRLF); hands the buffer to the sink when it is full.
    public mutating func endRow() throws(ReportError) {
        buffer.append(13)
        buffer.append(10)
        fieldsInRow = 0
        rowCount += 1
        if buffer.count >= chunkBytes { try flush() }
    }

    /// Hands what is gathered to the sink; call once after the last row.
    public mutating func flush() throws(ReportError) {
        precondition(fieldsInRow == 0, "a row is ended before the buffer is handed on")
        guard !buffer.isEmpty else { return }
        try sink(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private mutating func separate() {
        if fieldsInRow > 0 { buffer.append(UInt8(ascii: ",")) }
        fieldsInRow += 1
    }

    private mutating func append(_ utf8: UnsafeBufferPointer<UInt8>) {
        let guarded = Self.looksLikeFormula(utf8)
        let quoted = guarded || utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
        guard quoted else {
            buffer.append(contentsOf: utf8)
            return
        }
        buffer.append(0x22)
        if guarded { buffer.append(0x27) }
        for byte in utf8 {
            buffer.append(byte)
            if byte == 0x22 { buffer.append(0x22) }
        }
        buffer.append(0x22)
    }

    /// A text starting like a formula; numbers (`-12`) stay numbers.
    static func looksLikeFormula(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = utf8.first, first == 0x3D || first == 0x2B || first == 0x2D || first == 0x40 else {
            return false
        }
        let rest = utf8.dropFirst()
        // A lone sign (a masked card of unknown digits prints `-`), a signed number and a phone (`+98…`) compute
        // nothing.
        let signed = first == 0x2D || first == 0x2B
        return !rest.isEmpty && !(signed && rest.allSatisfy { (0x30...0x39).contains($0) })
    }
}
