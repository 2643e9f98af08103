import ISO8583

/// The request fields whose content the switch acts on: the card (2, 35), processing code, amount, key and
/// reference fields, merchant data, the enrolment profile (48), additional amounts (54), network management code
/// and original data elements (90). A dialect's codec checks, as its peers do, only lengths, digits in `n` fields
/// and printable bytes elsewhere, so that a field the switch merely carries (44 holding `_`) does not cost the
/// terminal its answer. These fields keep ISO's class for their type here: a value the ledger or a key would be
/// built from is refused (30) exactly as a strict codec would have refused it.
enum InterpretedFields {
    static let numbers = [2, 3, 4, 7, 11, 18, 32, 35, 37, 41, 42, 48, 49, 54, 70, 90]

    /// The first interpreted field whose value has a byte outside its type's class, and that byte's index in the
    /// value; nil when all are clean. Fields the codec already checked in full cost one comparison each.
    static func firstOutsideTypeClass(_ request: ISOMessage) -> (field: Int, index: Int)? {
        for field in numbers {
            if let index = request.firstByteOutsideTypeClass(field) {
                precondition(
                    index >= 0 && index < (request.value(field)?.count ?? 0), "the bad byte lies inside the field")
                return (field, index)
            }
        }
        return nil
    }
}
