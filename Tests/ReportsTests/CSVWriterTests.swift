import Reports
import Testing

/// RFC 4180 output: quoting, Persian text, formula guards, and chunks bounded by the writer's size.
@Suite struct CSVWriterTests {
    func written(_ rows: [[String]], chunkBytes: Int = 1024) throws -> (text: String, chunks: [Int]) {
        var bytes: [UInt8] = []
        var chunks: [Int] = []
        var csv = CSVWriter(chunkBytes: chunkBytes) { chunk throws(ReportError) in
            bytes += chunk
            chunks.append(chunk.count)
        }
        for row in rows { try csv.row(row) }
        try csv.flush()
        return (String(decoding: bytes, as: UTF8.self), chunks)
    }

    @Test("commas, quotes and line breaks are quoted and read back as written; Persian stays UTF-8")
    func quoting() throws {
        let rows = [["a,b", "say \"hi\"", "two\r\nlines", "علی رضایی", "plain", "-12", "-", ""]]
        let (text, _) = try written(rows)
        #expect(text == "\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",علی رضایی,plain,-12,-,\r\n")
        #expect(try CSVParse.rows(text) == rows)
    }

    @Test("a text a spreadsheet would run as a formula gets a leading apostrophe inside quotes")
    func formulas() throws {
        let (text, _) = try written([["=1+1", "+98912", "@SUM(A1)", "-x", "+1+1"]])
        #expect(text == "\"'=1+1\",+98912,\"'@SUM(A1)\",\"'-x\",\"'+1+1\"\r\n")
    }

    @Test("the sink gets chunks of about the chunk size, never the whole report at once")
    func chunks() throws {
        let rows = (0..<2000).map { [String($0), String(repeating: "x", count: 40)] }
        let (text, chunks) = try written(rows, chunkBytes: 4096)
        #expect(try CSVParse.rows(text) == rows)
        #expect(chunks.count > 20)
        #expect(chunks.allSatisfy { $0 <= 4096 + 64 })
    }

    @Test("fields written one by one: numbers as digits (extremes too), texts quoted as in whole rows, empty fields")
    func fieldByField() throws {
        var bytes: [UInt8] = []
        var csv = CSVWriter(chunkBytes: 1024) { chunk throws(ReportError) in bytes += chunk }
        for number in [Int64.min, -1, 0, 7, 1_000_000, Int64.max] { csv.field(number) }
        csv.field(UInt8(255))
        csv.emptyField()
        csv.field("a,b")
        csv.field("=cmd")
        try csv.endRow()
        csv.field("علی")
        try csv.endRow()
        try csv.flush()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(
            text == "-9223372036854775808,-1,0,7,1000000,9223372036854775807,255,,\"a,b\",\"'=cmd\"\r\nعلی\r\n")
        #expect(csv.rowCount == 2)
    }
}
