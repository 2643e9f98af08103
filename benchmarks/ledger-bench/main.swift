print("ledger-bench: not written yet")
