#!/usr/bin/env python3
"""Full-size storage-fault runs for benchmarks/storage-faults.sh (issue 12, items 3-5). Needs root (mount,
prlimit) and pyiso8583. Each subcommand prints Markdown table rows; nothing here asserts.

  storage_faults.py diskfull BIN WORKDIR          64 MiB segments on a 400 MiB tmpfs filled by another file
  storage_faults.py idle BIN WORKDIR              1,100 idle connections under ulimit -n 1024
  storage_faults.py exhaust BIN WORKDIR           the running switch's soft limit lowered to what it uses
  storage_faults.py sigterm BIN WORKDIR           SIGTERM under 16 pipelining connections
"""
import os, re, shutil, signal, socket, subprocess, sys, threading, time
import iso8583
from iso8583.specs import default as spec

spec = dict(spec)
spec["54"] = dict(spec["54"], max_len=120)


def purchase(terminal, stan, card):
    fields = {"t": "0200", "2": card, "3": "000000", "4": "000000000100", "7": "1203120000", "11": "%06d" % stan,
              "12": "120000", "13": "1203", "18": "5411", "22": "021", "25": "00", "32": "12345678",
              "37": "RRN%09d" % stan, "41": terminal, "42": "MERCHANT0000001", "49": "364"}
    raw, _ = iso8583.encode(fields, spec)
    return len(raw).to_bytes(2, "big") + raw


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Switch:
    def __init__(self, binary, data, config, launcher=(), arguments=()):
        self.log_path = data + ".log"
        os.makedirs(os.path.dirname(data), exist_ok=True)
        with open(data + ".json", "w") as file:
            file.write(config)
        self.process = subprocess.Popen(
            list(launcher) + [binary, "serve", "--config", data + ".json", "--data", data, "--listen",
                              "127.0.0.1:0"] + list(arguments),
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))
        self.port = None
        for _ in range(600):
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if match:
                self.port = int(match.group(1))
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.05)

    def log(self):
        return open(self.log_path).read()

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=60)


class Terminal(threading.Thread):
    """One pipelining connection: keeps `window` purchases in flight until stopped or closed."""

    def __init__(self, port, index, window, card_base):
        super().__init__(daemon=True)
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.terminal, self.card = "BENCH%03d" % index, "6037%012d" % (card_base + index)
        self.window, self.running, self.answers, self.sent = window, True, [], 0

    def run(self):
        buffer, in_flight = b"", 0
        while self.running or in_flight:
            while self.running and in_flight < self.window:
                self.sent += 1
                try:
                    self.socket.sendall(purchase(self.terminal, self.sent, self.card))
                except OSError:
                    self.running = False
                    break
                in_flight += 1
            try:
                chunk = self.socket.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return
            buffer += chunk
            while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
                length = int.from_bytes(buffer[:2], "big")
                decoded, _ = iso8583.decode(buffer[2:2 + length], spec)
                self.answers.append((time.monotonic(), decoded.get("39", "-")))
                buffer, in_flight = buffer[2 + length:], in_flight - 1


def ledger_points(binary, data):
    output = subprocess.run([binary, "ledger", "verify", "--data", data], capture_output=True, text=True)
    match = re.search(r"balance points: (\d+)", output.stdout)
    return output.returncode, int(match.group(1)) if match else None


def fill(directory):
    """Writes a file until the disk refuses, to the last page (bounded by the disk's size)."""
    try:
        descriptor = os.open(directory + "/filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return
    for piece in (1 << 20, 4096):
        try:
            while os.write(descriptor, b"Z" * piece) == piece:
                pass
        except OSError:
            pass
    os.close(descriptor)


def diskfull(binary, work):
    disk = work + "/disk"
    os.makedirs(disk, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % (400 << 20), "tmpfs", disk], check=True)
    try:
        switch = Switch(binary, disk + "/data", '{"shards": 1, "loops": 2}')
        terminals = [Terminal(switch.port, index, 32, 7000) for index in range(8)]
        for terminal in terminals:
            terminal.start()
        time.sleep(3)
        filled = time.monotonic()
        fill(disk)
        answers = lambda: sorted(answer for terminal in terminals for answer in terminal.answers)
        while not any(code == "96" for at, code in answers() if at > filled) and time.monotonic() - filled < 300:
            time.sleep(0.2)
        first_decline = min((at for at, code in answers() if code == "96" and at > filled), default=None)
        time.sleep(5)
        freed = time.monotonic()
        if os.path.exists(disk + "/filler"):
            os.unlink(disk + "/filler")
        while not any(code == "00" for at, code in answers() if at > freed) and time.monotonic() - freed < 60:
            time.sleep(0.05)
        time.sleep(3)
        for terminal in terminals:
            terminal.running = False
        for terminal in terminals:
            terminal.join(30)
        status = switch.stop()
        all_answers = answers()
        approved = sum(1 for _, code in all_answers if code == "00")
        declined = sum(1 for _, code in all_answers if code == "96")
        resumed = min((at for at, code in all_answers if code == "00" and at > freed), default=None)
        verified, points = ledger_points(binary, disk + "/data")
        print("| disk full, 64 MiB segments, 8 terminals x 32 in flight | approvals %d, 96 %d, other %d | "
              "first 96 %s after the disk filled | first approval %s after space was freed | exit %d, verify %d, "
              "ledger points %s (approvals %d) |" % (
                  approved, declined, len(all_answers) - approved - declined,
                  "%.1f s" % (first_decline - filled) if first_decline else "never",
                  "%.2f s" % (resumed - freed) if resumed else "never", status, verified, points, approved))
    finally:
        subprocess.run(["umount", "-l", disk])


