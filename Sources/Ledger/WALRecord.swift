import CCRC32C

/// Framing of one write-ahead log record (all little-endian, records 8-byte aligned):
///
///     0  crc32c             UInt32  over bytes 4 ..< 32 + bodyLength
///     4  bodyLength         UInt32
///     8  sequence           UInt64  per shard, contiguous from 1
///    16  previousCRC        UInt32  the crc32c of the record before (a chain across segments)
///    20  recordType         UInt8   1 = command
///    21  reserved           3 bytes, zero
///    24  batchFirstSequence UInt64  first sequence of the group commit this record belongs to
///    32  body               the command, its time and its outcome (see `WALRecord.encodeBody`); the kind's fields,
///                           then the loyalty decision when option 64 is set (rules version, the member's
///                           state after and on a purchase what it did to it: the decider's bytes, which
///                           the decider judges when the record is applied), then the terminal
///                           reference (32 bytes) when option 16 is set, the lot terms with option 128, the
///                           admin stamp (24 bytes) with option 0x2000 (an admin API change), then by the body's
///                           flags the undone amounts, the member's key and last the sale (WALRecord+Sale.swift)
///
/// A gift card's issue or load (kind 18) and payment or inquiry (kind 19) carry amount (Int64) and currency
/// (UInt16, 6 zero bytes) as their kind's fields.
///
/// `batchFirstSequence` lets recovery tell damage in the last batch (a torn write: truncate) from damage
/// in an earlier, acknowledged batch (refuse to start).
enum WALRecord {
    static let headerBytes = 32
    /// The largest body: a decided purchase with every option, the member's key and a twelve-line sale tail is
    /// about 1,000 bytes (WALRecord+Sale.swift); the batch's room check and `LogTail`'s buffer follow it.
    static let bodyBytesMax = 1024
    static let recordBytesMax = headerBytes + bodyBytesMax
    static let recordTypeCommand: UInt8 = 1
    /// Body offsets of the key and the card hash (fixed for every kind), read unchecked only as a prefetch hint.
    static let keyOffset = 16
    /// Body offset of the record's time (fixed for every kind): recovery reads it from records it does not replay.
    static let timeOffset = 8
    static let cardHashOffset = 64
    static let prefetchBytes = 80
    /// A pay record's policy flags: the purchase total (0: none) follows the flags byte.
    static let payFlagPurchaseTotal: UInt8 = 4

    struct Header: Equatable {
        var crc: UInt32
        var bodyLength: Int
        var sequence: UInt64
        var previousCRC: UInt32
        var recordType: UInt8
        var batchFirstSequence: UInt64
    }

    /// A decoded record body: the command as applied, and the rest of what the record says (its time and the
    /// outcome recorded for checking replay: `Facts`).
    struct Body {
        var command: ShardCommand
        var facts: Facts

        init(
            command: ShardCommand, timeMs: Int64, status: LedgerStatus, balanceAfter: AssetAmounts,
            undone: UndoneAmounts? = nil, member: CardHash? = nil, sale: SaleDetail? = nil,
            saleDebited: AssetAmounts = .zero
        ) {
            self.command = command
            facts = Facts(
                timeMs: timeMs, status: status, balanceAfter: balanceAfter, undone: undone, member: member, sale: sale,
                saleDebited: saleDebited)
        }

        var timeMs: Int64 {
            get { facts.timeMs }
            set { facts.timeMs = newValue }
        }
        var status: LedgerStatus {
            get { facts.status }
            set { facts.status = newValue }
        }
        var balanceAfter: AssetAmounts {
            get { facts.balanceAfter }
            set { facts.balanceAfter = newValue }
        }
        var undone: UndoneAmounts? {
            get { facts.undone }
            set { facts.undone = newValue }
        }
        var member: CardHash? {
            get { facts.member }
            set { facts.member = newValue }
        }
        var sale: SaleDetail? {
            get { facts.sale }
            set { facts.sale = newValue }
        }
        var saleDebited: AssetAmounts {
            get { facts.saleDebited }
            set { facts.saleDebited = newValue }
        }
    }

