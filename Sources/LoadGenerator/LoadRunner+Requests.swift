import ISO8583
import Network

extension LoadRunner {
    /// Sends what is due: in open loop every request whose intended time has come, on any connection with a free
    /// slot (when none has one, the backlog waits and its latency keeps counting from the intended time); in
    /// closed loop, enough to fill every connection's in-flight slots.
    func issue(now: UInt64) {
        var budget = LoadRunner.issueBatchMax
        if let schedule {
            // Nothing intended at or after the end of the measured phase goes out.
            let due = schedule.dueCount(at: min(now, endNs - 1))
            while issuedTotal < due && budget > 0 && !countReached, let connection = connectionWithFreeSlot() {
                let intendedNs = schedule.intendedNs(of: issuedTotal)
                statistics.sendLagMaximumNs = max(statistics.sendLagMaximumNs, now - min(now, intendedNs))
                send(on: connection, intendedNs: intendedNs, now: now)
                budget -= 1
            }
            return
        }
        for _ in 0..<connections.count where budget > 0 && !countReached {
            guard let connection = connectionWithFreeSlot() else { return }
            while !connection.table.isFull && budget > 0 && !countReached {
                send(on: connection, intendedNs: now, now: now)
                budget -= 1
            }
        }
    }

    /// The next open connection, round robin, that can take one more request.
    func connectionWithFreeSlot() -> ClientConnection? {
        for _ in 0..<connections.count {
            let connection = connections[nextConnection]
            nextConnection = nextConnection + 1 == connections.count ? 0 : nextConnection + 1
            if !connection.isClosed && !connection.table.isFull { return connection }
        }
        return nil
    }

    /// Picks a kind from the mix, records the request in flight and appends its frame to the connection's output.
    func send(on connection: ClientConnection, intendedNs: UInt64, now: UInt64) {
        var kind = configuration.mix.pick(&random)
        var original: InFlightRequest?
        if kind == .refund {
            original = connection.purchases.popNewest()
        } else if kind == .reversal {
            original =
                random.next(below: 2) == 0
                ? connection.purchases.popNewest() ?? connection.redeems.popNewest()
                : connection.redeems.popNewest() ?? connection.purchases.popNewest()
        }
        if (kind == .refund || kind == .reversal) && original == nil {
            kind = .purchase
            statistics.substituted += 1
        }
        let (stan, slot) = connection.table.claim()
        var entry = InFlightRequest()
        entry.stan = stan
        entry.kind = kind
        entry.measured = intendedNs >= measureStartNs
        entry.intendedNs = intendedNs
        entry.sentNs = now
        entry.transmission = transmission
        entry.cardNumber =
            original?.cardNumber
            ?? configuration.cardPool.cardNumber(
                Int(random.next(below: UInt64(configuration.cardPool.size))))
        entry.amountMinor = original?.amountMinor ?? amount(for: kind)
        entry.processingCode = kind == .reversal ? original!.processingCode : kind.processingCode
        connection.table.slots[slot] = entry
        inFlightTotal += 1
        issuedTotal += 1
        if entry.measured {
            issuedMeasured += 1
            statistics.sent += 1
            statistics.sentByKind[kind.rawValue] += 1
        }
        do {
            try fill(
                &request, kind: kind, stan: stan, card: entry.cardNumber, amount: entry.amountMinor,
                terminal: connection.terminalId, original: original)
            try configuration.framing.appendFrame(encoding: request, requestTPDU: nil, to: &connection.output)
        } catch {
            // checkDialect built every kind at start-up, so this is a bug, not bad input.
            preconditionFailure("building a \(kind) request failed: \(error)")
        }
    }

    func amount(for kind: RequestKind) -> Int64 {
        let range = configuration.amountMinorRange
        let drawn = range.lowerBound + Int64(random.next(below: UInt64(range.upperBound - range.lowerBound + 1)))
        return kind == .redeem ? max(drawn / 10, 1) : drawn
    }

    /// Fills `message` with a request in place (its buffers are reused: no allocation per request). Reversals and
    /// refunds name their original in field 90: MTI, STAN, field 7, field 32 zero-filled to 11 digits, 11 zeros.
    func fill(
        _ message: inout ISOMessage, kind: RequestKind, stan: UInt32, card: Int64, amount: Int64,
        terminal: [UInt8], original: InFlightRequest?
    ) throws(ISOError) {
        message.removeAll(mti: MTI(kind.requestMTI)!)
        try message.set(2, integer: card)
        try message.set(3, integer: kind == .reversal ? original?.processingCode ?? 0 : kind.processingCode)
        if kind != .balance { try message.set(4, integer: amount) }
        try message.set(7, integer: transmission)
        try message.set(11, integer: Int64(stan))
        try message.set(32, integer: configuration.acquirerId)
        try message.set(41, bytes: terminal)
        try message.set(42, configuration.merchantId)
        try message.set(49, integer: 364)
        if let original {
            writeOriginalData(original)
            try message.set(90, bytes: originalData)
        }
    }

    /// Field 90's 42 digits into the reused `originalData` buffer.
    func writeOriginalData(_ original: InFlightRequest) {
        originalData.withUnsafeMutableBufferPointer { digits in
            LoadRunner.writeDigits(200, width: 4, into: digits, at: 0)
            LoadRunner.writeDigits(Int64(original.stan), width: 6, into: digits, at: 4)
            LoadRunner.writeDigits(original.transmission, width: 10, into: digits, at: 10)
            LoadRunner.writeDigits(configuration.acquirerId, width: 11, into: digits, at: 20)
            LoadRunner.writeDigits(0, width: 11, into: digits, at: 31)
        }
    }

    static func writeDigits(_ value: Int64, width: Int, into digits: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        var remaining = value
        for position in stride(from: start + width - 1, through: start, by: -1) {
            digits[position] = UInt8(truncatingIfNeeded: 0x30 + remaining % 10)
            remaining /= 10
        }
    }
}
