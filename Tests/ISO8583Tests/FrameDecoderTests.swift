import ISO8583
import TestSupport
import Testing

/// The stream framing decoder, tested NIO-style: the same bytes in any pieces give the same frames, and every
/// malformed header class has a test.
@Suite("Frame decoder")
struct FrameDecoderTests {
    /// One decoded frame, copied out of the decoder's buffer.
    struct Received: Equatable {
        let tpdu: [UInt8]?
        let message: [UInt8]
    }

    static let framings: [Framing] = Framing.LengthHeader.allCases.flatMap { header in
        [Framing(lengthHeader: header, hasTPDU: false), Framing(lengthHeader: header, hasTPDU: true)]
    }

    /// A stream of `count` frames with random sizes (1 byte to the maximum) and contents, and what it carries.
    static func stream(_ framing: Framing, count: Int, using random: inout SplitMix64) -> ([UInt8], [Received]) {
        var bytes: [UInt8] = []
        var frames: [Received] = []
        let payloadMax = framing.frameBytesMax - (framing.hasTPDU ? Framing.tpduByteCount : 0)
        for index in 0..<count {
            let size = index == 0 ? payloadMax : random.chance(10) ? 1 : Int.random(in: 1...300, using: &random)
            let message = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
            let tpdu = framing.hasTPDU ? (0..<5).map { _ in UInt8.random(in: 0...255, using: &random) } : nil
            framing.appendHeader(length: size + (tpdu?.count ?? 0), to: &bytes)
            bytes.append(contentsOf: tpdu ?? [])
            bytes.append(contentsOf: message)
            frames.append(Received(tpdu: tpdu, message: message))
        }
        return (bytes, frames)
    }

    /// Feeds `bytes` in the given piece sizes, draining frames after each piece (compacting now and then).
    static func feed(
        _ framing: Framing, _ bytes: [UInt8], pieces: [Int], compactEvery: Int = 3
    ) throws(FramingError) -> (frames: [Received], decoder: FrameDecoder, bufferPeak: Int) {
        var decoder = FrameDecoder(framing: framing)
        var frames: [Received] = []
        var offset = 0
        var bufferPeak = 0
        for (index, size) in pieces.enumerated() {
            decoder.append(Array(bytes[offset..<(offset + size)]))
            bufferPeak = max(bufferPeak, decoder.buffer.count)
            offset += size
            while let frame = try decoder.next() {
                frames.append(
                    Received(
                        tpdu: frame.tpdu.map { Array(decoder.buffer[$0]) },
                        message: Array(decoder.buffer[frame.message])))
            }
            if index % compactEvery == 0 { decoder.compact() }
        }
        precondition(offset == bytes.count, "pieces must cover the stream")
        return (frames, decoder, bufferPeak)
    }

    static func randomPieces(_ total: Int, using random: inout SplitMix64) -> [Int] {
        var pieces: [Int] = []
        var left = total
        while left > 0 {
            let size = min(left, random.chance(30) ? 1 + random.below(3) : 1 + random.below(700))
            pieces.append(size)
            left -= size
        }
        return pieces
    }

    static func label(_ framing: Framing) -> String { "\(framing.lengthHeader)\(framing.hasTPDU ? "+TPDU" : "")" }

    // NIO's ByteToMessageDecoderVerifier idea: whole, byte by byte and in random pieces give the same frames.
    @Test("the same stream fed whole, byte by byte and in random pieces gives the same frames", arguments: framings)
    func piecesDoNotMatter(framing: Framing) throws {
        var random = SplitMix64(seed: 0xF4A3E)
        let (bytes, expected) = Self.stream(framing, count: 60, using: &random)
        let whole = try Self.feed(framing, bytes, pieces: [bytes.count])
        #expect(whole.frames == expected, "\(Self.label(framing)) whole")
        let single = try Self.feed(framing, bytes, pieces: [Int](repeating: 1, count: bytes.count), compactEvery: 97)
        #expect(single.frames == expected, "\(Self.label(framing)) byte by byte")
        for round in 0..<20 {
            let pieces = Self.randomPieces(bytes.count, using: &random)
            let result = try Self.feed(framing, bytes, pieces: pieces, compactEvery: 1 + round % 4)
            #expect(result.frames == expected, "\(Self.label(framing)) random pieces, round \(round)")
            #expect(result.decoder.pendingByteCount == 0)
            if round % 4 == 0 {
                // Compacting after every read bounds the buffer: less than one frame, plus what one read brought.
                let bound = framing.lengthHeader.byteCount + framing.frameBytesMax + (pieces.max() ?? 0)
                #expect(result.bufferPeak < bound, "\(Self.label(framing)) buffer peak \(result.bufferPeak)")
            }
        }
    }

