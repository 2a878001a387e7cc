#!/usr/bin/python3
"""Prints a markdown table from Google Benchmark JSON files (see run.sh): name, ns/op and, for
each pollux row, the ratio to every baseline with the same <what> and <args>.

ns/op is the benchmark's CPU time per iteration, which is what ratios use: on a shared machine
wall time also counts the time other processes held the core. Wall time is printed too."""
import json
import sys

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# User counters worth a glance next to the time (Google Benchmark writes them as plain keys).
SHOWN_COUNTERS = ("segs_out_per_ack", "acked_per_ack", "drops")


def rows_of(path):
    with open(path) as f:
        doc = json.load(f)
    benches = doc.get("benchmarks", [])
    medians = [b for b in benches
               if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
    if medians:
        benches = medians
    else:
        benches = [b for b in benches if b.get("run_type", "iteration") == "iteration"]
    for b in benches:
        if b.get("error_occurred"):
            yield b.get("run_name", b["name"]), None, None, b.get("error_message", "error"), {}
            continue
        unit = TO_NS[b.get("time_unit", "ns")]
        ns = b["cpu_time"] * unit
        real = b["real_time"] * unit
        counters = {k: b[k] for k in SHOWN_COUNTERS if k in b}
        yield b.get("run_name", b["name"]), ns, real, None, counters


def split(name):
    parts = name.split("/")
    if len(parts) < 2:
        return name, "", ""
    return parts[0], parts[1], "/".join(parts[2:])


def main(paths):
    rows = []
    for p in paths:
        rows.extend(rows_of(p))
    times = {}
    for name, ns, _, _, _ in rows:
        if ns is not None:
            times[split(name)] = ns
    print("| benchmark | ns/op (CPU) | ns/op (wall) | pollux ÷ baseline (CPU) |")
    print("| --- | ---: | ---: | --- |")
    for name, ns, real, err, counters in rows:
        if ns is None:
            print(f"| {name} | – | – | {err} |")
            continue
        what, impl, args = split(name)
        ratio = ""
        if impl == "pollux":
            parts = [f"{ns / t:.2f} vs {i}" for (w, i, a), t in times.items()
                     if w == what and a == args and i != "pollux" and t > 0]
            ratio = ", ".join(parts)
        extra = "".join(f" ({k} {v:.2f})" for k, v in counters.items())
        print(f"| {name}{extra} | {ns:.1f} | {real:.1f} | {ratio} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: table.py FILE.json...")
    main(sys.argv[1:])
