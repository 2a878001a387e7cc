#!/usr/bin/env python3
"""Counts test results across meson build directories and prints "N passed, N failed".

A GoogleTest executable counts each of its cases (from the JUnit XML meson asks it to
write); any other test (interop scripts) counts once. A test meson marks skipped is
reported as skipped, never as passed. A test that crashed before writing its XML counts as
one failure.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def count_dir(build):
    passed = failed = skipped = 0
    log = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{build}: no test log", file=sys.stderr)
        return 0, 1, 0
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            result = t["result"]
            # meson runs gtest executables with --gtest_output=xml:<short name>.xml in the
            # build directory; "pollux:unit / net" -> build/net.xml.
            short = t["name"].split(" / ")[-1]
            cases = gtest_cases(os.path.join(build, f"{short}.xml"))
            if cases and result not in ("TIMEOUT",):
                p, fl, s = cases
                # A crash after some cases passed still fails the executable.
                if result not in ("OK", "EXPECTEDFAIL") and fl == 0:
                    fl = 1
                passed, failed, skipped = passed + p, failed + fl, skipped + s
            elif result == "OK":
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
            if result not in ("OK", "SKIP"):
                print(f"FAILED: {build}: {t['name']} ({result})", file=sys.stderr)
    return passed, failed, skipped


def gtest_cases(path):
    if not os.path.exists(path):
        return None
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return None
    p = fl = s = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            fl += 1
        elif case.find("skipped") is not None or case.get("result") == "skipped":
            s += 1
        else:
            p += 1
    return p, fl, s


def main():
    total = [0, 0, 0]
    for build in sys.argv[1:]:
        p, fl, s = count_dir(build)
        print(f"# {build}: {p} passed, {fl} failed, {s} skipped", file=sys.stderr)
        total = [total[0] + p, total[1] + fl, total[2] + s]
    line = f"{total[0]} passed, {total[1]} failed"
    if total[2]:
        line += f", {total[2]} skipped"
    print(line)
    return 0 if total[1] == 0 and total[0] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
