#!/usr/bin/env python3
"""A small receiver between the loyalty switch's webhooks and an SMS provider's HTTP API (docs/notifications.md).

It checks X-Loyalty-Signature (HMAC-SHA256 of the exact body with the shared secret), drops repeats by event id
(delivery is at least once), looks up the member's phone number, and sends data.text through the provider. It
answers 200 only once the provider took the message, so anything else makes the switch try again later.

    LOYALTY_WEBHOOK_SECRET=... SMS_API_URL=https://sms.example/api/send SMS_API_KEY=... python3 sms_relay.py 9700

Without SMS_API_URL it prints what it would send (a dry run). Standard library only.
"""
import hashlib
import hmac
import json
import os
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["LOYALTY_WEBHOOK_SECRET"].encode()
SMS_API_URL = os.environ.get("SMS_API_URL")
SMS_API_KEY = os.environ.get("SMS_API_KEY", "")
# Your member directory goes here (a database, the CRM); the switch sends member ids, never phone numbers.
PHONES = {"m-0": "+989120000000", "m-1": "+989120000001", "m-2": "+989120000002"}
seen = set()  # event ids already sent; keep this in a database in production


def signature_ok(body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def send_sms(phone: str, text: str) -> None:
    if not SMS_API_URL:
        print(f"SMS to {phone}: {text}", flush=True)
        return
    # Most Iranian and international SMS gateways take a form or JSON POST like this one; adapt the field names.
    request = urllib.request.Request(
        SMS_API_URL, data=json.dumps({"to": phone, "text": text}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {SMS_API_KEY}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        if answer.status // 100 != 2:
            raise RuntimeError(f"SMS gateway answered {answer.status}")


class Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass  # one line per SMS is enough

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not signature_ok(body, self.headers.get("X-Loyalty-Signature", "")):
            return self.answer(401)  # not from the switch: never retried into success
        event = json.loads(body)
        if event["id"] in seen:
            return self.answer(200)  # a repeat of a delivered event: acknowledge, send nothing
        phone = PHONES.get(event["memberId"])
        try:
            if phone:
                send_sms(phone, event["data"]["text"])
        except Exception as error:  # the gateway is down: the switch retries with back-off
            print(f"event {event['id']}: {error}", file=sys.stderr, flush=True)
            return self.answer(503)
        seen.add(event["id"])
        self.answer(200)

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9700
    ThreadingHTTPServer(("127.0.0.1", port), Relay).serve_forever()
