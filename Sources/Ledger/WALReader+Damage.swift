#if canImport(Glibc)
    import Glibc
#endif

/// What the operator's override did with a damaged log: where it was cut, what was lost, what was set aside.
public struct AcceptedLogDamage: Sendable, Equatable {
    /// The refusal the override overrode (file, offset, reason with the sequences).
    public var damage: String
    /// The last sequence kept: the log continues after it.
    public var lastSequenceKept: UInt64
    /// Files renamed to `*.damaged` (segments after the cut, and a copy of the segment that was cut).
    public var setAside: [String]
}

/// `--accept-log-damage`: start with the longest sound part of the log instead of refusing.
extension WALReader {
    /// Keeps the log up to the last sound point the scan reached — the records before the damage, all already
    /// replayed — and sets the rest aside as `*.damaged` files for forensic recovery; what follows the damage is
    /// not replayed, even where intact. When the sound part ends before the snapshot, the snapshot is the state
    /// and the log starts again after it. The segment that is kept last is repaired so the next open is clean:
    /// zeros after the cut, its allocated size, a header whose mark is the cut and that names no successor.
    func keepSoundPart(
        cutAt damage: LedgerError, segments: [Segment], state: ScanState
    ) throws(LedgerError) -> Outcome {
        precondition(acceptsDamage && !readOnly, "only an open with the operator's override repairs")
        var setAside: [String] = []
        var kept = state
        kept.tornTail = nil
        if let sound = state.sound, state.lastSequence >= state.afterSequence {
            for segment in segments.dropFirst(sound.segmentIndex + 1) { setAside.append(try moveAside(segment.path)) }
            if case .damagedLog(let file, _, _) = damage, file == sound.path {
                setAside.append(try copyAside(sound.path))
            }
            kept.sound?.header = try repairCut(sound, lastSequence: state.lastSequence)
        } else {
            for segment in segments { setAside.append(try moveAside(segment.path)) }
            kept.sound = nil
            kept.expectedSequence = nil
            kept.lastCRC = nil
        }
        try FileIO.syncDirectory(directory)
        var result = outcome(kept)
        precondition(result.position.nextSequence >= 1, "the log continues at a positive sequence")
        precondition(kept.tornTail == nil, "a cut log has no torn tail left")
        result.acceptedDamage = AcceptedLogDamage(
            damage: damage.description, lastSequenceKept: result.position.nextSequence - 1, setAside: setAside)
        return result
    }

    /// Zeros after the cut, the allocated size back, and a header that acknowledges exactly the records kept. A
    /// segment written before segment headers gets no header (its records start at 0); the writer starts a headed
    /// segment after it.
    private func repairCut(_ sound: SoundPoint, lastSequence: UInt64) throws(LedgerError) -> WALSegment.Header {
        precondition(sound.end >= 0, "a cut inside the segment")
        let descriptor = try FileIO.openFile(sound.path, flags: O_RDWR)
        defer { FileIO.closeFile(descriptor) }
        let size = try FileIO.fileSize(descriptor, path: sound.path)
        if size > sound.end { try FileIO.writeZeros(descriptor, range: sound.end..<size, path: sound.path) }
        try FileIO.allocate(descriptor, bytes: max(sound.header.segmentBytes, size), path: sound.path)
        if sound.isLegacy {
            try FileIO.syncAll(descriptor, path: sound.path)
            return sound.header
        }
        var header = sound.header
        header.acknowledgedSequence = lastSequence
        header.acknowledgedEnd = sound.end
        header.nextFirstSequence = 0
        header.generation += 1
        let written = try WALSegment.writeBothSlots(header, descriptor: descriptor, path: sound.path)
        try FileIO.syncAll(descriptor, path: sound.path)
        precondition(
            written.acknowledgedSequence == lastSequence && written.nextFirstSequence == 0, "the cut is the mark")
        return written
    }

    /// Renames a segment out of the log (`.damaged`, or `.damaged-N` when taken); returns the new path.
    private func moveAside(_ path: String) throws(LedgerError) -> String {
        let target = try freeName(for: path)
        precondition(target != path, "a segment set aside gets a name of its own")
        try FileIO.rename(path, target)
        return target
    }

    /// Copies a segment out of the log before it is repaired, so nothing the damage left is destroyed.
    private func copyAside(_ path: String) throws(LedgerError) -> String {
        let target = try freeName(for: path)
        precondition(target.hasPrefix(directory + "/"), "a copy set aside stays in the shard's directory")
        let bytes = try FileIO.readWholeFile(path, bytesMax: Self.segmentFileBytesMax)
        let name = String(target.dropFirst(directory.count + 1))
        try bytes.withBytes { buffer throws(LedgerError) in
            try FileIO.writeFileAtomically(directory: directory, name: name, buffer)
        }
        return target
    }

    /// `path.damaged`, or the first free `path.damaged-N` (N < 1000: a directory with more is not ours to fill).
    private func freeName(for path: String) throws(LedgerError) -> String {
        if !FileIO.exists(path + ".damaged") { return path + ".damaged" }
        for number in 2..<1000 where !FileIO.exists(path + ".damaged-\(number)") { return path + ".damaged-\(number)" }
        throw .io(operation: "set aside (999 damaged copies exist)", path: path, errno: EEXIST)
    }
}
