"""Posts +1 point adjustments to one member as fast as it can from several threads until the switch goes away
(AdminMembersAndCardsTests).

usage: admin_adjust_burst.py PORT TOKEN MEMBER_ID THREADS
Prints one line per answer, flushed at once: "STATUS BALANCE_AFTER" (BALANCE_AFTER "-" when the answer has none).
"""
import http.client
import json
import sys
import threading

lock = threading.Lock()


def worker(port, token, member):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"asset": "points", "amount": 1, "reason": "goodwill"})
    while True:
        try:
            connection.request("POST", "/v1/members/%s/adjustments" % member, body=body, headers={
                "Authorization": "Bearer " + token, "Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
        except Exception:
            return
        answer = json.loads(payload) if payload else {}
        with lock:
            print("%d %s" % (response.status, answer.get("balanceAfter", "-")), flush=True)


def main():
    port, token, member, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    threads = [threading.Thread(target=worker, args=(port, token, member)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