    /// What a record says besides its command: the shard encodes a record from the command it applied and these,
    /// without a `Body` holding a copy of the 792-byte command.
    struct Facts {
        var timeMs: Int64
        var status: LedgerStatus
        var balanceAfter: AssetAmounts
        /// What an approved reversal or refund gave back and took back (the undone change, as its reply said), so
        /// its event tells the amount without recomputing it; nil in records written before it was kept.
        var undone: UndoneAmounts? = nil
        /// The member's key (its first card on its shard, the admin API's member id) when the record's card is
        /// another of its cards — a linked, replacing or forwarding card — so its events name the member; nil when
        /// the card is the member's own first card, and in records written before it was kept.
        var member: CardHash? = nil
        /// Where a purchase, payment, refund or reversal happened and its basket (WALRecord+Sale.swift); nil when
        /// the request had none, and in records written before it was kept.
        var sale: SaleDetail? = nil
        /// With a sale: what the request took from the member (a payment's spending, which its record does not
        /// otherwise say: replay plans it again from the balances).
        var saleDebited: AssetAmounts = .zero
    }

    /// The amounts an undo moved: `credited` returned to the member, `debited` taken back.
    struct UndoneAmounts: Equatable {
        var credited: AssetAmounts
        var debited: AssetAmounts
    }

    /// The body's flags byte (byte 5, zero in records written before it was used): bit 0, the undone amounts
    /// follow the admin stamp at the end of the body; bit 2 (`bodyFlagSale`), the sale tail ends it.
    static let bodyFlagUndone: UInt8 = 1
    /// Bit 1: the member's key (`Body.member`, 16 bytes) ends the body, after the undone amounts.
    static let bodyFlagMember: UInt8 = 2

    static func alignedLength(bodyLength: Int) -> Int {
        precondition(bodyLength > 0 && bodyLength <= bodyBytesMax, "a record's body length is checked first")
        let aligned = (headerBytes + bodyLength + 7) & ~7
        precondition(aligned % 8 == 0 && aligned <= recordBytesMax + 7, "a record is 8-byte aligned")
        return aligned
    }

    static func checksum(_ record: UnsafeRawPointer, bodyLength: Int) -> UInt32 {
        precondition(bodyLength > 0 && bodyLength <= bodyBytesMax, "a record's body length is checked first")
        return ccrc32c_update(0, record + 4, headerBytes - 4 + bodyLength)
    }

    static func writeHeader(_ header: Header, at base: UnsafeMutableRawPointer) {
        precondition(header.bodyLength > 0 && header.bodyLength <= bodyBytesMax, "a record body's length")
        precondition(header.recordType == recordTypeCommand, "only command records are written")
        precondition(
            header.sequence >= 1 && header.batchFirstSequence >= 1 && header.batchFirstSequence <= header.sequence,
            "a record's sequence is in its batch")
        var writer = ByteWriter(base: base, capacity: headerBytes)
        writer.put(UInt32(0))
        writer.put(UInt32(header.bodyLength))
        writer.put(header.sequence)
        writer.put(header.previousCRC)
        writer.put(header.recordType)
        writer.put(UInt8(0))
        writer.put(UInt16(0))
        writer.put(header.batchFirstSequence)
        precondition(writer.offset == headerBytes, "a record header is 32 bytes")
        let crc = checksum(base, bodyLength: header.bodyLength)
        base.storeBytes(of: crc.littleEndian, as: UInt32.self)
        assert(readHeader(UnsafeRawPointer(base)).map { $0 == Header(
            crc: crc, bodyLength: header.bodyLength, sequence: header.sequence, previousCRC: header.previousCRC,
            recordType: header.recordType, batchFirstSequence: header.batchFirstSequence) } == true,
            "a record header reads back as written")
    }

