"""Python's own HTTP clients against the admin API, for the end-to-end tests (AdminAPITests.swift).

usage: admin_client.py keepalive PORT PATH COUNT   -> {"statuses": [...], "sameConnection": bool, "bodies": [...]}
       admin_client.py bigheader PORT BYTES        -> {"status": N, "closed": bool}
       admin_client.py urllib URL                   -> {"status": N, "contentType": "...", "body": "..."}
"""
import http.client
import json
import sys
import urllib.error
import urllib.request


def keepalive(port, path, count):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    statuses, bodies, sockets = [], [], []
    for _ in range(count):
        connection.request("GET", path)
        response = connection.getresponse()
        bodies.append(response.read().decode())
        statuses.append(response.status)
        sockets.append(id(connection.sock))
    connection.close()
    return {"statuses": statuses, "sameConnection": len(set(sockets)) == 1, "bodies": bodies}


def bigheader(port, size):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", "/v1/health")
    connection.putheader("X-Large", "a" * size)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    return {"status": response.status, "closed": response.will_close}


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return {"status": response.status, "contentType": response.headers["Content-Type"],
                    "body": response.read().decode()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "contentType": error.headers["Content-Type"], "body": error.read().decode()}


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "keepalive":
        result = keepalive(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif command == "bigheader":
        result = bigheader(int(sys.argv[2]), int(sys.argv[3]))
    else:
        result = get(sys.argv[2])
    print(json.dumps(result))
