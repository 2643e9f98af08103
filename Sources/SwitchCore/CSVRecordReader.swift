/// One record of a CSV stream: its fields as bytes, or why it could not be framed. `number` counts records from
/// 1 (the header is record 1), blank lines included, as a spreadsheet numbers its rows.
enum CSVRecord: Equatable {
    case fields(number: Int, [[UInt8]])
    /// The record was read to its end and dropped; `field` is its 1-based field where framing broke.
    case malformed(number: Int, field: Int, reason: String)
}

/// A streaming RFC 4180 reader: quoted fields with embedded commas, quotes (`""`) and line breaks; records ended
/// by CRLF, LF or a lone CR; a UTF-8 byte order mark at the very start skipped. Bytes come in pieces of any size
/// (a piece may end anywhere, even inside `""` or CRLF), so a file of any size is read in bounded memory.
///
/// Bounds: a field longer than `fieldBytesMax` or a record with more than `fieldsMax` fields is reported
/// malformed and skipped to its end without keeping its bytes, so a hostile file costs at most one record of
/// `fieldsMax × fieldBytesMax` bytes. A quote inside an unquoted field, or a character after a closing quote,
/// makes the record malformed too; the reader goes on with the next record. Lines with no byte at all are
/// skipped (counted in `number`). Bytes are not decoded here: UTF-8 is checked per field by the caller.
struct CSVRecordReader {
    enum State {
        case fieldStart
        case unquoted
        case quoted
        /// A quote inside a quoted field: either the first of `""` or the closing one.
        case quoteInQuoted
        /// After a closing quote: only a comma or the end of the record may follow.
        case afterClosingQuote
    }

    let fieldBytesMax: Int
    let fieldsMax: Int
    private(set) var recordNumber = 0
    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var fields: [[UInt8]] = []
    /// Set when the record broke (its reason and field); the rest of it is read without being kept.
    private var broken: (field: Int, reason: String)?
    /// The previous byte ended a record with CR: an LF right after it belongs to the same line end.
    private var afterCarriageReturn = false
    /// Bytes of a byte order mark matched so far at the start of the stream; -1 once past the start.
    private var byteOrderMarkMatched = 0
    /// Bytes the current record has seen (for blank-line detection).
    private var recordBytes = 0

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    init(fieldBytesMax: Int, fieldsMax: Int) {
        precondition(fieldBytesMax >= 1 && fieldsMax >= 1, "a record holds at least one byte in one field")
        self.fieldBytesMax = fieldBytesMax
        self.fieldsMax = fieldsMax
    }

    /// Reads `bytes`, handing each complete record to `emit`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (CSVRecord) -> Void) {
        for byte in bytes {
            if byteOrderMarkMatched >= 0 {
                if byte == Self.byteOrderMark[byteOrderMarkMatched] {
                    byteOrderMarkMatched += 1
                    if byteOrderMarkMatched == Self.byteOrderMark.count { byteOrderMarkMatched = -1 }
                    continue
                }
                // Not a mark after all: the bytes matched so far are data.
                let matched = byteOrderMarkMatched
                byteOrderMarkMatched = -1
                for earlier in Self.byteOrderMark[0..<matched] { step(earlier, emit) }
            }
            step(byte, emit)
        }
    }

    /// The end of the stream: the last record (without a line end) is emitted; a quoted field still open is
    /// malformed.
    mutating func finish(_ emit: (CSVRecord) -> Void) {
        if byteOrderMarkMatched > 0 {
            let matched = byteOrderMarkMatched
            byteOrderMarkMatched = -1
            for earlier in Self.byteOrderMark[0..<matched] { step(earlier, emit) }
        }
        if case .quoted = state {
            markBroken("a quoted field is not closed before the end of the file")
        }
        if recordBytes > 0 { endRecord(emit) }
        precondition(recordBytes == 0 && byteOrderMarkMatched <= 0, "the stream's last record is out")
    }

    private mutating func step(_ byte: UInt8, _ emit: (CSVRecord) -> Void) {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lineFeed = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        if afterCarriageReturn {
            afterCarriageReturn = false
            if byte == lineFeed { return }
        }
        if recordBytes == 0 && byte != quote && (byte == lineFeed || byte == carriageReturn), state == .fieldStart {
            recordNumber += 1  // a blank line: counted, never emitted
            afterCarriageReturn = byte == carriageReturn
            return
        }
        recordBytes += 1
        switch state {
        case .fieldStart, .unquoted:
            if byte == comma {
                endField()
            } else if byte == lineFeed || byte == carriageReturn {
                afterCarriageReturn = byte == carriageReturn
                endRecord(emit)
            } else if byte == quote {
                if state == .fieldStart {
                    state = .quoted
                } else {
                    markBroken("a quote inside an unquoted field (quote the whole field and double the quote)")
                }
            } else {
                state = .unquoted
                append(byte)
            }
        case .quoted:
            if byte == quote { state = .quoteInQuoted } else { append(byte) }
        case .quoteInQuoted:
            if byte == quote {
                state = .quoted
                append(byte)
            } else {
                state = .afterClosingQuote
                step(afterClosingQuote: byte, emit)
            }
        case .afterClosingQuote:
            step(afterClosingQuote: byte, emit)
        }
    }

    private mutating func step(afterClosingQuote byte: UInt8, _ emit: (CSVRecord) -> Void) {
        if byte == UInt8(ascii: ",") {
            endField()
        } else if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
            afterCarriageReturn = byte == UInt8(ascii: "\r")
            endRecord(emit)
        } else {
            markBroken("a character after a closing quote (a field is quoted whole or not at all)")
        }
    }

    private mutating func append(_ byte: UInt8) {
        guard broken == nil else { return }
        guard field.count < fieldBytesMax else {
            markBroken("longer than \(fieldBytesMax) bytes")
            return
        }
        field.append(byte)
        precondition(field.count <= fieldBytesMax, "a field within its limit")
    }

    private mutating func endField() {
        state = .fieldStart
        guard broken == nil else { return }
        guard fields.count < fieldsMax else {
            markBroken("more than \(fieldsMax) fields")
            return
        }
        fields.append(field)
        field.removeAll(keepingCapacity: true)
        precondition(fields.count <= fieldsMax, "a record within its field limit")
    }

    private mutating func markBroken(_ reason: String) {
        guard broken == nil else { return }
        broken = (fields.count + 1, reason)
        precondition(fields.count + 1 >= 1 && fields.count + 1 <= fieldsMax + 1, "the broken field is counted from 1")
        field.removeAll(keepingCapacity: true)
    }

    private mutating func endRecord(_ emit: (CSVRecord) -> Void) {
        endField()
        recordNumber += 1
        precondition(recordNumber >= 1 && field.isEmpty, "a record ends with its last field taken")
        if let broken {
            emit(.malformed(number: recordNumber, field: broken.field, reason: broken.reason))
        } else {
            emit(.fields(number: recordNumber, fields))
        }
        fields.removeAll(keepingCapacity: true)
        broken = nil
        recordBytes = 0
        state = .fieldStart
        precondition(fields.isEmpty && broken == nil, "the next record starts empty")
    }
}