    /// Parses a header whose 32 bytes are available; nil when its fields are out of range.
    static func readHeader(_ base: UnsafeRawPointer) -> Header? {
        var reader = ByteReader(base: base, count: headerBytes)
        guard let crc = reader.get(UInt32.self), let length = reader.get(UInt32.self),
            let sequence = reader.get(UInt64.self), let previous = reader.get(UInt32.self),
            let type = reader.get(UInt8.self), let pad1 = reader.get(UInt8.self), let pad2 = reader.get(UInt16.self),
            let batchFirst = reader.get(UInt64.self)
        else { return nil }
        guard type == recordTypeCommand, pad1 == 0, pad2 == 0, length > 0, length <= UInt32(bodyBytesMax),
            sequence > 0, batchFirst > 0, batchFirst <= sequence
        else { return nil }
        precondition(reader.offset == headerBytes, "a record header is 32 bytes")
        return Header(
            crc: crc, bodyLength: Int(length), sequence: sequence, previousCRC: previous, recordType: type,
            batchFirstSequence: batchFirst)
    }

    // MARK: Body

    /// Encodes the body at `base` (which has `bodyBytesMax` bytes); returns its length.
    static func encodeBody(_ body: Body, at base: UnsafeMutableRawPointer) -> Int {
        encodeBody(body.command, body.facts, at: base)
    }

    /// Encodes a body from its command and the rest, so the shard writes its record straight from the command it
    /// applied (building a `Body` copied the 792-byte command once more per record).
    static func encodeBody(
        _ command: ShardCommand, _ body: Facts, at base: UnsafeMutableRawPointer
    ) -> Int {
        precondition(command.kind != .none && command.kind != .inspect, "only a command is logged")
        precondition(body.sale != nil || body.saleDebited == .zero, "debited amounts come with a sale")
        var writer = ByteWriter(base: base, capacity: bodyBytesMax)
        let options = command.options.logged
        writer.put(command.kind.rawValue)
        writer.put(UInt8(truncatingIfNeeded: options))
        writer.put(command.asset.rawValue)
        writer.put(body.status.rawValue)
        // The merchant a hold or capture names is not logged (the masks it resolved to are), nor is its bit.
        writer.put(UInt8(truncatingIfNeeded: options >> 8))
        writer.put(
            (body.undone == nil ? 0 : bodyFlagUndone) | (body.member == nil ? 0 : bodyFlagMember)
                | (body.sale == nil ? 0 : bodyFlagSale))
        writer.put(UInt16(0))
        writer.put(body.timeMs)
        writer.put(command.key)
        writer.put(command.digest)
        writer.put(command.cardHash)
        writer.put(command.masked.packed)
        writer.put(body.balanceAfter)
        precondition(writer.offset == cardHashOffset + 16 + 8 + 16, "the body's fixed fields")
        precondition(
            !command.options.contains(.hasReference) || command.reference != .zero, "a reference with its bit")
        encodeKindFields(command, &writer)
        if command.hasSpending {
            precondition(ShardCommand.carriesSpending(command), "spending masks on a command that cannot carry them")
            let masks = command.spending
            writer.put(masks.allowed.points)
            writer.put(masks.allowed.credit)
            writer.put(masks.settles.points)
            writer.put(masks.settles.credit)
            writer.put(masks.spentAtTag)
            writer.put(masks.pointValueMinor)
        }
        if command.isDecided {
            precondition(canCarryDecision(command), "loyalty decision on a command that cannot carry one")
            encodeDecision(command, &writer)
        }
        if command.options.contains(.hasTerminalReference) {
            precondition(
                ShardCommand.keepsTerminalReference(command.kind) && command.terminalReference != .zero,
                "terminal reference on a command that cannot keep one")
            writer.put(command.terminalReference)
        }
        encodeLotTerms(command, &writer)
        if command.options.contains(.admin) {
            precondition(command.admin.operation != 0, "an admin record without its operation id")
            writer.put(command.admin.operation)
            writer.put(command.admin.actor)
            writer.put(command.admin.role)
            writer.put(command.admin.reason)
            writer.put(UInt16(0))
            writer.put(UInt32(0))
        }
        if let undone = body.undone {
            precondition(command.kind == .reverse || command.kind == .refund, "undone amounts on an undo only")
            writer.put(undone.credited)
            writer.put(undone.debited)
        }
        if let member = body.member {
            precondition(member != command.cardHash && member != CardHash(high: 0, low: 0), "a member key of its own")
            writer.put(member)
        }
        if let sale = body.sale {
            precondition(canCarrySale(command), "a sale on a command that cannot keep one")
            encodeSale(sale, debited: body.saleDebited, &writer)
        }
        precondition(writer.offset > 0 && writer.offset <= bodyBytesMax, "a record body fits bodyBytesMax")
        return writer.offset
    }

