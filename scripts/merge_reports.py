#!/usr/bin/env python3
"""Merges the --json reports of several pollux-gen instances (on one host or many) into one
report of the same shape, the way a load test grows past one machine (issue 15 item 4).

usage: merge_reports.py REPORT.json REPORT.json [...] [-o MERGED.json]

- totals, errors, tcp_info and stack counters are summed; rates are the sum of the
  instances' rates (they ran side by side);
- latency histograms are merged bucket by bucket (every pollux-gen uses the same buckets), and
  their percentiles computed again from the merged buckets, so they are exact to the bucket
  width as an instance's own are;
- the per-second series is aligned on the second (t): counts are summed; a second's
  percentiles cannot be merged without its histogram, so each is the largest instance's
  value, an upper bound of the merged one;
- cpu: each instance's lcores kept under "INSTANCE/LCORE", the total summed;
- destinations: each --dst's opens, requests and errors summed by ADDR:PORT;
- "instances" lists the inputs, and "config" is the first one's (each in "configs").
Exit code 2 with one line when an input is missing, not JSON or not a pollux-gen report.
"""
import argparse
import json
import math
import sys

SERIES_COUNTS = ("opens", "established", "requests", "bytes_rx", "bytes_tx", "active", "errors",
                 "retrans", "target")
SERIES_PERCENTILES = ("connect_p50_ns", "connect_p99_ns", "response_p50_ns", "response_p99_ns",
                      "response_p99_9_ns")
TOTAL_COUNTS = ("opens", "established", "closes", "requests", "reconnects", "bytes_rx",
                "bytes_tx", "active", "retrans")
TOTAL_RATES = ("conn_per_s", "req_per_s", "rx_gbps", "tx_gbps")
LOAD_COUNTS = ("busy_turns", "idle_turns", "busy_cycles", "segments", "connections")
# Stalls (issue 13): counts summed, the longest gap kept (older reports have none).
LOAD_STALLS = ("stalls", "stalls_after_yield", "stalls_over_pto")


def fail(msg):
    print(f"merge_reports: {msg}", file=sys.stderr)
    sys.exit(2)


def percentile(buckets, count, lo, hi, p):
    """The value at or below which p percent of the recordings lie: the upper edge of the
    bucket holding that rank, clamped to [lo, hi] (apps/pollux-gen/histogram.cpp's rule)."""
    if count == 0:
        return 0
    rank = min(max(math.ceil(p / 100.0 * count), 1), count)
    seen = 0
    for low, high, n in buckets:
        seen += n
        if seen >= rank:
            return min(max(high, lo), hi)
    return hi


def merge_histograms(hs):
    counts = {}
    for h in hs:
        for low, high, n in h["buckets"]:
            counts[(low, high)] = counts.get((low, high), 0) + n
    buckets = [[low, high, n] for (low, high), n in sorted(counts.items())]
    count = sum(h["count"] for h in hs)
    nonempty = [h for h in hs if h["count"]]
    lo = min((h["min"] for h in nonempty), default=0)
    hi = max((h["max"] for h in nonempty), default=0)
    mean = sum(h["mean"] * h["count"] for h in hs) / count if count else 0
    out = {"unit": "ns", "count": count, "min": lo, "mean": mean}
    for key, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        out[key] = percentile(buckets, count, lo, hi, p)
    out["max"] = hi
    out["buckets"] = buckets
    return out


def merge_load(loads):
    out = {k: sum(l[k] for l in loads) for k in LOAD_COUNTS}
    out["empty_turn_cycles"] = max((l["empty_turn_cycles"] for l in loads), default=0)
    if any("stalls" in l for l in loads):
        for k in LOAD_STALLS:
            out[k] = sum(l.get(k, 0) for l in loads)
        out["max_gap_us"] = max((l.get("max_gap_us", 0) for l in loads), default=0)
    turns = sum(l["busy_turns"] + l["idle_turns"] for l in loads)
    # The busy share of all the lcores together, weighting each by its turns.
    out["busy_fraction"] = (sum(l["busy_fraction"] * (l["busy_turns"] + l["idle_turns"])
                                for l in loads) / turns) if turns else 0.0
    out["cycles_per_segment"] = out["busy_cycles"] / out["segments"] if out["segments"] else 0.0
    out["cycles_per_connection"] = (out["busy_cycles"] / out["connections"]
                                    if out["connections"] else 0.0)
    return out


