#!/usr/bin/env python3
"""Exactly-once at a distance, from outside: the client half of benchmarks/request-keys.sh.

Usage: request-keys-client.py PORT before|after STATE_FILE
  before  sends a purchase P (card A), a reversal R of a purchase Q not sent yet (card B), and a purchase O
          (card C); writes what it sent and P's response to STATE_FILE.
  after   (after N other requests, a SIGKILL and a restart) repeats P and compares the bytes, sends Q (expects 05),
          reverses O (expects 00) and asks C's balance (expects 0). Prints one JSON line; exit 0 when all hold.
Uses pyiso8583 4.0.1 (not the switch's codec).
"""
import copy, json, socket, struct, sys, time

import iso8583
from iso8583.specs import default as pyiso_default

SPEC = copy.deepcopy(pyiso_default)
SPEC["54"]["max_len"] = 120
TERMINAL, ACQUIRER = "KEYBENCH", "55555555"
CARDS = {"A": "6037991100000001", "B": "6037991100000002", "C": "6037991100000003"}


def request(mti, stan, transmission, processing, card, amount=None, original=None):
    doc = {"t": mti, "2": card, "3": processing, "7": transmission, "11": "%06d" % stan,
           "12": transmission[4:], "13": transmission[:4], "32": ACQUIRER, "41": TERMINAL,
           "42": "MERCHANT0000001", "49": "364"}
    if amount is not None:
        doc["4"] = "%012d" % amount
    if original is not None:
        doc["90"] = original
    return doc


def original_data(mti, stan, transmission):
    return "%04d%06d%s%011d%011d" % (mti, stan, transmission, int(ACQUIRER), 0)


def exchange(sock, doc):
    raw, _ = iso8583.encode(copy.deepcopy(doc), SPEC)
    sock.sendall(struct.pack(">H", len(raw)) + bytes(raw))
    header = recv_exact(sock, 2)
    body = recv_exact(sock, struct.unpack(">H", header)[0])
    decoded, _ = iso8583.decode(body, SPEC)
    return body, decoded


def recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise SystemExit("the switch closed the connection")
        data += chunk
    return data


def main():
    port, phase, state_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if phase == "before":
        transmission = time.strftime("%m%d%H%M%S", time.gmtime())
        p = request("0200", 1, transmission, "000000", CARDS["A"], 10000)
        body, decoded = exchange(sock, p)
        reversal = request("0400", 3, transmission, "000000", CARDS["B"], 20000, original_data(200, 2, transmission))
        _, rev = exchange(sock, reversal)
        o = request("0200", 4, transmission, "000000", CARDS["C"], 30000)
        _, od = exchange(sock, o)
        state = {"transmission": transmission, "p": p, "p_response": body.hex(),
                 "codes": [decoded["39"], rev["39"], od["39"]]}
        json.dump(state, open(state_file, "w"))
        print(json.dumps({"phase": "before", "codes": state["codes"]}))
        sys.exit(0 if state["codes"] == ["00", "00", "00"] else 1)
    state = json.load(open(state_file))
    transmission = state["transmission"]
    body, _ = exchange(sock, state["p"])
    same = body.hex() == state["p_response"]
    _, late = exchange(sock, request("0200", 2, transmission, "000000", CARDS["B"], 20000))
    _, reversed_ = exchange(sock, request("0400", 5, transmission, "000000", CARDS["C"], 30000,
                                          original_data(200, 4, transmission)))
    now = time.strftime("%m%d%H%M%S", time.gmtime())
    _, balance = exchange(sock, request("0200", 6, now, "310000", CARDS["C"]))
    available = balance.get("54", "")
    result = {"phase": "after", "repeat_same_bytes": same, "late_original": late["39"],
              "reversal": reversed_["39"], "balance_code": balance["39"], "field54": available}
    print(json.dumps(result))
    ok = same and late["39"] == "05" and reversed_["39"] == "00" and available[-12:] == "000000000000"
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