    private static func encodeKindFields(_ command: ShardCommand, _ writer: inout ByteWriter) {
        let start = writer.offset
        defer { precondition(writer.offset >= start && writer.offset <= bodyBytesMax, "a kind's fields fit the body") }
        switch command.kind {
        case .earn, .transferIn, .transferInNewCard:
            writer.put(command.amounts)
            writer.put(command.loggedReference)
            if command.kind.isTransferIn { writer.put(command.originalKey) }
            if command.options.contains(.hasReference) { writer.put(command.reference) }
        case .redeem, .hold:
            writer.put(command.amounts[command.asset])
            writer.put(command.loggedReference)
            if command.isPay {
                precondition(command.kind == .redeem, "payment terms on a hold")
                var terms = command.paymentTerms
                precondition(terms.flags & payFlagPurchaseTotal == 0, "the decider set the ledger's terms bit")
                terms.flags |= payFlagPurchaseTotal
                writer.put(terms)
                writer.put(command.purchaseTotalMinor ?? 0)
            }
        case .capture, .void, .reverse, .refund:
            writer.put(command.originalKey)
            writer.put(command.loggedReference)
        case .replace, .link:
            writer.put(command.otherCardHash)
            writer.put(command.otherMasked.packed)
        case .attach:
            writer.put(command.otherCardHash)
            writer.put(command.otherMasked.packed)
            writer.put(command.cardKind.rawValue)
            writer.put(UInt8(command.replacesCard ? 1 : 0))
            writer.put(UInt16(0))
            writer.put(UInt32(0))
        case .forwardCard:
            precondition(command.sourceShard >= 0 && command.sourceShard <= Int32(UInt16.max), "a source shard index")
            writer.put(command.originalKey)
            writer.put(UInt32(command.sourceShard))
            writer.put(command.cardKind.rawValue)
            writer.put(UInt8(0))
            writer.put(UInt16(0))
        case .transferDone:
            writer.put(command.loggedReference)
        case .adjust:
            writer.put(command.amounts)
        case .giftLoad, .giftUse:
            precondition(command.amountMinor >= 0 && command.currencyCode <= 999, "a gift amount and currency as decoded")
            writer.put(command.amountMinor)
            writer.put(command.currencyCode)
            writer.put(UInt16(0))
            writer.put(UInt32(0))
        case .engage:
            precondition(command.engagementType.high != 0, "an engagement type as decoded")
            writer.put(command.engagementType.high)
            writer.put(command.engagementType.low)
        case .lotteryEntry:
            encodeLotteryPurchase(command.lottery, &writer)
        case .inspect:
            preconditionFailure("an inspection is never logged")
        case .profile:
            writer.put(command.birthMonth)
            writer.put(command.birthDay)
            writer.put(command.otherCardHash)
            writer.put(command.otherMasked.packed)
        case .expireLots:
            encodeSweepRange(command, &writer)
        case .notice:
            encodeNotice(command, &writer)
        case .birthday:
            encodeBirthday(command, &writer)
        case .enrol, .balance, .block, .none:
            break
        }
    }

    /// Decodes a body whose checksum already matched; nil when it is not a well-formed command.
    static func decodeBody(_ base: UnsafeRawPointer, length: Int) -> Body? {
        var body = Body(command: ShardCommand(kind: .none, key: .zero), timeMs: 0, status: .approved, balanceAfter: .zero)
        return decodeBody(base, length: length, into: &body) ? body : nil
    }