def merge(reports, names):
    m = {"instances": names, "config": dict(reports[0]["config"]),
         "configs": [r["config"] for r in reports],
         "seconds": max(r["seconds"] for r in reports)}
    by_t = {}
    for r in reports:
        for s in r["series"]:
            by_t.setdefault(s["t"], []).append(s)
    series = []
    for t in sorted(by_t):
        row = {"t": t}
        for k in SERIES_COUNTS:
            row[k] = sum(s.get(k, 0) for s in by_t[t])
        for k in SERIES_PERCENTILES:
            row[k] = max(s.get(k, 0) for s in by_t[t])
        series.append(row)
    m["series"] = series
    totals = {k: sum(r["totals"][k] for r in reports) for k in TOTAL_COUNTS}
    # Turns without a free ephemeral port (not errors; reports before session 14 have none).
    totals["port_waits"] = sum(r["totals"].get("port_waits", 0) for r in reports)
    # Response parsers lent, and turns an empty parser pool refused (session 15 on).
    for k in ("parsers_lent", "parser_pool_empty"):
        totals[k] = sum(r["totals"].get(k, 0) for r in reports)
    for k in TOTAL_RATES:
        totals[k] = sum(r["totals"][k] for r in reports)
    causes = set()
    for r in reports:
        causes |= set(r["totals"]["errors"])
    totals["errors"] = {c: sum(r["totals"]["errors"].get(c, 0) for r in reports)
                        for c in sorted(causes)}
    m["totals"] = totals
    keys = set()
    for r in reports:
        keys |= set(r["tcp_info"])
    m["tcp_info"] = {k: sum(r["tcp_info"].get(k, 0) for r in reports) for k in sorted(keys)}
    m["latency"] = {name: merge_histograms([r["latency"][name] for r in reports])
                    for name in ("connect", "response")}
    cpu = {}
    sides = set()
    for r in reports:
        sides |= set(r["cpu"])
    for side in sorted(sides):
        present = [(i, r["cpu"][side]) for i, r in enumerate(reports) if side in r["cpu"]]
        lcores = {}
        for i, c in present:
            for lc, load in c["lcores"].items():
                lcores[f"{i}/{lc}"] = load
        cpu[side] = {"tsc_hz": present[0][1]["tsc_hz"], "lcores": lcores,
                     "total": merge_load([c["total"] for _, c in present])}
    m["cpu"] = cpu
    counters = {}
    for r in reports:
        for k, v in r["stack_counters"].items():
            counters[k] = counters.get(k, 0) + v
    m["stack_counters"] = counters
    # Retransmissions by cause, each side's fields summed (issue 13; older reports have none).
    rx = {}
    for r in reports:
        for side, causes in r.get("retransmissions", {}).items():
            row = rx.setdefault(side, {})
            for k, v in causes.items():
                row[k] = row.get(k, 0) + v
    if rx:
        m["retransmissions"] = rx
    # Each destination's share, summed by "ADDR:PORT" in order of first appearance (older
    # reports have none).
    dsts = {}
    for r in reports:
        for d in r.get("destinations", []):
            row = dsts.setdefault(d["dst"], {"dst": d["dst"], "weight": d["weight"], "opens": 0,
                                             "established": 0, "requests": 0, "errors": 0})
            for k in ("opens", "established", "requests", "errors"):
                row[k] += d[k]
    m["destinations"] = list(dsts.values())
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    a = ap.parse_args()
    if len(a.reports) < 2:
        fail("needs at least two reports to merge")
    reports = []
    for path in a.reports:
        try:
            with open(path) as f:
                r = json.load(f)
        except OSError as e:
            fail(f"cannot read {path}: {e.strerror}")
        except ValueError as e:
            fail(f"{path} is not JSON: {e}")
        missing = [k for k in ("config", "series", "totals", "latency", "tcp_info", "cpu",
                               "stack_counters") if k not in r]
        if missing:
            fail(f"{path} is not a pollux-gen report (no {', '.join(missing)})")
        reports.append(r)
    text = json.dumps(merge(reports, a.reports), separators=(",", ":"))
    if a.output:
        with open(a.output, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
