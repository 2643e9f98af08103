#!/usr/bin/env python3
"""The disk's fdatasync latency for the log's pattern, alone and beside a big background write.

Appends of 3,000 bytes each followed by fdatasync and a 64-byte header rewrite (as the switch's log writes a batch
and its acknowledged mark), for SECONDS; optionally beside a writer that puts BURST_MB through O_DIRECT in 1 MiB
pieces at RATE MB/s (0: as fast as it goes), as a checkpoint or a key-run merge does. Prints p50/p99/p99.9/max and
the syncs over 10 and 50 ms. Files go in DIRECTORY (the data directory's file system) and are removed.

    python3 benchmarks/fsync-probe.py DIRECTORY [--seconds 8] [--burst-mb 0] [--rate-mb 0]
"""
import argparse, mmap, os, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("directory")
parser.add_argument("--seconds", type=float, default=8)
parser.add_argument("--burst-mb", type=int, default=0)
parser.add_argument("--rate-mb", type=float, default=0)
arguments = parser.parse_args()
if not 0 < arguments.seconds <= 600 or not 0 <= arguments.burst_mb <= 100_000:
    parser.error("--seconds 0...600, --burst-mb 0...100000")

def burst(path, total_mb, rate_mb):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    piece = mmap.mmap(-1, 1 << 20)
    piece.write(b"k" * (1 << 20))
    start, written = time.time(), 0
    while written < total_mb << 20:
        os.pwrite(descriptor, piece, written)
        written += 1 << 20
        if rate_mb > 0:
            ahead = written / (rate_mb * 1e6) - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
    os.fsync(descriptor)
    os.close(descriptor)
    os.unlink(path)
    print(f"background write: {total_mb} MB in {time.time() - start:.1f} s")

log = os.path.join(arguments.directory, "fsync-probe.log")
descriptor = os.open(log, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.pwrite(descriptor, b"\0" * (64 << 20), 0)
os.fsync(descriptor)
writer = None
if arguments.burst_mb > 0:
    writer = threading.Thread(
        target=burst, args=(os.path.join(arguments.directory, "fsync-probe.burst"), arguments.burst_mb,
                            arguments.rate_mb))
    writer.start()
latencies, offset, end = [], 4096, time.time() + arguments.seconds
while time.time() < end:
    os.pwrite(descriptor, b"r" * 3000, offset)
    offset = offset + 3000 if offset < (60 << 20) else 4096
    began = time.perf_counter()
    os.fdatasync(descriptor)
    latencies.append(time.perf_counter() - began)
    os.pwrite(descriptor, b"H" * 64, 0)
os.close(descriptor)
os.unlink(log)
if writer:
    writer.join()
latencies.sort()
count = len(latencies)
print(f"{count} syncs: p50 {latencies[count // 2] * 1e3:.2f} ms  p99 {latencies[int(count * .99)] * 1e3:.2f}  "
      f"p99.9 {latencies[int(count * .999)] * 1e3:.2f}  max {latencies[-1] * 1e3:.1f}; "
      f"over 10 ms {sum(l > .01 for l in latencies)}, over 50 ms {sum(l > .05 for l in latencies)}")