    /// The same into `body`, every field of it written (a reader decoding record after record reuses one: the
    /// ~1 KB body is then not built and copied out per record). False, `body` unspecified, when it is not a
    /// well-formed command.
    static func decodeBody(_ base: UnsafeRawPointer, length: Int, into body: inout Body) -> Bool {
        var reader = ByteReader(base: base, count: length)
        guard let kindRaw = reader.get(UInt8.self), let kind = CommandKind(rawValue: kindRaw), kind != .none,
            kind != .inspect,
            let optionsLow = reader.get(UInt8.self), let assetRaw = reader.get(UInt8.self),
            let asset = Asset(rawValue: assetRaw), let statusRaw = reader.get(UInt8.self),
            let status = LedgerStatus(rawValue: statusRaw), let optionsHigh = reader.get(UInt8.self),
            let flags = reader.get(UInt8.self), flags & ~(bodyFlagUndone | bodyFlagMember | bodyFlagSale) == 0, reader.get(UInt16.self) == 0,
            let timeMs = reader.get(Int64.self), let key = reader.key(), let digest = reader.digest(),
            let cardHash = reader.cardHash(), let masked = reader.get(UInt64.self),
            let balanceAfter = reader.amounts(),
            let options = CommandOptions(logged: UInt16(optionsHigh) << 8 | UInt16(optionsLow), kind: kind)
        else { return false }
        precondition(reader.offset == cardHashOffset + 16 + 8 + 16, "the body's fixed fields")
        body.command = ShardCommand(kind: kind, key: key)
        body.command.options = options
        body.command.asset = asset
        body.command.digest = digest
        body.command.cardHash = cardHash
        body.command.masked = MaskedCard(packed: masked)
        guard decodeKindFields(&body.command, &reader), decodeSpending(&body.command, &reader),
            decodeDecision(&body.command, &reader), decodeTerminalReference(&body.command, &reader),
            decodeLotTerms(&body.command, &reader), decodeAdmin(&body.command, &reader)
        else { return false }
        body.timeMs = timeMs
        body.status = status
        body.balanceAfter = balanceAfter
        body.undone = nil
        if flags & bodyFlagUndone != 0 {
            guard kind == .reverse || kind == .refund, let credited = reader.amounts(), let debited = reader.amounts()
            else { return false }
            body.undone = UndoneAmounts(credited: credited, debited: debited)
        }
        body.member = nil
        if flags & bodyFlagMember != 0 {
            guard let key = reader.cardHash(), key != cardHash, key != CardHash(high: 0, low: 0) else { return false }
            body.member = key
        }
        body.sale = nil
        body.saleDebited = .zero
        if flags & bodyFlagSale != 0 {
            guard canCarrySale(body.command), let decoded = decodeSale(&reader) else { return false }
            body.sale = decoded.0
            body.saleDebited = decoded.debited
        }
        guard reader.offset == length else { return false }
        precondition(body.command.kind == kind && body.command.kind != .none, "the body decoded its kind")
        precondition(
            options.contains(.admin) == (body.command.admin.operation != 0)
                && options.contains(.hasTerminalReference) == (body.command.terminalReference != .zero),
            "an option bit and its field come together")
        precondition(
            options.contains(.hasLotTerms) || body.command.lotTerms == .neverExpires, "lot terms only with their bit")
        precondition(body.undone == nil || kind == .reverse || kind == .refund, "undone amounts on an undo only")
        return true
    }

    /// The admin stamp (option `admin`), last in the body: operation id (never zero), actor, role, reason, six
    /// zero bytes.
    private static func decodeAdmin(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard command.options.contains(.admin) else { return true }
        guard let operation = reader.get(UInt64.self), operation != 0, let actor = reader.get(UInt64.self),
            let role = reader.get(UInt8.self), let reason = reader.get(UInt8.self), reader.get(UInt16.self) == 0,
            reader.get(UInt32.self) == 0
        else { return false }
        command.admin = AdminStamp(operation: operation, actor: actor, role: role, reason: reason)
        precondition(command.admin.operation != 0, "a decoded admin stamp has its operation id")
        return true
    }

