#!/usr/bin/env python3
"""A TLS client for the switch's end-to-end tests: Python's ssl module (OpenSSL underneath), none of our code.

Usage: tls_client.py PORT --frame HEX [--version 1.1|1.2|1.3] [--ca FILE] [--cert FILE --key FILE]
                     [--connections N] [--requests N]
Opens N connections to 127.0.0.1:PORT one after another (default 1); on each sends the framed request HEX
(2-byte length header included) M times (default 1), reading each framed answer. Prints one JSON object:
{"ok": bool, "version": "TLSv1.3", "answered": n, "response": HEX of the last answer, "error": "..."}.
Exit status 0 when it could run (ok says whether every request was answered), 2 on usage errors.
"""
import argparse
import json
import socket
import ssl
import struct
import sys

VERSIONS = {"1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def context(arguments):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if arguments.ca:
        ctx.load_verify_locations(arguments.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if arguments.version:
        ctx.minimum_version = VERSIONS[arguments.version]
        ctx.maximum_version = VERSIONS[arguments.version]
        if arguments.version == "1.1":
            # Debian's OpenSSL refuses to even offer TLS 1.1 at its default security level: lower it so the
            # client really sends a TLS 1.1 hello and the refusal is the server's.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if arguments.cert:
        ctx.load_cert_chain(arguments.cert, arguments.key)
    return ctx


def receive_exact(connection, count):
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the switch closed the connection")
        data += chunk
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--frame", required=True)
    parser.add_argument("--version", choices=sorted(VERSIONS))
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1)
    arguments = parser.parse_args()
    frame = bytes.fromhex(arguments.frame)
    result = {"ok": False, "version": None, "answered": 0, "response": None, "error": None}
    try:
        ctx = context(arguments)
        for _ in range(arguments.connections):
            with socket.create_connection(("127.0.0.1", arguments.port), timeout=10) as raw:
                with ctx.wrap_socket(raw) as connection:
                    result["version"] = connection.version()
                    for _ in range(arguments.requests):
                        connection.sendall(frame)
                        (length,) = struct.unpack(">H", receive_exact(connection, 2))
                        result["response"] = receive_exact(connection, length).hex()
                        result["answered"] += 1
        result["ok"] = result["answered"] == arguments.connections * arguments.requests
    except (OSError, ssl.SSLError, ConnectionError) as error:
        result["error"] = "%s: %s" % (type(error).__name__, error)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
