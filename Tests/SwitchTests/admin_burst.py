"""Sends admin changes as fast as it can from several threads until the switch goes away (the SIGKILL tests of
AdminUsersAndAuditTests and AdminMembersAndCardsTests).

usage: admin_burst.py PORT TOKEN THREADS                  creates users
       admin_burst.py PORT TOKEN THREADS MEMBER_ID        adjusts the member's points by +1
       admin_burst.py PORT TOKEN THREADS MEMBER_ID tap    records "tap" events with ids e-THREAD-NUMBER
       admin_burst.py PORT TOKEN THREADS keyed:MEMBER_ID  adjusts by +1 with Idempotency-Key k-THREAD-NUMBER
                                                          (VALUE: KEY=balanceAfter; AdminDurableWriteTests)
       admin_burst.py PORT TOKEN THREADS enrol            enrols members with a Persian name and a phone
       admin_burst.py PORT TOKEN THREADS link:MEMBER_ID   links new cards to the member (VALUE: the card number)
       admin_burst.py PORT TOKEN THREADS gift:CARD_ID     loads the gift card with 1 (AdminGiftCardTests)
       admin_burst.py PORT TOKEN THREADS lottery:LOTTERY_ID:MEMBER_ID  buys 1 entry (AdminLotteryTests)
Prints one line per answer, flushed at once: "STATUS VALUE", VALUE the new user's id, the adjustment's or event's
balanceAfter, the member's id, the card number or the gift card's balanceMinor ("-" when the answer has none).
"""
import http.client
import json
import sys
import threading

lock = threading.Lock()


def request(index, number, member, event):
    if event is not None:
        body = {"id": "e-%d-%d" % (index, number), "type": event, "memberId": member}
        return "/v1/events", json.dumps(body), "balanceAfter"
    if member is None:
        body = {"name": "burst-%d-%d" % (index, number), "role": "auditor"}
        return "/v1/users", json.dumps(body), "id"
    if member == "enrol":
        body = {"pan": "60370099%02d%06d" % (index, number), "name": "مریم رضایی %d-%d" % (index, number),
                "phone": "+98912%02d%05d" % (index, number)}
        return "/v1/members", json.dumps(body, ensure_ascii=False).encode("utf-8"), "id"
    if member.startswith("link:"):
        body = {"pan": "60370098%02d%06d" % (index, number), "memberId": member[5:], "kind": "bank"}
        return "/v1/cards", json.dumps(body), "pan"
    if member.startswith("lottery:"):
        _, lottery, buyer = member.split(":")
        body = {"memberId": buyer, "entries": 1}
        return "/v1/lotteries/%s/entries" % lottery, json.dumps(body), "balanceAfter"
    if member.startswith("keyed:"):
        body = {"asset": "points", "amount": 1, "reason": "goodwill"}
        return "/v1/members/%s/adjustments" % member[6:], json.dumps(body), "balanceAfter"
    if member.startswith("gift:"):
        return "/v1/gift-cards/%s/load" % member[5:], json.dumps({"amountMinor": 1}), "balanceMinor"
    body = {"asset": "points", "amount": 1, "reason": "goodwill"}
    return "/v1/members/%s/adjustments" % member, json.dumps(body), "balanceAfter"


def worker(port, token, index, member, event):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    number = 0
    while True:
        number += 1
        path, body, field = request(index, number, member, event)
        headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        key = None
        if member is not None and member.startswith("keyed:"):
            key = "k-%d-%d" % (index, number)
            headers["Idempotency-Key"] = key
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except Exception:
            return
        answer = json.loads(payload) if payload else {}
        if field == "pan" and response.status == 201:
            answer["pan"] = json.loads(body)["pan"]
        value = answer.get(field, "-")
        if key is not None:
            value = "%s=%s" % (key, value)
        with lock:
            print("%d %s" % (response.status, value), flush=True)


def main():
    port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    member = sys.argv[4] if len(sys.argv) > 4 else None
    event = sys.argv[5] if len(sys.argv) > 5 else None
    threads = [threading.Thread(target=worker, args=(port, token, index, member, event)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


main()