    /// The terminal reference after the kind's fields, present only when its option bit says so and only on a
    /// kind a reversal can undo (records written before it existed simply lack the bit).
    private static func decodeTerminalReference(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard command.options.contains(.hasTerminalReference) else { return true }
        guard ShardCommand.keepsTerminalReference(command.kind), let name = reader.key(), name != .zero else {
            return false
        }
        command.terminalReference = name
        precondition(command.terminalReference != .zero, "a decoded terminal reference is not zero")
        return true
    }

    private static func decodeKindFields(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        switch command.kind {
        case .earn, .transferIn, .transferInNewCard:
            guard let amounts = reader.amounts(), let reference = reader.get(Int64.self) else { return false }
            command.amounts = amounts
            guard command.setLoggedReference(reference) else { return false }
            if command.kind.isTransferIn {
                guard let original = reader.key() else { return false }
                command.originalKey = original
            }
            if command.options.contains(.hasReference) {
                guard let reference = reader.key(), reference != .zero else { return false }
                command.reference = reference
            }
        case .redeem, .hold:
            guard let amount = reader.get(Int64.self), let reference = reader.get(Int64.self) else { return false }
            command.amounts[command.asset] = amount
            guard command.setLoggedReference(reference) else { return false }
            if command.isPay {
                guard command.kind == .redeem, var terms = reader.get(PaymentTerms.self) else { return false }
                let flags = terms.flags
                terms.flags &= ~payFlagPurchaseTotal
                command.paymentTerms = terms
                // Before the flag existed the share cap was taken of the amount to pay itself: replay it so.
                command.purchaseTotalMinor = reference
                if flags & payFlagPurchaseTotal != 0 {
                    guard let total = reader.get(Int64.self), total >= 0 else { return false }
                    command.purchaseTotalMinor = total == 0 ? nil : total
                }
            }
        case .capture, .void, .reverse, .refund:
            guard let original = reader.key(), let reference = reader.get(Int64.self) else { return false }
            command.originalKey = original
            guard command.setLoggedReference(reference) else { return false }
        case .replace, .link:
            guard let other = reader.cardHash(), let masked = reader.get(UInt64.self) else { return false }
            command.otherCardHash = other
            command.otherMasked = MaskedCard(packed: masked)
        case .attach:
            guard let other = reader.cardHash(), let masked = reader.get(UInt64.self),
                let kind = reader.get(UInt8.self).flatMap(CardKind.init(rawValue:)),
                let replaces = reader.get(UInt8.self), replaces <= 1, reader.get(UInt16.self) == 0,
                reader.get(UInt32.self) == 0
            else { return false }
            command.replacesCard = replaces == 1
            command.otherCardHash = other
            command.otherMasked = MaskedCard(packed: masked)
            command.cardKind = kind
        case .forwardCard:
            guard let original = reader.key(), let source = reader.get(UInt32.self), source <= UInt32(UInt16.max),
                let kind = reader.get(UInt8.self).flatMap(CardKind.init(rawValue:)), reader.get(UInt8.self) == 0,
                reader.get(UInt16.self) == 0
            else { return false }
            command.originalKey = original
            command.sourceShard = Int32(source)
            command.cardKind = kind
            precondition(command.sourceShard >= 0, "a decoded source shard is not negative")
        case .transferDone:
            guard let reference = reader.get(Int64.self), command.setLoggedReference(reference) else { return false }
        case .adjust:
            guard let amounts = reader.amounts(), amounts[command.asset] != 0,
                amounts[command.asset == .points ? .credit : .points] == 0
            else { return false }
            command.amounts = amounts
        case .giftLoad, .giftUse:
            // A load adds something; a use pays something or (0) asks the balance. An issue names its currency.
            guard let amount = reader.get(Int64.self), amount >= 0, amount <= AccountTable.balanceMagnitudeMax,
                amount > 0 || command.kind == .giftUse, let currency = reader.get(UInt16.self), currency <= 999,
                reader.get(UInt16.self) == 0, reader.get(UInt32.self) == 0
            else { return false }
            command.amountMinor = amount
            command.currencyCode = currency
            precondition(command.amountMinor >= 0 && command.currencyCode <= 999, "a decoded gift amount in range")
        case .engage:
            guard let high = reader.get(UInt64.self), let low = reader.get(UInt64.self), high != 0 else { return false }
            command.engagementType = EngagementType(high: high, low: low)
        case .lotteryEntry:
            guard let purchase = decodeLotteryPurchase(&reader) else { return false }
            command.lottery = purchase
        case .inspect:
            return false
        case .profile:
            guard let month = reader.get(UInt8.self), let day = reader.get(UInt8.self),
                let referrer = reader.cardHash(), let masked = reader.get(UInt64.self)
            else { return false }
            command.birthMonth = month
            command.birthDay = day
            command.otherCardHash = referrer
            command.otherMasked = MaskedCard(packed: masked)
        case .expireLots:
            return decodeSweepRange(&command, &reader)
        case .notice:
            return decodeNotice(&command, &reader)
        case .birthday:
            return decodeBirthday(&command, &reader)
        case .enrol, .balance, .block, .none:
            break
        }
        return true
    }

