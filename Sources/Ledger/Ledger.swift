/// The ledger: placeholder until issue 3 lands.
public enum LedgerPlaceholder {}