    // A frame of exactly frameBytesMax is accepted; one byte more closes the stream with frameTooLarge.
    @Test("the length limit: frameBytesMax passes, frameBytesMax + 1 is frameTooLarge", arguments: framings)
    func frameSizeLimit(framing: Framing) throws {
        let limited = Framing(lengthHeader: framing.lengthHeader, hasTPDU: framing.hasTPDU, frameBytesMax: 100)
        var bytes: [UInt8] = []
        limited.appendHeader(length: 100, to: &bytes)
        bytes.append(contentsOf: [UInt8](repeating: 0x41, count: 100))
        var decoder = FrameDecoder(framing: limited)
        decoder.append(bytes)
        let frame = try #require(try decoder.next())
        #expect(frame.message.count + (frame.tpdu?.count ?? 0) == 100)
        var oversize: [UInt8] = []
        limited.appendHeader(length: 101, to: &oversize)
        decoder.append(oversize)
        #expect(throws: FramingError.frameTooLarge(length: 101, maximum: 100)) { try decoder.next() }
    }

    // The largest header value the encoding can hold, against the default 8 KiB limit, is refused at once.
    @Test("a maximal length header against the default limit is frameTooLarge", arguments: Framing.LengthHeader.allCases)
    func maximalHeader(header: Framing.LengthHeader) {
        var decoder = FrameDecoder(framing: Framing(lengthHeader: header))
        var bytes: [UInt8] = []
        Framing(lengthHeader: header).appendHeader(length: header.lengthMax, to: &bytes)
        decoder.append(bytes)
        #expect(throws: FramingError.frameTooLarge(length: header.lengthMax, maximum: 8192)) { try decoder.next() }
    }

    // Header encodings are the ones the wire contract names (values worked out by hand, not by our encoder).
    @Test("length headers are written as the contract says")
    func headerEncodings() {
        var binary: [UInt8] = []
        Framing(lengthHeader: .binary2).appendHeader(length: 258, to: &binary)
        #expect(binary == [0x01, 0x02])
        var bcd: [UInt8] = []
        Framing(lengthHeader: .bcd2).appendHeader(length: 1234, to: &bcd)
        #expect(bcd == [0x12, 0x34])
        var ascii: [UInt8] = []
        Framing(lengthHeader: .ascii4).appendHeader(length: 42, to: &ascii)
        #expect(ascii == Array("0042".utf8))
    }

    // A header that is not a number in its encoding fails with the offset of the header in the whole stream.
    @Test(
        "a bad BCD or ASCII header is invalidLengthHeader at its stream offset",
        arguments: [
            (Framing.LengthHeader.bcd2, [UInt8]([0x1A, 0x00])), (.bcd2, [0x00, 0xF0]),
            (.ascii4, Array("00A1".utf8)), (.ascii4, Array(" 012".utf8)), (.ascii4, Array("-001".utf8)),
        ])
    func invalidHeader(header: Framing.LengthHeader, bad: [UInt8]) throws {
        let framing = Framing(lengthHeader: header)
        var random = SplitMix64(seed: 5)
        let (good, frames) = Self.stream(framing, count: 3, using: &random)
        // Without compaction the offset is a buffer index; after compaction it must still count the whole stream.
        for compacting in [false, true] {
            var decoder = FrameDecoder(framing: framing)
            decoder.append(good)
            for _ in frames {
                _ = try decoder.next()
                if compacting { decoder.compact() }
            }
            decoder.append(bad)
            #expect(throws: FramingError.invalidLengthHeader(offset: good.count)) { try decoder.next() }
        }
    }

    // Zero-length frames (keep-alives) are skipped and counted; the frames around them are intact.
    @Test("zero-length frames are skipped and counted", arguments: framings)
    func emptyFrames(framing: Framing) throws {
        var random = SplitMix64(seed: 9)
        let (bytes, expected) = Self.stream(framing, count: 5, using: &random)
        var withEmpty: [UInt8] = []
        framing.appendHeader(length: 0, to: &withEmpty)
        framing.appendHeader(length: 0, to: &withEmpty)
        withEmpty += bytes
        framing.appendHeader(length: 0, to: &withEmpty)
        let whole = try Self.feed(framing, withEmpty, pieces: [withEmpty.count])
        #expect(whole.frames == expected)
        #expect(whole.decoder.emptyFrameCount == 3)
        let single = try Self.feed(framing, withEmpty, pieces: [Int](repeating: 1, count: withEmpty.count))
        #expect(single.frames == expected)
        #expect(single.decoder.emptyFrameCount == 3)
    }