    // MARK: Loyalty decision

    /// Purchases carry their decision; refunds and reversals carry the aggregates after undoing one.
    static func canCarryDecision(_ command: ShardCommand) -> Bool {
        switch command.kind {
        case .earn: command.isPurchase
        case .reverse, .refund, .balance, .engage: true
        default: false
        }
    }

    private static func encodeDecision(_ command: ShardCommand, _ writer: inout ByteWriter) {
        precondition(command.isDecided && canCarryDecision(command), "only a decided command logs a decision")
        writer.put(command.rulesVersion)
        if command.kind == .engage {
            encodeEngagementDecision(command, &writer)
            return
        }
        if command.kind == .balance {
            // A balance inquiry decides only the tier it shows.
            writer.put(command.decidedTier)
            return
        }
        writer.put(command.memberAfter)
        if command.kind == .earn {
            precondition(command.referrerBonusPoints >= 0, "a referrer's bonus is not negative")
            writer.put(command.purchaseEffect)
            writer.put(command.referrerBonusPoints)
        }
    }

    private static func decodeDecision(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard command.isDecided else { return true }
        if command.kind == .engage { return decodeEngagementDecision(&command, &reader) }
        if command.kind == .balance {
            guard let version = reader.get(Int64.self), let tier = reader.get(UInt8.self) else { return false }
            command.rulesVersion = version
            command.decidedTier = tier
            return true
        }
        guard canCarryDecision(command), let version = reader.get(Int64.self),
            let member = reader.get(LoggedMemberState.self)
        else { return false }
        command.rulesVersion = version
        command.memberAfter = member
        if command.kind == .earn {
            guard let effect = reader.get(LoggedPurchaseEffect.self), let bonus = reader.get(Int64.self), bonus >= 0
            else { return false }
            command.purchaseEffect = effect
            command.referrerBonusPoints = bonus
        }
        precondition(canCarryDecision(command) && command.referrerBonusPoints >= 0, "a decoded decision on its kind")
        return true
    }

    /// A payment's, hold's or capture's spending masks (option 512), after the kind's fields.
    private static func decodeSpending(_ command: inout ShardCommand, _ reader: inout ByteReader) -> Bool {
        guard command.hasSpending else { return true }
        guard ShardCommand.carriesSpending(command), let allowedPoints = reader.get(UInt64.self),
            let allowedCredit = reader.get(UInt64.self), let settlesPoints = reader.get(UInt64.self),
            let settlesCredit = reader.get(UInt64.self), let tag = reader.get(UInt32.self),
            let pointValue = reader.get(Int64.self), (1...1_000_000_000).contains(pointValue),
            settlesPoints & ~allowedPoints == 0, settlesCredit & ~allowedCredit == 0
        else { return false }
        command.spending = SpendingMasks(
            allowed: (allowedPoints, allowedCredit), settles: (settlesPoints, settlesCredit), spentAtTag: tag,
            pointValueMinor: pointValue)
        precondition(command.spending.pointValueMinor >= 1, "decoded spending masks keep their point value")
        return true
    }
}
