#!/usr/bin/env python3
"""What the acknowledged mark costs one fdatasync (docs/storage-faults.md): a zero-filled 64 MiB file, batches of
3,000 bytes (about 12 records) appended with one pwrite + fdatasync each, without and with the 64-byte header
slot pwrite the ledger adds after each batch (so each fdatasync writes the header page too). Interleaved in
rounds of 500 batches so both see the same load. Run on the disk the ledger uses:

    python3 benchmarks/mark_cost.py [DIRECTORY]          default /work
"""
import os, statistics, sys, time

directory = sys.argv[1] if len(sys.argv) > 1 else "/work"
path = os.path.join(directory, "mark-cost-probe.bin")
size = 64 << 20
descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
try:
    os.posix_fallocate(descriptor, 0, size)
    os.pwrite(descriptor, b"\0" * size, 0)
    os.fsync(descriptor)
    batch = b"r" * 3000
    latencies = {False: [], True: []}
    offset = 4096
    for _ in range(6):
        for with_mark in (False, True):
            for index in range(500):
                started = time.perf_counter_ns()
                os.pwrite(descriptor, batch, offset)
                os.fdatasync(descriptor)
                if with_mark:
                    os.pwrite(descriptor, b"m" * 64, (index % 2) * 512)
                latencies[with_mark].append(time.perf_counter_ns() - started)
                offset += len(batch)
    print("| mark | batches | median µs | p99 µs | mean µs |")
    print("|---|---|---|---|---|")
    for with_mark in (False, True):
        values = sorted(latencies[with_mark])
        print("| %s | %d | %.0f | %.0f | %.0f |" % (
            "with" if with_mark else "without", len(values), values[len(values) // 2] / 1e3,
            values[int(len(values) * 0.99)] / 1e3, statistics.mean(values) / 1e3))
finally:
    os.close(descriptor)
    os.unlink(path)