    // With a TPDU, a frame shorter than the TPDU itself cannot be right.
    @Test("a TPDU frame shorter than 5 bytes is frameShorterThanTPDU", arguments: Framing.LengthHeader.allCases)
    func shorterThanTPDU(header: Framing.LengthHeader) {
        let framing = Framing(lengthHeader: header, hasTPDU: true)
        var bytes: [UInt8] = []
        framing.appendHeader(length: 3, to: &bytes)
        bytes += [0x60, 0x00, 0x01]
        var decoder = FrameDecoder(framing: framing)
        decoder.append(bytes)
        #expect(throws: FramingError.frameShorterThanTPDU(length: 3)) { try decoder.next() }
    }

    // A response frame carries the request's TPDU with source and destination swapped; the length covers it.
    @Test("appendFrame swaps the TPDU addresses for the response", arguments: Framing.LengthHeader.allCases)
    func responseTPDU(header: Framing.LengthHeader) throws {
        let framing = Framing(lengthHeader: header, hasTPDU: true)
        let message = Array("0810822000000000000004000000000000000612080000000001".utf8)
        var out: [UInt8] = []
        framing.appendFrame(message: message, requestTPDU: [0x60, 0x00, 0x01, 0x00, 0x02], to: &out)
        var expectedHeader: [UInt8] = []
        framing.appendHeader(length: message.count + 5, to: &expectedHeader)
        #expect(Array(out.prefix(header.byteCount)) == expectedHeader)
        var decoder = FrameDecoder(framing: framing)
        decoder.append(out)
        let frame = try #require(try decoder.next())
        #expect(frame.tpdu.map { Array(decoder.buffer[$0]) } == [0x60, 0x00, 0x02, 0x00, 0x01])
        #expect(Array(decoder.buffer[frame.message]) == message)
        // Without a request TPDU a default one (ID 0x60, zero addresses) is written.
        var unsolicited: [UInt8] = []
        framing.appendFrame(message: message, requestTPDU: nil, to: &unsolicited)
        #expect(Array(unsolicited[header.byteCount..<(header.byteCount + 5)]) == [0x60, 0, 0, 0, 0])
    }

    // Without TPDU framing, appendFrame writes only the header and the message.
    @Test("appendFrame without TPDU writes header and message only")
    func responseWithoutTPDU() {
        let framing = Framing(lengthHeader: .binary2)
        var out: [UInt8] = []
        framing.appendFrame(message: [1, 2, 3], requestTPDU: nil, to: &out)
        #expect(out == [0x00, 0x03, 1, 2, 3])
    }

    // compact() drops returned frames but keeps a partial one, which completes with later bytes.
    @Test("compact keeps a partial frame", arguments: framings)
    func compactKeepsPartialFrame(framing: Framing) throws {
        let expected = [50, 40, 30].map { size in
            Received(tpdu: framing.hasTPDU ? [0x60, 0, 1, 0, 2] : nil, message: (0..<size).map { UInt8($0) })
        }
        var bytes: [UInt8] = []
        for frame in expected {
            framing.appendHeader(length: frame.message.count + (frame.tpdu?.count ?? 0), to: &bytes)
            bytes += (frame.tpdu ?? []) + frame.message
        }
        let firstFrameEnd = framing.lengthHeader.byteCount + (framing.hasTPDU ? 5 : 0) + 50
        // The cut falls inside the second frame's message.
        let cut = firstFrameEnd + framing.lengthHeader.byteCount + (framing.hasTPDU ? 5 : 0) + 20
        var decoder = FrameDecoder(framing: framing)
        decoder.append(Array(bytes[..<cut]))
        let first = try #require(try decoder.next())
        #expect(Array(decoder.buffer[first.message]) == expected[0].message)
        #expect(try decoder.next() == nil)
        decoder.compact()
        #expect(decoder.pendingByteCount == cut - firstFrameEnd)
        #expect(decoder.buffer == Array(bytes[firstFrameEnd..<cut]))
        decoder.append(Array(bytes[cut...]))
        let second = try #require(try decoder.next())
        #expect(Array(decoder.buffer[second.message]) == expected[1].message)
        let third = try #require(try decoder.next())
        #expect(Array(decoder.buffer[third.message]) == expected[2].message)
        #expect(try decoder.next() == nil)
    }

    // An incomplete header or frame yields nil, not an error, and nothing is consumed.
    @Test("partial headers and frames wait for more bytes", arguments: framings)
    func partialInput(framing: Framing) throws {
        var bytes: [UInt8] = []
        framing.appendHeader(length: 10, to: &bytes)
        bytes += [UInt8](repeating: 7, count: 10)
        var decoder = FrameDecoder(framing: framing)
        for index in 0..<(bytes.count - 1) {
            decoder.append([bytes[index]])
            #expect(try decoder.next() == nil)
            #expect(decoder.pendingByteCount == index + 1)
        }
        decoder.append([bytes[bytes.count - 1]])
        #expect(try decoder.next() != nil)
    }
}
