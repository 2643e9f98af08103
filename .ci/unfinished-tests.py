#!/usr/bin/env python3
"""Names the tests a Swift Testing log shows as started and never ended (passed, failed or skipped).

Used by .ci/run when `swift test` overruns its time: a hung test then fails CI with its name instead of running
into CI's own limit with nothing said. Usage: unfinished-tests.py LOG
"""
import re
import sys

started = {}
ended = set()
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for number, line in enumerate(log, 1):
        if match := re.match(r'◇ Test (".*"|\S+\(\)) started\.', line):
            started.setdefault(match.group(1), number)
        elif match := re.match(r'[✔✘➜] Test (".*?"|\S+\(\)) (with \d+ test cases? )?(passed|failed|skipped)', line):
            ended.add(match.group(1))
unfinished = [(number, name) for name, number in started.items() if name not in ended]
for number, name in sorted(unfinished):
    print(f"  log line {number}: {name}")
if not unfinished:
    print("  (none: every test that started ended; the time went elsewhere)")