def idle(binary, work):
    switch = Switch(binary, work + "/idle-data", '{"shards": 1}', launcher=("prlimit", "--nofile=1024:1024", "--"))
    if switch.port is None:
        refusal = next((line for line in switch.log().splitlines() if "cannot start" in line), "exited")
        print("| 1,100 idle connections, ulimit -n 1024, connectionsMax 10000 | refused at start | %s |" %
              refusal.split("cannot start: ")[-1][:160])
        switch.stop()
        return
    sockets = [socket.create_connection(("127.0.0.1", switch.port)) for _ in range(1100)]
    time.sleep(1)
    before = cpu_seconds(switch.process.pid)
    time.sleep(5)
    used = cpu_seconds(switch.process.pid) - before
    print("| 1,100 idle connections, ulimit -n 1024, connectionsMax 10000 | started | CPU %.2f s in 5 s |" % used)
    switch.stop(signal.SIGKILL)
    del sockets


def exhaust(binary, work):
    switch = Switch(binary, work + "/exhaust-data", '{"shards": 1, "limits": {"connectionsMax": 100}}')
    pid = switch.process.pid
    terminal = Terminal(switch.port, 0, 1, 8000)
    terminal.start()
    time.sleep(1)
    hard = next(line.split()[4] for line in open(f"/proc/{pid}/limits") if line.startswith("Max open files"))
    used = {int(name) for name in os.listdir(f"/proc/{pid}/fd")}
    lowest = next(number for number in range(1 << 20) if number not in used)
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%s" % (lowest, hard)], check=True)
    approved_before = sum(1 for _, code in terminal.answers if code == "00")
    waiting = [socket.create_connection(("127.0.0.1", switch.port)) for _ in range(200)]
    before = cpu_seconds(pid)
    time.sleep(5)
    cpu = cpu_seconds(pid) - before
    approved_during = sum(1 for _, code in terminal.answers if code == "00") - approved_before
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%s:%s" % (hard, hard)], check=True)
    terminal.running = False
    terminal.join(10)
    print("| descriptor table full at run time, 200 connections waiting, one terminal buying | CPU %.2f s in 5 s | "
          "%d approvals on the open connection meanwhile |" % (cpu, approved_during))
    switch.stop(signal.SIGKILL)
    del waiting


def sigterm(binary, work, run):
    data = work + "/sigterm-data-%d" % run
    switch = Switch(binary, data, '{"shards": 1}')
    terminals = [Terminal(switch.port, index, 64, 9000 + 100 * run) for index in range(16)]
    for terminal in terminals:
        terminal.start()
    time.sleep(3)
    # The terminals keep sending after the signal, as a host does: a graceful stop must not keep reading them.
    switch.process.send_signal(signal.SIGTERM)
    status = switch.process.wait(timeout=60)
    for terminal in terminals:
        terminal.running = False
    for terminal in terminals:
        terminal.join(60)
    approved = sum(1 for terminal in terminals for _, code in terminal.answers if code == "00")
    answered = sum(len(terminal.answers) for terminal in terminals)
    sent = sum(terminal.sent for terminal in terminals)
    match = re.search(r"requests read since start: (\d+), answered: (\d+)", switch.log())
    verified, points = ledger_points(binary, data)
    print("| SIGTERM, 16 terminals x 64 in flight, run %d | sent %d, answered %d | switch read %s | exit %d | "
          "ledger points %s, approvals received %d: %s applied unanswered |" % (
              run, sent, answered, match.group(1) if match else "(not logged)", status, points, approved,
              (points - approved) if points is not None else "?"))


if __name__ == "__main__":
    command, binary, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    if command == "sigterm":
        for run in range(3):
            sigterm(binary, work, run)
    else:
        {"diskfull": diskfull, "idle": idle, "exhaust": exhaust}[command](binary, work)
