#!/usr/bin/env python3
"""A webhook receiver for the notification tests: Python's http.server (HTTP/1.1, keep-alive, a thread per
connection) that checks each request's signature with Python's hmac and answers as told, at random or by id.

Prints its port on the first line of standard output, then appends one JSON line per request to --log, written
before the answer leaves (so per member the log is in the order the switch sent):
{"id", "bodyId", "member", "sequence", "signatureOk", "answer"}; "answer" is "ok" only for a 2xx with a normal
body (what the switch may count as acknowledged).
"""
import argparse
import hashlib
import hmac
import json
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--secret", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--seed", type=int, default=1)
# Weights of the answers chosen at random: ok, 500, sleep past the timeout, reset, redirect, huge 200.
parser.add_argument("--weights", default="1,0,0,0,0,0")
parser.add_argument("--sleep", type=float, default=1.0, help="seconds a 'sleep' answer waits")
parser.add_argument("--delay", type=float, default=0.0, help="seconds every answer waits first")
parser.add_argument("--fail-ids", default="", help="comma-separated ids answered 500 ...")
parser.add_argument("--fail-count", type=int, default=0, help="... this many times each, then as the weights say")
arguments = parser.parse_args()

answers = ["ok", "error", "sleep", "reset", "redirect", "huge"]
weights = [float(part) for part in arguments.weights.split(",")]
lock = threading.Lock()
generator = random.Random(arguments.seed)
failures_left = {name: arguments.fail_count for name in arguments.fail_ids.split(",") if name}
log_file = open(arguments.log, "a", buffering=1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        event_id = self.headers.get("X-Loyalty-Event-Id", "")
        signature = self.headers.get("X-Loyalty-Signature", "")
        expected = "sha256=" + hmac.new(arguments.secret.encode(), body, hashlib.sha256).hexdigest()
        event = json.loads(body)
        with lock:
            if failures_left.get(event_id, 0) > 0:
                failures_left[event_id] -= 1
                answer = "error"
            else:
                answer = generator.choices(answers, weights)[0]
            log_file.write(json.dumps({
                "id": event_id, "bodyId": event["id"], "member": event["memberId"],
                "sequence": event["data"].get("sequence"), "signatureOk": hmac.compare_digest(signature, expected),
                "answer": answer, "card": event["card"], "text": event["data"].get("text"),
            }) + "\n")
        if arguments.delay:
            time.sleep(arguments.delay)
        if answer == "ok":
            self.reply(200, b'{"ok":true}')
        elif answer == "error":
            self.reply(500, b"no")
        elif answer == "sleep":
            time.sleep(arguments.sleep)
            self.reply(200, b"late")
        elif answer == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif answer == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.reply(200, b"x" * (1 << 20))

    def reply(self, status, payload):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a peer that closes or resets is part of the tests, not news


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
