"""Creates users as fast as it can from several threads until the switch goes away (AdminUsersAndAuditTests).

usage: admin_burst.py PORT TOKEN THREADS
Prints one line per answered creation, flushed at once: "STATUS ID" (ID "-" when the answer has none).
"""
import http.client
import json
import sys
import threading

lock = threading.Lock()


def worker(port, token, index):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    number = 0
    while True:
        number += 1
        body = json.dumps({"name": "burst-%d-%d" % (index, number), "role": "auditor"})
        try:
            connection.request("POST", "/v1/users", body=body, headers={
                "Authorization": "Bearer " + token, "Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
        except Exception:
            return
        answer = json.loads(payload) if payload else {}
        with lock:
            print("%d %s" % (response.status, answer.get("id", "-")), flush=True)


def main():
    port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    threads = [threading.Thread(target=worker, args=(port, token, index)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


main()
