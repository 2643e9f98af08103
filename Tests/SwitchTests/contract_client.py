#!/usr/bin/env python3
"""Independent check of wire contract v1 with pyiso8583 (pip install pyiso8583==4.0.1), not our codec.

Usage: contract_client.py PORT [--tls CA_FILE]
Runs a scripted terminal session against 127.0.0.1:PORT (over TLS, verifying the switch against CA_FILE, with
--tls) and prints one JSON object:
{"checks": [{"name": ..., "ok": true|false, "detail": ...}, ...]}. Exit status 0 when it could run the session
(the checks themselves say pass or fail), 2 on usage or connection problems.
"""
import copy
import time
import json
import socket
import ssl
import struct
import sys

import iso8583
from iso8583.specs import default as pyiso_default

SPEC = copy.deepcopy(pyiso_default)
# Wire contract v1: field 54 is an..120 as ISO 8583:1987 says (pyiso8583 allows 240).
SPEC["54"]["max_len"] = 120

TERMINAL = "PYTERM01"
ACQUIRER = "87654321"
# Now (UTC): offline advices must be recent, and fields 12/13 are the sale's local time (the switch's default zone is UTC).
TRANSMISSION = time.strftime("%m%d%H%M%S", time.gmtime())
CARD = "6037999900000042"
ECHOED = ["2", "3", "4", "7", "11", "12", "13", "37", "41", "42", "49"]


