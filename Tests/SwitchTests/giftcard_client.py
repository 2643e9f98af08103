#!/usr/bin/env python3
"""Independent check of a gift card at a terminal with pyiso8583 (pip install pyiso8583==4.0.1), not our codec.

Usage: giftcard_client.py PORT PAN
The card must be a gift card issued with 1000 in currency 978. Pays 400 of it (0200/900000), asks its balance
(0200/310000), pays in another currency (57) and prints {"checks": [...]} like contract_client.py.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contract_client import Session, amounts, echoes, request  # noqa: E402


def run(session, pan):
    doc = request("0200", 901, "900000", 400, card=pan)
    _, decoded = session.exchange(doc)
    values, entries, whole = amounts(decoded)
    session.check("gift payment 0200/900000 approved 00", decoded["t"] == "0210" and decoded.get("39") == "00", decoded)
    session.check("gift payment shows 02 in 978: 600 left", whole and values == {"02/978": 600}, entries)
    echoes(session, "gift payment", doc, decoded)
    _, decoded = session.exchange(request("0200", 902, "310000", card=pan))
    values, entries, whole = amounts(decoded)
    session.check("gift balance inquiry 00, field 54 02/978 C 600", decoded.get("39") == "00" and whole
                  and values == {"02/978": 600} and entries[0][7] == "C", entries)
    other = request("0200", 903, "900000", 100, card=pan, extra={"49": "840"})
    _, decoded = session.exchange(other)
    session.check("gift payment in another currency is 57", decoded.get("39") == "57", decoded)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        session = Session(int(sys.argv[1]))
    except OSError as error:
        print("cannot connect: %s" % error, file=sys.stderr)
        return 2
    try:
        run(session, sys.argv[2])
    except Exception as error:  # noqa: BLE001 - reported as a failed check, the session stops
        session.check("session ran to the end", False, repr(error))
    print(json.dumps({"checks": session.checks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