class Session:
    def __init__(self, port, authority=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if authority is not None:
            context = ssl.create_default_context(cafile=authority)
            context.check_hostname = False
            self.sock = context.wrap_socket(self.sock)
        self.buffer = b""
        self.checks = []

    def check(self, name, ok, detail=""):
        self.checks.append({"name": name, "ok": bool(ok), "detail": str(detail)})

    def receive_exact(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the switch closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def exchange(self, doc):
        raw, _ = iso8583.encode(copy.deepcopy(doc), SPEC)
        self.sock.sendall(struct.pack(">H", len(raw)) + bytes(raw))
        (length,) = struct.unpack(">H", self.receive_exact(2))
        response = self.receive_exact(length)
        decoded, _ = iso8583.decode(bytearray(response), SPEC)
        return response, decoded


def request(mti, stan, processing=None, amount=None, card=CARD, original=None, extra=None):
    doc = {"t": mti, "7": TRANSMISSION, "11": "%06d" % stan, "12": TRANSMISSION[4:], "13": TRANSMISSION[:4], "32": ACQUIRER, "41": TERMINAL}
    if card is not None:
        doc["2"] = card
    if processing is not None:
        doc["3"] = processing
    if amount is not None:
        doc["4"] = "%012d" % amount
    if mti != "0800":
        doc.update({"18": "5812", "22": "051", "25": "00", "37": "PY%010d" % stan, "42": "PYMERCHANT00001", "49": "978"})
    if original is not None:
        doc["90"] = original
    if extra:
        doc.update(extra)
    return doc


def original_data(mti, stan):
    return mti + "%06d" % stan + TRANSMISSION + ACQUIRER.zfill(11) + "0" * 11


def amounts(decoded):
    text = decoded.get("54", "")
    entries = [text[i:i + 20] for i in range(0, len(text), 20)]
    values = {}
    for entry in entries:
        sign = 1 if entry[7] == "C" else -1
        values[entry[2:4] + "/" + entry[4:7]] = sign * int(entry[8:])
    return values, entries, len(text) % 20 == 0


def echoes(session, name, doc, decoded):
    for field in ECHOED:
        if field in doc:
            session.check("%s echoes field %s" % (name, field), decoded.get(field) == doc[field],
                          "%r vs %r" % (decoded.get(field), doc[field]))


def run(session):
    sign_on = request("0800", 1, card=None, extra={"70": "001"})
    _, decoded = session.exchange(sign_on)
    session.check("0800 sign-on gets 0810 00", decoded["t"] == "0810" and decoded.get("39") == "00", decoded)

    purchase = request("0200", 2, "000000", 12345)
    first_raw, decoded = session.exchange(purchase)
    values, entries, aligned = amounts(decoded)
    session.check("purchase gets 0210 00", decoded["t"] == "0210" and decoded.get("39") == "00", decoded)
    session.check("purchase 54: 02 available C 123 and 90 credited C 123",
                  values.get("02/999") == 123 and values.get("90/999") == 123 and aligned, entries)
    session.check("purchase has a 6-character approval code", len(decoded.get("38", "")) == 6, decoded.get("38"))
    echoes(session, "purchase", purchase, decoded)

    _, decoded = session.exchange(request("0200", 3, "310000"))
    session.check("balance inquiry: 02 = 123", decoded.get("39") == "00" and amounts(decoded)[0].get("02/999") == 123, decoded)

    redeem = request("0200", 4, "900000", 23)
    _, decoded = session.exchange(redeem)
    values = amounts(decoded)[0]
    session.check("redeem 23: 00, 91 D 23, 02 = 100",
                  decoded.get("39") == "00" and values.get("91/999") == -23 and values.get("02/999") == 100, decoded)

    _, decoded = session.exchange(request("0200", 5, "900000", 101))
    session.check("redeem beyond the balance gets 51", decoded.get("39") == "51", decoded)

    replay_raw, _ = session.exchange(purchase)
    session.check("repeated purchase replays the first 0210 byte for byte", replay_raw == first_raw,
                  "%s vs %s" % (replay_raw.hex(), first_raw.hex()))

    _, decoded = session.exchange(request("0200", 2, "000000", 12346))
    session.check("same key, other content gets 94", decoded.get("39") == "94", decoded)

    reversal = request("0400", 6, "900000", 23, original=original_data("0200", 4))
    _, decoded = session.exchange(reversal)
    session.check("0400 reversal of the redeem gets 0410 00", decoded["t"] == "0410" and decoded.get("39") == "00", decoded)

    _, decoded = session.exchange(request("0200", 7, "310000"))
    session.check("after the reversal the balance is 123 again", amounts(decoded)[0].get("02/999") == 123, decoded)

    _, decoded = session.exchange(request("0300", 8, "000000", 100))
    session.check("unknown MTI 0300 gets 0310 12", decoded["t"] == "0310" and decoded.get("39") == "12", decoded)

    _, decoded = session.exchange(request("0200", 9, "310000", card="6037999900000043"))
    session.check("balance inquiry for an unknown card gets 14", decoded.get("39") == "14", decoded)

    _, decoded = session.exchange(request("0200", 10, "000000", 0))
    session.check("zero amount gets 13", decoded.get("39") == "13", decoded)

    # Field 44 (an..25) with characters outside ISO's "an" class: pyiso8583 sends them, the switch carries them.
    punctuated = request("0200", 12, "000000", 1000, extra={"44": "_|\\"})
    _, decoded = session.exchange(punctuated)
    session.check("purchase with field 44 = _|\\ gets 0210 00, 90 C 10",
                  decoded["t"] == "0210" and decoded.get("39") == "00" and amounts(decoded)[0].get("90/999") == 10,
                  decoded)

    advice = request("0220", 11, "000000", 500)
    _, decoded = session.exchange(advice)
    session.check("0220 offline advice gets 0230 00, 90 C 5",
                  decoded["t"] == "0230" and decoded.get("39") == "00" and amounts(decoded)[0].get("90/999") == 5, decoded)


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--tls"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        session = Session(int(sys.argv[1]), sys.argv[3] if len(sys.argv) == 4 else None)
    except OSError as error:
        print("cannot connect: %s" % error, file=sys.stderr)
        return 2
    try:
        run(session)
    except Exception as error:  # noqa: BLE001 - reported as a failed check, the session stops
        session.check("session ran to the end", False, repr(error))
    print(json.dumps({"checks": session.checks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
